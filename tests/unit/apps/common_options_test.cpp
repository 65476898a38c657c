// The common command line of every app (issue 3, "Apps — the exact command-line contract").
#include "apps/common/common_options.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::apps {
namespace {

struct Outcome {
  std::optional<CommonOptions> options;
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome run(std::vector<std::string> args) {
  CLI::App app{"tapir-test: a test app"};
  RawCommonOptions raw;
  add_common_options(app, raw);
  args.insert(args.begin(), "tapir-test");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  Outcome o;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  o.options =
      parse_common(app, raw, "tapir-test", static_cast<int>(argv.size()), argv.data(), o.exit_code);
  o.err = testing::internal::GetCapturedStderr();
  o.out = testing::internal::GetCapturedStdout();
  return o;
}

// Expects rejection with exactly this one line on stderr and exit code 2.
void expect_rejected(std::vector<std::string> args, const std::string& line) {
  auto o = run(std::move(args));
  EXPECT_FALSE(o.options);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "tapir-test: " + line + "\n");
  EXPECT_EQ(o.out, "");
}

TEST(CommonOptions, MinimalTapCommandLineGetsDefaults) {
  auto o = run({"--tap", "tap0", "--ip", "10.0.0.2/24"});
  ASSERT_TRUE(o.options) << o.err;
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.err, "");
  const auto& c = *o.options;
  EXPECT_EQ(c.device.name, "tap0");
  EXPECT_EQ(c.device.medium, drivers::Medium::Ethernet);
  EXPECT_EQ(c.ip, *Ipv4Cidr::parse("10.0.0.2/24"));
  EXPECT_FALSE(c.gateway);
  EXPECT_EQ(c.mac, default_mac("tap0", Ipv4Address(10, 0, 0, 2)));
  EXPECT_EQ(c.mtu, 1500U);
  EXPECT_FALSE(c.vlan);
  EXPECT_EQ(c.pcap, "");
  EXPECT_EQ(c.faults, drivers::FaultSpec{});
  EXPECT_FALSE(c.faults.any());
  EXPECT_EQ(c.log_level, spdlog::level::info);
  EXPECT_TRUE(c.offload);
  EXPECT_EQ(c.busy_poll, std::chrono::microseconds{0});
  EXPECT_FALSE(c.cpu);
}

TEST(CommonOptions, TunSelectsIpMedium) {
  auto o = run({"--tun", "tun7", "--ip", "10.1.0.2/16"});
  ASSERT_TRUE(o.options) << o.err;
  EXPECT_EQ(o.options->device.name, "tun7");
  EXPECT_EQ(o.options->device.medium, drivers::Medium::Ip);
}

TEST(CommonOptions, EveryOptionIsRead) {
  auto o = run({"--tap",
                "tap1",
                "--ip",
                "192.168.5.9/24",
                "--gateway",
                "192.168.5.1",
                "--mac",
                "02:AA:bb:cc:dd:0e",
                "--mtu",
                "9000",
                "--vlan",
                "42",
                "--vlan-pcp",
                "5",
                "--pcap",
                "out.pcap",
                "--faults",
                "loss=3%,seed=7",
                "--log-level",
                "trace",
                "--no-offload",
                "--busy-poll",
                "50",
                "--cpu",
                "1"});
  ASSERT_TRUE(o.options) << o.err;
  const auto& c = *o.options;
  EXPECT_EQ(c.ip.address(), Ipv4Address(192, 168, 5, 9));
  EXPECT_EQ(c.ip.prefix_len(), 24U);
  ASSERT_TRUE(c.gateway);
  EXPECT_EQ(*c.gateway, Ipv4Address(192, 168, 5, 1));
  EXPECT_EQ(c.mac, MacAddress({0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e}));
  EXPECT_EQ(c.mtu, 9000U);
  ASSERT_TRUE(c.vlan);
  EXPECT_EQ(*c.vlan, 42);
  EXPECT_EQ(c.vlan_pcp, 5);
  EXPECT_EQ(c.pcap, "out.pcap");
  EXPECT_EQ(c.faults, *drivers::FaultSpec::parse("loss=3%,seed=7"));
  EXPECT_EQ(c.log_level, spdlog::level::trace);
  EXPECT_FALSE(c.offload);
  EXPECT_EQ(c.busy_poll, std::chrono::microseconds{50});
  EXPECT_EQ(c.cpu, 1U);
}

TEST(CommonOptions, EveryLogLevelIsRead) {
  const std::vector<std::pair<std::string, spdlog::level::level_enum>> levels{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err}};
  for (const auto& [name, level] : levels) {
    auto o = run({"--tap", "tap0", "--ip", "10.0.0.2/24", "--log-level", name});
    ASSERT_TRUE(o.options) << name << ": " << o.err;
    EXPECT_EQ(o.options->log_level, level) << name;
  }
}

