// tapir-switch's command line: --port TAPNAME[:access=VID|:trunk=VID,VID...[,native=VID]] and
// the rest (issue 5, "Apps").
#include "apps/switch/switch_options.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "apps/common/common_options.hpp"

namespace tapir::apps {
namespace {

using bridge::PortMode;

struct Outcome {
  std::optional<SwitchOptions> options;
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome run(std::vector<std::string> args) {
  CLI::App app{"tapir-switch: test"};
  RawSwitchOptions raw;
  add_switch_options(app, raw);
  args.insert(args.begin(), "tapir-switch");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  Outcome o;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  o.options = parse_switch(app, raw, "tapir-switch", static_cast<int>(argv.size()), argv.data(),
                           o.exit_code);
  o.err = testing::internal::GetCapturedStderr();
  o.out = testing::internal::GetCapturedStdout();
  return o;
}

void expect_rejected(std::vector<std::string> args, const std::string& line) {
  auto o = run(std::move(args));
  EXPECT_FALSE(o.options);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "tapir-switch: " + line + "\n");
  EXPECT_EQ(o.out, "");
}

// IEEE 802.1Q-2018 §6.9: a port without a VLAN setting is a member of the default PVID, 1.
TEST(SwitchPort, BareNameIsAnAccessPortOfVlan1) {
  auto p = parse_port("tapA");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->name, "tapA");
  EXPECT_EQ(p->config.mode, PortMode::Access);
  EXPECT_EQ(p->config.pvid, 1);
  EXPECT_TRUE(p->config.allowed.empty());
  EXPECT_FALSE(p->config.native);
}

TEST(SwitchPort, AccessSetsThePvid) {
  auto p = parse_port("tapB:access=10");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->name, "tapB");
  EXPECT_EQ(p->config.mode, PortMode::Access);
  EXPECT_EQ(p->config.pvid, 10);
  EXPECT_EQ(describe(p->config), "access 10");
}

TEST(SwitchPort, TrunkListsItsVidsInOrder) {
  auto p = parse_port("tapT:trunk=20,10,4094");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->config.mode, PortMode::Trunk);
  EXPECT_EQ(p->config.allowed, (std::vector<std::uint16_t>{20, 10, 4094}));
  EXPECT_FALSE(p->config.native);
  EXPECT_EQ(describe(p->config), "trunk 20,10,4094");
}

TEST(SwitchPort, TrunkWithNativeVlan) {
  for (const char* text : {"tapT:trunk=10,20,native=1", "tapT:trunk=native=1,10,20"}) {
    auto p = parse_port(text);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->config.allowed, (std::vector<std::uint16_t>{10, 20})) << text;
    ASSERT_TRUE(p->config.native) << text;
    EXPECT_EQ(*p->config.native, 1) << text;
    EXPECT_EQ(describe(p->config), "trunk 10,20 native 1");
  }
}

// IEEE 802.1Q-2018 §6.9 (Table 9-2): VID 0 (priority tag) and 4095 (reserved) are no VLAN.
TEST(SwitchPort, VidsOutsideTheRangeAreRejected) {
  EXPECT_EQ(parse_port("tapA:access=0").error(),
            "--port: \"tapA:access=0\": VID 0 is not in 1..4094");
  EXPECT_EQ(parse_port("tapA:access=4095").error(),
            "--port: \"tapA:access=4095\": VID 4095 is not in 1..4094");
  EXPECT_EQ(parse_port("tapT:trunk=10,0").error(),
            "--port: \"tapT:trunk=10,0\": VID 0 is not in 1..4094");
  EXPECT_EQ(parse_port("tapT:trunk=10,native=4095").error(),
            "--port: \"tapT:trunk=10,native=4095\": VID 4095 is not in 1..4094");
}

TEST(SwitchPort, MalformedSpecsAreRejected) {
  EXPECT_EQ(parse_port("tapA:access=ten").error(),
            "--port: \"tapA:access=ten\": \"ten\" is not a VID (1..4094)");
  EXPECT_EQ(parse_port("tapA:access=").error(),
            "--port: \"tapA:access=\": access needs a VID: access=VID");
  EXPECT_EQ(parse_port("tapA:access").error(),
            "--port: \"tapA:access\": access needs a VID: access=VID");
  EXPECT_EQ(parse_port("tapA:access=10,20").error(),
            "--port: \"tapA:access=10,20\": \"10,20\" is not a VID (1..4094)");
  EXPECT_EQ(parse_port("tapA:access=-1").error(),
            "--port: \"tapA:access=-1\": \"-1\" is not a VID (1..4094)");
  EXPECT_EQ(parse_port("tapA:hybrid=10").error(),
            "--port: \"tapA:hybrid=10\": expected TAPNAME, TAPNAME:access=VID or "
            "TAPNAME:trunk=VID,...");
  EXPECT_EQ(parse_port("tapA:").error(),
            "--port: \"tapA:\": expected TAPNAME, TAPNAME:access=VID or TAPNAME:trunk=VID,...");
  EXPECT_EQ(parse_port(":access=10").error(), "--port: \":access=10\": no TAP name before the ':'");
  EXPECT_EQ(parse_port("").error(), "--port: \"\": no TAP name before the ':'");
  EXPECT_EQ(parse_port("a-name-of-16-chr").error(),
            "--port: \"a-name-of-16-chr\": interface name longer than 15 characters");
  EXPECT_EQ(parse_port("tap/A").error(),
            "--port: \"tap/A\": not an interface name (no '/' or spaces)");
}

