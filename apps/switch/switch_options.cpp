#include "apps/switch/switch_options.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <system_error>
#include <utility>

#include <fmt/core.h>

#include "apps/common/common_options.hpp"

namespace tapir::apps {
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

// IEEE 802.1Q-2018 §6.9 (Table 9-2): VID 0 is the null VID (priority tags), 4095 is reserved.
tl::expected<std::uint16_t, std::string> parse_vid(std::string_view text) {
  auto n = parse_number(text);
  if (!n) return Error(fmt::format("\"{}\" is not a VID (1..4094)", text));
  if (*n < 1 || *n > bridge::kMaxVid) return Error(fmt::format("VID {} is not in 1..4094", *n));
  return static_cast<std::uint16_t>(*n);
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

tl::expected<SwitchPort, std::string> parse_port(std::string_view text) {
  const auto no = [text](std::string_view why) { return bad("--port", text, why); };
  SwitchPort port;
  const auto colon = text.find(':');
  port.name = std::string(text.substr(0, colon));
  if (port.name.empty()) return no("no TAP name before the ':'");
  if (port.name.size() > kMaxInterfaceName) return no("interface name longer than 15 characters");
  if (port.name.find_first_of("/ \t") != std::string::npos)
    return no("not an interface name (no '/' or spaces)");
  if (colon == std::string_view::npos) return port;  // an access port of the default VLAN

  const std::string_view mode = text.substr(colon + 1);
  const auto eq = mode.find('=');
  const std::string_view kind = mode.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? "" : mode.substr(eq + 1);
  if (kind == "access") {
    if (value.empty()) return no("access needs a VID: access=VID");
    auto vid = parse_vid(value);
    if (!vid) return no(vid.error());
    port.config.mode = bridge::PortMode::Access;
    port.config.pvid = *vid;
    return port;
  }
  if (kind != "trunk") return no("expected TAPNAME, TAPNAME:access=VID or TAPNAME:trunk=VID,...");
  if (value.empty()) return no("trunk needs at least one VID: trunk=VID,VID...");

  port.config.mode = bridge::PortMode::Trunk;
  std::string_view rest = value;
  for (;;) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (item.substr(0, 7) == "native=") {
      if (port.config.native) return no("native= given twice");
      auto vid = parse_vid(item.substr(7));
      if (!vid) return no(vid.error());
      port.config.native = *vid;
    } else {
      auto vid = parse_vid(item);
      if (!vid) return no(vid.error());
      if (std::find(port.config.allowed.begin(), port.config.allowed.end(), *vid) !=
          port.config.allowed.end())
        return no(fmt::format("VID {} listed twice", *vid));
      port.config.allowed.push_back(*vid);
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (port.config.allowed.empty()) return no("trunk needs at least one tagged VID");
  if (port.config.native && std::find(port.config.allowed.begin(), port.config.allowed.end(),
                                      *port.config.native) != port.config.allowed.end())
    return no(fmt::format("VID {} is both tagged and native", *port.config.native));
  return port;
}

void add_switch_options(CLI::App& app, RawSwitchOptions& raw) {
  app.add_option("--port", raw.ports,
                 "a bridge port: TAPNAME, TAPNAME:access=VID or TAPNAME:trunk=VID,VID...[,"
                 "native=VID] (repeat for each port)")
      ->type_name("SPEC")
      ->take_all()
      ->expected(1);
  app.add_option("--ageing", raw.ageing, "FDB ageing time in seconds, 1..1000000 (default 300)")
      ->type_name("SECONDS");
  app.add_option("--ip", raw.ip, "management address of the switch, e.g. 10.5.0.254/24")
      ->type_name("A.B.C.D/LEN");
  app.add_option("--mac", raw.mac, "MAC of the management interface (needs --ip)")
      ->type_name("XX:XX:XX:XX:XX:XX");
  app.add_option("--gateway", raw.gateway, "default gateway of the management stack (needs --ip)")
      ->type_name("A.B.C.D");
  app.add_option("--mgmt-vlan", raw.mgmt_vlan, "VLAN of the management address (default 1)")
      ->type_name("VID");
  app.add_option("--pcap-dir", raw.pcap_dir, "capture every TAP port to DIR/<TAPNAME>.pcap")
      ->type_name("DIR");
  app.add_option("--log-level", raw.log_level, "trace|debug|info|warn|error (default info)")
      ->type_name("LEVEL");
}

tl::expected<SwitchOptions, std::string> finish(const RawSwitchOptions& raw) {
  SwitchOptions out;
  std::vector<std::string> given;
  for (const auto& text : raw.ports)
    if (!text.empty()) given.push_back(text);
  if (given.empty())
    return Error("at least one --port TAPNAME[:access=VID|:trunk=VID,...] is needed");
  for (const auto& text : given) {
    auto port = parse_port(text);
    if (!port) return Error(port.error());
    for (const auto& other : out.ports)
      if (other.name == port->name)
        return bad("--port", text, "TAP " + port->name + " given twice");
    out.ports.push_back(std::move(*port));
  }

  if (!raw.ageing.empty()) {
    auto s = parse_number(raw.ageing);
    if (!s || *s < 1 || *s > SwitchOptions::kMaxAgeing)
      return bad("--ageing", raw.ageing, "not a number of seconds in 1..1000000");
    out.ageing = std::chrono::seconds(*s);
  }

  if (raw.ip.empty()) {
    for (auto [option, value] : {std::pair<std::string_view, const std::string&>{"--mac", raw.mac},
                                 {"--gateway", raw.gateway},
                                 {"--mgmt-vlan", raw.mgmt_vlan}})
      if (!value.empty()) return bad(option, value, "needs a management address (--ip)");
  } else {
    auto ip = Ipv4Cidr::parse(raw.ip);
    if (!ip) return bad("--ip", raw.ip, ip.error().message());
    out.ip = *ip;
    if (!raw.mac.empty()) {
      auto mac = MacAddress::parse(raw.mac);
      if (!mac) return bad("--mac", raw.mac, mac.error().message());
      if (!mac->is_unicast() || mac->is_zero())
        return bad("--mac", raw.mac, "not a unicast MAC address");
      out.mac = *mac;
    } else {
      out.mac = default_mac("tapir-switch", ip->address());
    }
    if (!raw.gateway.empty()) {
      auto gateway = Ipv4Address::parse(raw.gateway);
      if (!gateway) return bad("--gateway", raw.gateway, gateway.error().message());
      if (!ip->contains(*gateway))
        return bad("--gateway", raw.gateway, fmt::format("outside --ip {}", ip->to_string()));
      out.gateway = *gateway;
    }
    if (!raw.mgmt_vlan.empty()) {
      auto vid = parse_vid(raw.mgmt_vlan);
      if (!vid) return bad("--mgmt-vlan", raw.mgmt_vlan, vid.error());
      out.mgmt_vlan = *vid;
    }
  }

  out.pcap_dir = raw.pcap_dir;
  if (!raw.log_level.empty()) {
    auto level = parse_level(raw.log_level);
    if (!level) return bad("--log-level", raw.log_level, "not one of trace|debug|info|warn|error");
    out.log_level = *level;
  }
  return out;
}

std::optional<SwitchOptions> parse_switch(CLI::App& app, const RawSwitchOptions& raw,
                                          std::string_view program, int argc, char** argv,
                                          int& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      exit_code = app.exit(e);  // --help
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

std::string describe(const bridge::PortConfig& config) {
  if (config.mode == bridge::PortMode::Access) return fmt::format("access {}", config.pvid);
  std::string out = "trunk ";
  for (std::size_t i = 0; i < config.allowed.size(); ++i)
    out += fmt::format("{}{}", i == 0 ? "" : ",", config.allowed[i]);
  if (config.native) out += fmt::format(" native {}", *config.native);
  return out;
}

}  // namespace tapir::apps