TEST(CommonOptions, MtuAndVlanBoundsAreAccepted) {
  for (const char* mtu : {"68", "65535"}) {
    auto o = run({"--tap", "tap0", "--ip", "10.0.0.2/24", "--mtu", mtu});
    ASSERT_TRUE(o.options) << o.err;
    EXPECT_EQ(o.options->mtu, std::stoul(mtu));
  }
  for (const char* vlan : {"1", "4094"}) {
    auto o = run({"--tap", "tap0", "--ip", "10.0.0.2/24", "--vlan", vlan});
    ASSERT_TRUE(o.options) << o.err;
    EXPECT_EQ(*o.options->vlan, std::stoul(vlan));
    EXPECT_EQ(o.options->vlan_pcp, 0);
  }
  // IEEE 802.1Q-2018 §9.6: the PCP is 3 bits.
  for (const char* pcp : {"0", "7"}) {
    auto o = run({"--tap", "tap0", "--ip", "10.0.0.2/24", "--vlan", "10", "--vlan-pcp", pcp});
    ASSERT_TRUE(o.options) << o.err;
    EXPECT_EQ(o.options->vlan_pcp, std::stoul(pcp));
  }
}

TEST(CommonOptions, OptionsOfTheAppItselfStillParse) {
  CLI::App app{"tapir-test"};
  RawCommonOptions raw;
  add_common_options(app, raw);
  int count = 0;
  std::string dest;
  app.add_option("-c", count);
  app.add_option("DEST", dest);
  std::vector<std::string> args{"tapir-test",  "--tap", "tap0", "--ip",
                                "10.0.0.2/24", "-c",    "3",    "10.0.0.1"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  int exit_code = -1;
  auto o =
      parse_common(app, raw, "tapir-test", static_cast<int>(argv.size()), argv.data(), exit_code);
  ASSERT_TRUE(o);
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(count, 3);
  EXPECT_EQ(dest, "10.0.0.1");
}

TEST(CommonOptions, HelpPrintsEveryOptionAndExitsZero) {
  auto o = run({"--help"});
  EXPECT_FALSE(o.options);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.err, "");
  for (const char* name : {"--tap", "--tun", "--ip", "--gateway", "--mac", "--mtu", "--vlan",
                           "--vlan-pcp", "--pcap", "--faults", "--log-level"})
    EXPECT_NE(o.out.find(name), std::string::npos) << name;
}

TEST(CommonOptions, RejectsUnknownFlag) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--bogus"},
                  "The following argument was not expected: --bogus");
}

TEST(CommonOptions, RejectsOptionWithoutValue) {
  expect_rejected({"--tap", "tap0", "--ip"}, "--ip: 1 required A.B.C.D/LEN missing");
}

TEST(CommonOptions, RejectsRepeatedOption) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--mtu", "1400", "--mtu", "1500"},
                  "--mtu: At Most 1 required but received 2");
}

TEST(CommonOptions, RejectsMissingDevice) {
  expect_rejected({"--ip", "10.0.0.2/24"}, "a device is required: --tap or --tun NAME");
}

TEST(CommonOptions, RejectsBothTapAndTun) {
  expect_rejected({"--tap", "tap0", "--tun", "tun0", "--ip", "10.0.0.2/24"},
                  "--tap \"tap0\" and --tun \"tun0\": give only one device");
}

TEST(CommonOptions, RejectsDeviceNameLongerThanFifteen) {
  expect_rejected({"--tap", "abcdefghijklmnop", "--ip", "10.0.0.2/24"},
                  "--tap: \"abcdefghijklmnop\": interface name longer than 15 characters");
}

TEST(CommonOptions, RejectsMissingIp) {
  expect_rejected({"--tap", "tap0"}, "--ip A.B.C.D/LEN is required");
}

TEST(CommonOptions, RejectsBadCidr) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2"},
                  "--ip: \"10.0.0.2\": invalid prefix length");
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/33"},
                  "--ip: \"10.0.0.2/33\": invalid prefix length");
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.256/24"},
                  "--ip: \"10.0.0.256/24\": invalid address");
}

TEST(CommonOptions, RejectsBadGateway) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--gateway", "10.0.0"},
                  "--gateway: \"10.0.0\": invalid address");
}

TEST(CommonOptions, RejectsGatewayOutsideThePrefix) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--gateway", "10.0.1.1"},
                  "--gateway: \"10.0.1.1\": outside --ip 10.0.0.2/24");
}

TEST(CommonOptions, RejectsBadMac) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--mac", "02:00:00:00:00"},
                  "--mac: \"02:00:00:00:00\": invalid address");
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--mac", "02:00:00:00:00:zz"},
                  "--mac: \"02:00:00:00:00:zz\": invalid address");
}