TEST(SwitchPort, BadTrunksAreRejected) {
  EXPECT_EQ(parse_port("tapT:trunk=").error(),
            "--port: \"tapT:trunk=\": trunk needs at least one VID: trunk=VID,VID...");
  EXPECT_EQ(parse_port("tapT:trunk=native=1").error(),
            "--port: \"tapT:trunk=native=1\": trunk needs at least one tagged VID");
  EXPECT_EQ(parse_port("tapT:trunk=10,10").error(),
            "--port: \"tapT:trunk=10,10\": VID 10 listed twice");
  EXPECT_EQ(parse_port("tapT:trunk=10,,20").error(),
            "--port: \"tapT:trunk=10,,20\": \"\" is not a VID (1..4094)");
  EXPECT_EQ(parse_port("tapT:trunk=10,native=1,native=2").error(),
            "--port: \"tapT:trunk=10,native=1,native=2\": native= given twice");
  EXPECT_EQ(parse_port("tapT:trunk=10,native=10").error(),
            "--port: \"tapT:trunk=10,native=10\": VID 10 is both tagged and native");
}

TEST(SwitchOptions, PortsKeepTheirOrderAndDefaultsApply) {
  auto o = run({"--port", "tapA", "--port", "tapB:access=10", "--port", "tapT:trunk=10,20"});
  ASSERT_TRUE(o.options) << o.err;
  EXPECT_EQ(o.exit_code, 0);
  const auto& s = *o.options;
  ASSERT_EQ(s.ports.size(), 3U);
  EXPECT_EQ(s.ports[0].name, "tapA");
  EXPECT_EQ(s.ports[1].name, "tapB");
  EXPECT_EQ(s.ports[2].name, "tapT");
  EXPECT_EQ(s.ports[2].config.mode, PortMode::Trunk);
  // IEEE 802.1Q-2018 §8.8.3: the recommended default ageing time is 300 s.
  EXPECT_EQ(s.ageing, std::chrono::seconds(300));
  EXPECT_FALSE(s.ip);
  EXPECT_EQ(s.mgmt_vlan, 1);
  EXPECT_EQ(s.pcap_dir, "");
  EXPECT_EQ(s.log_level, spdlog::level::info);
}

TEST(SwitchOptions, ManagementAndTheRest) {
  auto o = run({"--port", "tapA", "--ageing", "2", "--ip", "10.5.0.254/24", "--gateway", "10.5.0.1",
                "--mgmt-vlan", "10", "--pcap-dir", "/tmp/x", "--log-level", "debug"});
  ASSERT_TRUE(o.options) << o.err;
  const auto& s = *o.options;
  EXPECT_EQ(s.ageing, std::chrono::seconds(2));
  ASSERT_TRUE(s.ip);
  EXPECT_EQ(*s.ip, *Ipv4Cidr::parse("10.5.0.254/24"));
  EXPECT_EQ(s.mac, default_mac("tapir-switch", Ipv4Address(10, 5, 0, 254)));
  ASSERT_TRUE(s.gateway);
  EXPECT_EQ(*s.gateway, Ipv4Address(10, 5, 0, 1));
  EXPECT_EQ(s.mgmt_vlan, 10);
  EXPECT_EQ(s.pcap_dir, "/tmp/x");
  EXPECT_EQ(s.log_level, spdlog::level::debug);

  auto m = run({"--port", "tapA", "--ip", "10.5.0.254/24", "--mac", "02:00:00:00:00:fe"});
  ASSERT_TRUE(m.options) << m.err;
  EXPECT_EQ(m.options->mac, *MacAddress::parse("02:00:00:00:00:fe"));
}

TEST(SwitchOptions, BadCommandLinesGiveOneLineAndExit2) {
  expect_rejected({}, "at least one --port TAPNAME[:access=VID|:trunk=VID,...] is needed");
  expect_rejected({"--ageing", "5"},
                  "at least one --port TAPNAME[:access=VID|:trunk=VID,...] is needed");
  expect_rejected({"--port", "tapA", "--port", "tapA:access=10"},
                  "--port: \"tapA:access=10\": TAP tapA given twice");
  expect_rejected({"--port", "tapA:access=5000"},
                  "--port: \"tapA:access=5000\": VID 5000 is not in 1..4094");
  expect_rejected({"--port", "tapA", "--ageing", "0"},
                  "--ageing: \"0\": not a number of seconds in 1..1000000");
  expect_rejected({"--port", "tapA", "--ageing", "2.5"},
                  "--ageing: \"2.5\": not a number of seconds in 1..1000000");
  expect_rejected({"--port", "tapA", "--mac", "02:00:00:00:00:01"},
                  "--mac: \"02:00:00:00:00:01\": needs a management address (--ip)");
  expect_rejected({"--port", "tapA", "--mgmt-vlan", "10"},
                  "--mgmt-vlan: \"10\": needs a management address (--ip)");
  expect_rejected({"--port", "tapA", "--ip", "10.5.0.254/24", "--mgmt-vlan", "0"},
                  "--mgmt-vlan: \"0\": VID 0 is not in 1..4094");
  expect_rejected({"--port", "tapA", "--ip", "10.5.0.254/24", "--gateway", "10.6.0.1"},
                  "--gateway: \"10.6.0.1\": outside --ip 10.5.0.254/24");
  expect_rejected({"--port", "tapA", "--ip", "10.5.0.254/24", "--mac", "03:00:00:00:00:01"},
                  "--mac: \"03:00:00:00:00:01\": not a unicast MAC address");
  expect_rejected({"--port", "tapA", "--log-level", "loud"},
                  "--log-level: \"loud\": not one of trace|debug|info|warn|error");
}

TEST(SwitchOptions, HelpGoesToStdoutWithExit0) {
  auto o = run({"--help"});
  EXPECT_FALSE(o.options);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("--port"), std::string::npos);
  EXPECT_EQ(o.err, "");
}

}  // namespace
}  // namespace tapir::apps
