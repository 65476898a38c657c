// The command line of tapir-tunnel:
//
//   --tap NAME             the TAP device (attached if it exists, else created; ≤ 15 characters)
//   --local IP[:PORT]      the UDP address the tunnel binds (PORT default 4789, RFC 7348 §5)
//   --remote IP[:PORT]     the peer VTEP (a unicast address; PORT default 4789)
//   --vni N                the VXLAN network identifier, 0..16777215 (default 1)
//   --any-source           accept datagrams from any address, not only --remote's
//   --inner-vlan           carry 802.1Q/802.1ad-tagged frames (RFC 7348 §6.1: off by default)
//   --pcap FILE            capture the TAP side (both directions) to FILE
//   --log-level LEVEL      trace|debug|info|warn|error (default info)
//
// As with the other apps (apps/common/common_options.hpp), a bad command line gives exactly one
// line on stderr, "tapir-tunnel: <what is wrong>", and exit code 2; --help prints to stdout and
// gives 0. An option given an empty value counts as not given. Nothing here opens anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <spdlog/common.h>
#include <tl/expected.hpp>

#include "stack/base/endpoint.hpp"
#include "stack/wire/vxlan.hpp"

namespace tapir::tunnel {

struct RawTunnelOptions {
  std::string tap;
  std::string local;
  std::string remote;
  std::string vni;
  bool any_source = false;
  bool inner_vlan = false;
  std::string pcap;
  std::string log_level;
};

struct TunnelOptions {
  static constexpr std::uint32_t kDefaultVni = 1;

  std::string tap;
  Ipv4Endpoint local;
  Ipv4Endpoint remote;
  std::uint32_t vni = kDefaultVni;
  bool check_source = true;
  bool carry_vlan = false;
  std::string pcap;  // empty: no capture
  spdlog::level::level_enum log_level = spdlog::level::info;
};

// "A.B.C.D" or "A.B.C.D:PORT" (PORT 1..65535); a missing port is `default_port`. The error is
// a phrase such as `invalid port "0"`.
tl::expected<Ipv4Endpoint, std::string> parse_endpoint(
    std::string_view text, std::uint16_t default_port = wire::kVxlanPort);

void add_tunnel_options(CLI::App& app, RawTunnelOptions& raw);

// Checks and converts; the error is one line without the program's name, e.g.
//   --vni: "16777216": not a VNI in 0..16777215
tl::expected<TunnelOptions, std::string> finish(const RawTunnelOptions& raw);

// app.parse() then finish(), printing "<program>: <problem>" (exit_code 2) or the help
// (exit_code 0) and returning nullopt; exit_code 0 and the options otherwise.
std::optional<TunnelOptions> parse_tunnel(CLI::App& app, const RawTunnelOptions& raw,
                                          std::string_view program, int argc, char** argv,
                                          int& exit_code);

}  // namespace tapir::tunnel
