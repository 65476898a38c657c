// The command line of tapir-switch:
//
//   tapir-switch --port TAPNAME[:access=VID|:trunk=VID,VID...[,native=VID]] ...
//                [--ageing SECONDS] [--ip CIDR [--mac MAC] [--gateway IP] [--mgmt-vlan VID]]
//                [--pcap-dir DIR] [--log-level LEVEL]
//
//   --port tapA               an access port of VLAN 1 (IEEE 802.1Q-2018 §6.9: the default PVID)
//   --port tapA:access=10     an access port of VLAN 10: frames leave untagged
//   --port tapT:trunk=10,20   a trunk carrying VLANs 10 and 20, tagged; untagged frames dropped
//   --port tapT:trunk=10,20,native=1
//                             ... and untagged frames belong to VLAN 1, and leave untagged
//   --ageing SECONDS          FDB ageing time, 1..1000000 (default 300, IEEE 802.1Q-2018 §8.8.3)
//   --ip A.B.C.D/LEN          a management address: the switch's own host stack is an internal
//                             port of the bridge, answering ping, TCP echo (7) and a status
//                             page (HTTP, 80)
//   --mac, --gateway          that stack's MAC (default derived from "tapir-switch" and the
//                             address) and default gateway
//   --mgmt-vlan VID           the VLAN the management address is on (default 1)
//   --pcap-dir DIR            capture every TAP port to DIR/<TAPNAME>.pcap (DIR is created)
//
// Every bad command line gives one line, "tapir-switch: <what is wrong>", and exit code 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/common.h>
#include <tl/expected.hpp>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/base/time.hpp"
#include "stack/bridge/bridge.hpp"

namespace tapir::apps {

// One --port: the TAP and its VLAN membership.
struct SwitchPort {
  std::string name;
  bridge::PortConfig config;
};

struct SwitchOptions {
  static constexpr std::uint32_t kDefaultAgeing = 300;  // IEEE 802.1Q-2018 §8.8.3
  static constexpr std::uint32_t kMaxAgeing = 1000000;  // the range 802.1Q allows (10..1e6 s)

  std::vector<SwitchPort> ports;
  Duration ageing = std::chrono::seconds(kDefaultAgeing);
  std::optional<Ipv4Cidr> ip;
  MacAddress mac;  // with ip: --mac, or default_mac("tapir-switch", address)
  std::optional<Ipv4Address> gateway;
  std::uint16_t mgmt_vlan = bridge::kDefaultVid;
  std::string pcap_dir;  // empty: no capture
  spdlog::level::level_enum log_level = spdlog::level::info;
};

// The options as typed.
struct RawSwitchOptions {
  std::vector<std::string> ports;
  std::string ageing;
  std::string ip;
  std::string mac;
  std::string gateway;
  std::string mgmt_vlan;
  std::string pcap_dir;
  std::string log_level;
};

// One --port value: "TAPNAME", "TAPNAME:access=VID" or "TAPNAME:trunk=VID,VID...[,native=VID]".
// The error is one line without the program's name, e.g.
//   --port: "tapA:access=0": VID 0 is not in 1..4094
tl::expected<SwitchPort, std::string> parse_port(std::string_view text);

void add_switch_options(CLI::App& app, RawSwitchOptions& raw);
// Checks and converts: at least one port, no TAP twice, the management options only with --ip.
tl::expected<SwitchOptions, std::string> finish(const RawSwitchOptions& raw);

// app.parse() then finish(); --help prints the help (exit_code 0), an error prints one line
// "<program>: <problem>" to stderr (exit_code 2); both return nullopt.
std::optional<SwitchOptions> parse_switch(CLI::App& app, const RawSwitchOptions& raw,
                                          std::string_view program, int argc, char** argv,
                                          int& exit_code);

// "access 10", "trunk 10,20", "trunk 10,20 native 1": for logs and listings.
std::string describe(const bridge::PortConfig& config);

}  // namespace tapir::apps
