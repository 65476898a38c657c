// tapir-tunnel's command line (apps/tunnel/tunnel_options.hpp): one error line and exit 2 for
// each bad option, as for the other apps.
#include "apps/tunnel/tunnel_options.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::tunnel {
namespace {

struct Outcome {
  std::optional<TunnelOptions> options;
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome run(std::vector<std::string> args) {
  CLI::App app{"tapir-tunnel: test"};
  RawTunnelOptions raw;
  add_tunnel_options(app, raw);
  args.insert(args.begin(), "tapir-tunnel");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  Outcome o;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  o.options = parse_tunnel(app, raw, "tapir-tunnel", static_cast<int>(argv.size()), argv.data(),
                           o.exit_code);
  o.err = testing::internal::GetCapturedStderr();
  o.out = testing::internal::GetCapturedStdout();
  return o;
}

void expect_rejected(std::vector<std::string> args, const std::string& line) {
  auto o = run(std::move(args));
  EXPECT_FALSE(o.options);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "tapir-tunnel: " + line + "\n");
  EXPECT_EQ(o.out, "");
}

const std::vector<std::string> kMinimal{"--tap",    "tap0",     "--local",
                                        "10.9.0.1", "--remote", "10.9.0.2"};

TEST(TunnelOptions, MinimalCommandLineGetsDefaults) {
  auto o = run(kMinimal);
  ASSERT_TRUE(o.options) << o.err;
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.options->tap, "tap0");
  // RFC 7348 §5: the IANA-assigned destination port 4789 when none is given.
  EXPECT_EQ(o.options->local, (Ipv4Endpoint{Ipv4Address(10, 9, 0, 1), 4789}));
  EXPECT_EQ(o.options->remote, (Ipv4Endpoint{Ipv4Address(10, 9, 0, 2), 4789}));
  EXPECT_EQ(o.options->vni, TunnelOptions::kDefaultVni);
  EXPECT_TRUE(o.options->check_source);
  EXPECT_FALSE(o.options->carry_vlan);  // RFC 7348 §6.1
  EXPECT_EQ(o.options->pcap, "");
  EXPECT_EQ(o.options->log_level, spdlog::level::info);
  EXPECT_EQ(o.err, "");
}

TEST(TunnelOptions, EveryOptionIsRead) {
  auto o =
      run({"--tap", "vx-tap", "--local", "0.0.0.0:8472", "--remote", "192.0.2.7:4790", "--vni",
           "16777215", "--any-source", "--inner-vlan", "--pcap", "t.pcap", "--log-level", "trace"});
  ASSERT_TRUE(o.options) << o.err;
  EXPECT_EQ(o.options->tap, "vx-tap");
  EXPECT_EQ(o.options->local, (Ipv4Endpoint{Ipv4Address::any(), 8472}));
  EXPECT_EQ(o.options->remote, (Ipv4Endpoint{Ipv4Address(192, 0, 2, 7), 4790}));
  EXPECT_EQ(o.options->vni, 16777215U);
  EXPECT_FALSE(o.options->check_source);
  EXPECT_TRUE(o.options->carry_vlan);
  EXPECT_EQ(o.options->pcap, "t.pcap");
  EXPECT_EQ(o.options->log_level, spdlog::level::trace);
}

TEST(TunnelOptions, VniZeroIsAccepted) {
  auto args = kMinimal;
  args.insert(args.end(), {"--vni", "0"});
  auto o = run(args);
  ASSERT_TRUE(o.options) << o.err;
  EXPECT_EQ(o.options->vni, 0U);
}

TEST(TunnelOptions, HelpExitsZero) {
  auto o = run({"--help"});
  EXPECT_FALSE(o.options);
  EXPECT_EQ(o.exit_code, 0);
  for (const char* option : {"--tap", "--local", "--remote", "--vni", "--any-source",
                             "--inner-vlan", "--pcap", "--log-level"})
    EXPECT_NE(o.out.find(option), std::string::npos) << option;
}

TEST(TunnelOptions, RejectsMissingOptions) {
  expect_rejected({"--local", "10.9.0.1", "--remote", "10.9.0.2"},
                  "a device is required: --tap NAME");
  expect_rejected({"--tap", "tap0", "--remote", "10.9.0.2"}, "--local IP[:PORT] is required");
  expect_rejected({"--tap", "tap0", "--local", "10.9.0.1"}, "--remote IP[:PORT] is required");
}

TEST(TunnelOptions, RejectsUnknownFlag) {
  auto args = kMinimal;
  args.push_back("--bogus");
  expect_rejected(args, "The following argument was not expected: --bogus");
}

TEST(TunnelOptions, RejectsLongDeviceName) {
  expect_rejected({"--tap", "a-name-of-16-chr", "--local", "10.9.0.1", "--remote", "10.9.0.2"},
                  "--tap: \"a-name-of-16-chr\": interface name longer than 15 characters");
}

TEST(TunnelOptions, RejectsBadEndpoints) {
  expect_rejected({"--tap", "tap0", "--local", "10.9.0", "--remote", "10.9.0.2"},
                  "--local: \"10.9.0\": " + Ipv4Address::parse("10.9.0").error().message());
  expect_rejected({"--tap", "tap0", "--local", "10.9.0.1:0", "--remote", "10.9.0.2"},
                  "--local: \"10.9.0.1:0\": invalid port \"0\" (1..65535)");
  expect_rejected({"--tap", "tap0", "--local", "10.9.0.1", "--remote", "10.9.0.2:65536"},
                  "--remote: \"10.9.0.2:65536\": invalid port \"65536\" (1..65535)");
  expect_rejected({"--tap", "tap0", "--local", "10.9.0.1", "--remote", "10.9.0.2:"},
                  "--remote: \"10.9.0.2:\": invalid port \"\" (1..65535)");
}

// Point to point only: RFC 7348 §4.2's multicast flooding is not supported.
TEST(TunnelOptions, RejectsARemoteThatIsNotUnicast) {
  for (const char* remote : {"239.1.1.1", "0.0.0.0", "255.255.255.255"})
    expect_rejected({"--tap", "tap0", "--local", "10.9.0.1", "--remote", remote},
                    "--remote: \"" + std::string(remote) +
                        "\": not a unicast address (multicast is not supported)");
}

// RFC 7348 §5: the VNI is 24 bits.
TEST(TunnelOptions, RejectsAVniOutside24Bits) {
  for (const char* vni : {"16777216", "-1", "x", "4 2"}) {
    auto args = kMinimal;
    args.insert(args.end(), {"--vni", vni});
    expect_rejected(args, "--vni: \"" + std::string(vni) + "\": not a VNI in 0..16777215");
  }
}

TEST(TunnelOptions, RejectsABadLogLevel) {
  auto args = kMinimal;
  args.insert(args.end(), {"--log-level", "loud"});
  expect_rejected(args, "--log-level: \"loud\": not one of trace|debug|info|warn|error");
}

}  // namespace
}  // namespace tapir::tunnel