TEST(CommonOptions, RejectsMtuOutOfRange) {
  for (const char* mtu : {"67", "65536", "0", "-1", "1500x", "abc", "99999999999999999999999"})
    expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--mtu", mtu},
                    std::string("--mtu: \"") + mtu + "\": not a number in 68..65535");
}

TEST(CommonOptions, RejectsVlanOutOfRange) {
  for (const char* vlan : {"0", "4095", "-3", "ten"})
    expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--vlan", vlan},
                    std::string("--vlan: \"") + vlan + "\": not a VLAN ID in 1..4094");
  expect_rejected({"--tun", "tun0", "--ip", "10.0.0.2/24", "--vlan", "10"},
                  "--vlan: \"10\": a TUN device carries no VLAN tags: use --tap");
}

TEST(CommonOptions, RejectsABadVlanPcp) {
  for (const char* pcp : {"8", "-1", "high"})
    expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--vlan", "10", "--vlan-pcp", pcp},
                    std::string("--vlan-pcp: \"") + pcp + "\": not a PCP in 0..7");
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--vlan-pcp", "3"},
                  "--vlan-pcp: \"3\": needs --vlan ID");
}

TEST(CommonOptions, RejectsBadFaultsWithTheFaultSpecLine) {
  const std::string spec = "loss=120%";
  const std::string line = drivers::FaultSpec::error_line(spec);
  ASSERT_FALSE(line.empty());
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--faults", spec}, line);
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--faults", "bogus=1"},
                  drivers::FaultSpec::error_line("bogus=1"));
}

TEST(CommonOptions, BusyPollBoundsAreAccepted) {
  for (const char* us : {"0", "1000000"}) {
    auto o = run({"--tap", "tap0", "--ip", "10.0.0.2/24", "--busy-poll", us});
    ASSERT_TRUE(o.options) << o.err;
    EXPECT_EQ(o.options->busy_poll.count(), std::stol(us));
  }
}

TEST(CommonOptions, RejectsABadBusyPoll) {
  for (const char* us : {"1000001", "-5", "50us", "fast"})
    expect_rejected(
        {"--tap", "tap0", "--ip", "10.0.0.2/24", "--busy-poll", us},
        std::string("--busy-poll: \"") + us + "\": not a number of microseconds in 0..1000000");
}

TEST(CommonOptions, RejectsABadCpu) {
  // Whether the CPU is one the process may run on is checked when the app pins itself
  // (TapHost::open); here only that it is a CPU number at all.
  for (const char* cpu : {"-1", "1024", "first"})
    expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--cpu", cpu},
                    std::string("--cpu: \"") + cpu + "\": not a CPU number");
}

TEST(CommonOptions, RejectsUnknownLogLevel) {
  expect_rejected({"--tap", "tap0", "--ip", "10.0.0.2/24", "--log-level", "warning"},
                  "--log-level: \"warning\": not one of trace|debug|info|warn|error");
}

TEST(DefaultMac, IsLocallyAdministeredUnicast) {
  for (const char* name : {"tap0", "tap1", "tun0", "x", "a-very-long-nam"}) {
    for (auto ip : {Ipv4Address(10, 0, 0, 2), Ipv4Address(192, 168, 1, 1), Ipv4Address()}) {
      const auto mac = default_mac(name, ip);
      EXPECT_TRUE(mac.is_local()) << mac.to_string();
      EXPECT_TRUE(mac.is_unicast()) << mac.to_string();
      EXPECT_FALSE(mac.is_zero());
    }
  }
}

TEST(DefaultMac, IsStableForTheSameInputs) {
  EXPECT_EQ(default_mac("tap0", Ipv4Address(10, 0, 0, 2)),
            default_mac("tap0", Ipv4Address(10, 0, 0, 2)));
  auto a = run({"--tap", "tap0", "--ip", "10.0.0.2/24"});
  auto b = run({"--ip", "10.0.0.2/16", "--tap", "tap0"});  // the prefix length does not matter
  ASSERT_TRUE(a.options && b.options);
  EXPECT_EQ(a.options->mac, b.options->mac);
}

TEST(DefaultMac, DiffersForAnotherDeviceOrAddress) {
  const auto base = default_mac("tap0", Ipv4Address(10, 0, 0, 2));
  EXPECT_NE(base, default_mac("tap1", Ipv4Address(10, 0, 0, 2)));
  EXPECT_NE(base, default_mac("tun0", Ipv4Address(10, 0, 0, 2)));
  EXPECT_NE(base, default_mac("tap0", Ipv4Address(10, 0, 0, 3)));
}

}  // namespace
}  // namespace tapir::apps
