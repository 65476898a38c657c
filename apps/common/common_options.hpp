// The command line every network app shares (issue 3, "Apps — the exact command-line contract"):
//
//   --tap NAME | --tun NAME   the device (exactly one; at most 15 characters)
//   --ip A.B.C.D/LEN          the interface address (required)
//   --gateway A.B.C.D         the default gateway (must lie inside the --ip prefix)
//   --mac XX:XX:XX:XX:XX:XX   the interface MAC (default: see default_mac())
//   --mtu N                   68..65535, default 1500
//   --vlan ID                 tag this interface's frames with 802.1Q VID 1..4094 (a TAP only)
//   --vlan-pcp N              the priority code point 0..7 of those tags (needs --vlan)
//   --pcap FILE               capture both directions to FILE
//   --faults SPEC             the seeded fault model (drivers/memory/fault_model.hpp)
//   --log-level LEVEL         trace|debug|info|warn|error, default info
//   --no-offload              plain frames on the TAP: no checksum or TCP segmentation offload
//   --busy-poll US            keep polling the drained TAP for US µs before sleeping (0..1000000)
//   --cpu N                   run on CPU N only
//
// An app registers these next to its own options, then parses once:
//
//   CLI::App app{"tapir-echo: ..."};
//   apps::RawCommonOptions raw;
//   apps::add_common_options(app, raw);
//   int exit_code = 0;
//   auto options = apps::parse_common(app, raw, "tapir-echo", argc, argv, exit_code);
//   if (!options) return exit_code;   // help printed (0) or one error line printed (2)
//
// Every bad command line gives exactly one line on stderr, "<app>: <what is wrong>", naming the
// option and the value, and exit code 2. An option given an empty value counts as not given.
// Nothing here opens a device.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <spdlog/common.h>
#include <tl/expected.hpp>

#include "drivers/memory/fault_model.hpp"
#include "drivers/tap/tap_device.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"

namespace tapir::apps {

// The options as the user typed them; CLI11 fills these, finish() checks and converts them.
struct RawCommonOptions {
  std::string tap;
  std::string tun;
  std::string ip;
  std::string gateway;
  std::string mac;
  std::string mtu;
  std::string vlan;
  std::string vlan_pcp;
  std::string pcap;
  std::string faults;
  std::string log_level;
  bool no_offload = false;
  std::string busy_poll;
  std::string cpu;
};

// The checked, typed options.
struct CommonOptions {
  static constexpr std::size_t kDefaultMtu = 1500;
  static constexpr std::size_t kMinMtu = 68;  // RFC 791: every host must take 68-octet datagrams
  static constexpr std::size_t kMaxMtu = 65535;

  drivers::TapConfig device;  // name, and Medium::Ethernet for --tap or Medium::Ip for --tun
  Ipv4Cidr ip;
  std::optional<Ipv4Address> gateway;
  MacAddress mac;  // --mac, or default_mac(device.name, ip.address())
  std::size_t mtu = kDefaultMtu;
  std::optional<std::uint16_t> vlan;
  std::uint8_t vlan_pcp = 0;  // IEEE 802.1Q-2018 §9.6: PCP of the tags (with vlan only)
  std::string pcap;           // empty: no capture
  drivers::FaultSpec faults;
  spdlog::level::level_enum log_level = spdlog::level::info;
  bool offload = true;  // false with --no-offload
  static constexpr std::chrono::microseconds kMaxBusyPoll{1'000'000};
  std::chrono::microseconds busy_poll{0};  // Runner::set_busy_poll()
  std::optional<unsigned> cpu;             // checked against the allowed CPUs when applied
};

// The MAC an interface gets without --mac: the 64-bit FNV-1a hash of the device name, a NUL
// byte and the four octets of the IP address (network order); its low six bytes, most
// significant first, with the I/G bit cleared (unicast) and the U/L bit set (locally
// administered, IEEE 802). The same device and address give the same MAC after a restart,
// so the kernel's neighbour cache stays right.
MacAddress default_mac(std::string_view device, Ipv4Address ip);

// Registers the common options on `app`, storing into `raw` (which must outlive the parse).
void add_common_options(CLI::App& app, RawCommonOptions& raw);

// Checks and converts. The error is one line without the app's name, e.g.
//   --ip: "10.0.0.2": invalid prefix length
tl::expected<CommonOptions, std::string> finish(const RawCommonOptions& raw);

// app.parse(argc, argv) then finish(raw). On --help prints the help to stdout and sets
// exit_code = 0; on any error prints "<program>: <what is wrong>" to stderr and sets
// exit_code = 2; both return nullopt. The app's own options are parsed too and can be checked
// after this returns.
std::optional<CommonOptions> parse_common(CLI::App& app, const RawCommonOptions& raw,
                                          std::string_view program, int argc, char** argv,
                                          int& exit_code);

}  // namespace tapir::apps
