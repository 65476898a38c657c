#include "apps/tunnel/tunnel_options.hpp"

#include <array>
#include <charconv>
#include <system_error>
#include <utility>

#include <fmt/core.h>

namespace tapir::tunnel {
namespace {

constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

using Error = tl::unexpected<std::string>;

Error bad(std::string_view option, std::string_view value, std::string_view why) {
  return Error(fmt::format("{}: \"{}\": {}", option, value, why));
}

// A plain decimal number; nullopt for anything else (sign, spaces, overflow).
std::optional<unsigned long> parse_number(std::string_view text) {
  unsigned long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view text) {
  using spdlog::level::level_enum;
  struct Name {
    std::string_view name;
    level_enum level;
  };
  static constexpr std::array<Name, 5> kLevels{{{"trace", level_enum::trace},
                                                {"debug", level_enum::debug},
                                                {"info", level_enum::info},
                                                {"warn", level_enum::warn},
                                                {"error", level_enum::err}}};
  for (const auto& l : kLevels)
    if (l.name == text) return l.level;
  return std::nullopt;
}

std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace

tl::expected<Ipv4Endpoint, std::string> parse_endpoint(std::string_view text,
                                                       std::uint16_t default_port) {
  const auto colon = text.find(':');
  const std::string_view host = text.substr(0, colon);
  auto address = Ipv4Address::parse(host);
  if (!address) return Error(address.error().message());
  Ipv4Endpoint out{*address, default_port};
  if (colon != std::string_view::npos) {
    const std::string_view port_text = text.substr(colon + 1);
    auto port = parse_number(port_text);
    if (!port || *port < 1 || *port > 65535)
      return Error(fmt::format("invalid port \"{}\" (1..65535)", port_text));
    out.port = static_cast<std::uint16_t>(*port);
  }
  return out;
}

void add_tunnel_options(CLI::App& app, RawTunnelOptions& raw) {
  app.add_option("--tap", raw.tap, "the TAP device (attached if it exists, else created)")
      ->type_name("NAME");
  app.add_option("--local", raw.local, "the UDP address to bind (port default 4789)")
      ->type_name("IP[:PORT]");
  app.add_option("--remote", raw.remote, "the peer VTEP's UDP address (port default 4789)")
      ->type_name("IP[:PORT]");
  app.add_option("--vni", raw.vni, "VXLAN network identifier 0..16777215 (default 1)")
      ->type_name("N");
  app.add_flag("--any-source", raw.any_source,
               "accept datagrams from any address (default: only from --remote's)");
  app.add_flag("--inner-vlan", raw.inner_vlan,
               "carry 802.1Q/802.1ad-tagged frames (default: dropped, RFC 7348 section 6.1)");
  app.add_option("--pcap", raw.pcap, "capture the TAP side, both directions, to FILE")
      ->type_name("FILE");
  app.add_option("--log-level", raw.log_level, "trace|debug|info|warn|error (default info)")
      ->type_name("LEVEL");
}

tl::expected<TunnelOptions, std::string> finish(const RawTunnelOptions& raw) {
  TunnelOptions out;

  if (raw.tap.empty()) return Error("a device is required: --tap NAME");
  if (raw.tap.size() > kMaxInterfaceName)
    return bad("--tap", raw.tap, "interface name longer than 15 characters");
  out.tap = raw.tap;

  if (raw.local.empty()) return Error("--local IP[:PORT] is required");
  auto local = parse_endpoint(raw.local);
  if (!local) return bad("--local", raw.local, local.error());
  if (local->address.is_multicast() || local->address.is_broadcast())
    return bad("--local", raw.local, "not a unicast address (multicast is not supported)");
  out.local = *local;

  if (raw.remote.empty()) return Error("--remote IP[:PORT] is required");
  auto remote = parse_endpoint(raw.remote);
  if (!remote) return bad("--remote", raw.remote, remote.error());
  // Point to point only: RFC 7348 §4.2's multicast groups for flooding are not supported.
  if (remote->address.is_unspecified() || remote->address.is_multicast() ||
      remote->address.is_broadcast())
    return bad("--remote", raw.remote, "not a unicast address (multicast is not supported)");
  out.remote = *remote;

  if (!raw.vni.empty()) {
    // RFC 7348 §5: the VNI is a 24-bit value.
    auto vni = parse_number(raw.vni);
    if (!vni || *vni > wire::VxlanView::kMaxVni)
      return bad("--vni", raw.vni, "not a VNI in 0..16777215");
    out.vni = static_cast<std::uint32_t>(*vni);
  }
  out.check_source = !raw.any_source;
  out.carry_vlan = raw.inner_vlan;
  out.pcap = raw.pcap;

  if (!raw.log_level.empty()) {
    auto level = parse_level(raw.log_level);
    if (!level) return bad("--log-level", raw.log_level, "not one of trace|debug|info|warn|error");
    out.log_level = *level;
  }
  return out;
}

std::optional<TunnelOptions> parse_tunnel(CLI::App& app, const RawTunnelOptions& raw,
                                          std::string_view program, int argc, char** argv,
                                          int& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      exit_code = app.exit(e);  // --help: the help on stdout
      return std::nullopt;
    }
    fmt::print(stderr, "{}: {}\n", program, first_line(e.what()));
    exit_code = 2;
    return std::nullopt;
  }
  auto options = finish(raw);
  if (!options) {
    fmt::print(stderr, "{}: {}\n", program, first_line(options.error()));
    exit_code = 2;
    return std::nullopt;
  }
  exit_code = 0;
  return std::move(*options);
}

}  // namespace tapir::tunnel
