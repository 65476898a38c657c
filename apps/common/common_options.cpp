#include "apps/common/common_options.hpp"

#include <array>
#include <charconv>
#include <sched.h>
#include <system_error>
#include <utility>

#include <fmt/core.h>

namespace tapir::apps {
namespace {

constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
constexpr unsigned long kMaxVlanId = 4094;     // IEEE 802.1Q: VID 0 and 4095 are reserved
constexpr unsigned long kMaxPcp = 7;           // IEEE 802.1Q-2018 §9.6: 3 bits

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

MacAddress default_mac(std::string_view device, Ipv4Address ip) {
  // FNV-1a, 64 bits.
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](std::uint8_t byte) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  };
  for (char c : device)
    mix(static_cast<std::uint8_t>(c));
  mix(0);
  for (int shift = 24; shift >= 0; shift -= 8)
    mix(static_cast<std::uint8_t>(ip.value() >> shift));
  std::array<std::uint8_t, 6> octets{};
  for (std::size_t i = 0; i < octets.size(); ++i)
    octets[i] = static_cast<std::uint8_t>(hash >> (8 * (octets.size() - 1 - i)));
  // IEEE 802: I/G bit clear (unicast), U/L bit set (locally administered).
  octets[0] = static_cast<std::uint8_t>((octets[0] & 0xfcU) | 0x02U);
  return MacAddress(octets);
}

void add_common_options(CLI::App& app, RawCommonOptions& raw) {
  app.add_option("--tap", raw.tap, "run on the TAP device NAME (Ethernet frames)")
      ->type_name("NAME");
  app.add_option("--tun", raw.tun, "run on the TUN device NAME (bare IP packets)")
      ->type_name("NAME");
  app.add_option("--ip", raw.ip, "interface address and prefix, e.g. 10.0.0.2/24 (required)")
      ->type_name("A.B.C.D/LEN");
  app.add_option("--gateway", raw.gateway, "default gateway, inside the --ip prefix")
      ->type_name("A.B.C.D");
  app.add_option("--mac", raw.mac,
                 "interface MAC (default: locally administered, derived from device and IP)")
      ->type_name("XX:XX:XX:XX:XX:XX");
  app.add_option("--mtu", raw.mtu, "MTU, 68..65535 (default 1500)")->type_name("N");
  app.add_option("--vlan", raw.vlan, "tag this interface's frames with 802.1Q VID 1..4094")
      ->type_name("ID");
  app.add_option("--vlan-pcp", raw.vlan_pcp,
                 "802.1Q priority code point 0..7 of the --vlan tags (default 0)")
      ->type_name("N");
  app.add_option("--pcap", raw.pcap, "capture every frame in and out to FILE")->type_name("FILE");
  app.add_option("--faults", raw.faults,
                 "inject faults, e.g. loss=3%,dup=1%,reorder=5%,delay=5ms,seed=42")
      ->type_name("SPEC");
  app.add_option("--log-level", raw.log_level, "trace|debug|info|warn|error (default info)")
      ->type_name("LEVEL");
  app.add_flag("--no-offload", raw.no_offload,
               "plain frames on the TAP: no checksum or TCP segmentation offload (TSO)");
  app.add_option("--busy-poll", raw.busy_poll,
                 "after each frame keep polling the TAP for US microseconds before sleeping: "
                 "lower latency for a busy CPU (0..1000000, default 0)")
      ->type_name("US");
  app.add_option("--cpu", raw.cpu, "run on CPU N only (sched_setaffinity)")->type_name("N");
}

tl::expected<CommonOptions, std::string> finish(const RawCommonOptions& raw) {
  CommonOptions out;

  if (!raw.tap.empty() && !raw.tun.empty())
    return Error(
        fmt::format("--tap \"{}\" and --tun \"{}\": give only one device", raw.tap, raw.tun));
  if (raw.tap.empty() && raw.tun.empty()) return Error("a device is required: --tap or --tun NAME");
  const bool tap = !raw.tap.empty();
  const std::string_view device_option = tap ? "--tap" : "--tun";
  out.device.name = tap ? raw.tap : raw.tun;
  out.device.medium = tap ? drivers::Medium::Ethernet : drivers::Medium::Ip;
  if (out.device.name.size() > kMaxInterfaceName)
    return bad(device_option, out.device.name, "interface name longer than 15 characters");

  if (raw.ip.empty()) return Error("--ip A.B.C.D/LEN is required");
  auto ip = Ipv4Cidr::parse(raw.ip);
  if (!ip) return bad("--ip", raw.ip, ip.error().message());
  out.ip = *ip;

  if (!raw.gateway.empty()) {
    auto gateway = Ipv4Address::parse(raw.gateway);
    if (!gateway) return bad("--gateway", raw.gateway, gateway.error().message());
    if (!out.ip.contains(*gateway))
      return bad("--gateway", raw.gateway, fmt::format("outside --ip {}", out.ip.to_string()));
    out.gateway = *gateway;
  }

  if (!raw.mac.empty()) {
    auto mac = MacAddress::parse(raw.mac);
    if (!mac) return bad("--mac", raw.mac, mac.error().message());
    out.mac = *mac;
  } else {
    out.mac = default_mac(out.device.name, out.ip.address());
  }

  if (!raw.mtu.empty()) {
    auto mtu = parse_number(raw.mtu);
    if (!mtu || *mtu < CommonOptions::kMinMtu || *mtu > CommonOptions::kMaxMtu)
      return bad("--mtu", raw.mtu, "not a number in 68..65535");
    out.mtu = *mtu;
  }

  if (!raw.vlan.empty()) {
    auto vlan = parse_number(raw.vlan);
    if (!vlan || *vlan < 1 || *vlan > kMaxVlanId)
      return bad("--vlan", raw.vlan, "not a VLAN ID in 1..4094");
    out.vlan = static_cast<std::uint16_t>(*vlan);
    if (!tap) return bad("--vlan", raw.vlan, "a TUN device carries no VLAN tags: use --tap");
  }
  if (!raw.vlan_pcp.empty()) {
    auto pcp = parse_number(raw.vlan_pcp);
    if (!pcp || *pcp > kMaxPcp) return bad("--vlan-pcp", raw.vlan_pcp, "not a PCP in 0..7");
    if (!out.vlan) return bad("--vlan-pcp", raw.vlan_pcp, "needs --vlan ID");
    out.vlan_pcp = static_cast<std::uint8_t>(*pcp);
  }

  out.pcap = raw.pcap;

  if (!raw.faults.empty()) {
    auto faults = drivers::FaultSpec::parse(raw.faults);
    if (!faults) return Error(drivers::FaultSpec::error_line(raw.faults));
    out.faults = *faults;
  }

  out.offload = !raw.no_offload;
  if (!raw.busy_poll.empty()) {
    auto us = parse_number(raw.busy_poll);
    if (!us || *us > static_cast<unsigned long>(CommonOptions::kMaxBusyPoll.count()))
      return bad("--busy-poll", raw.busy_poll, "not a number of microseconds in 0..1000000");
    out.busy_poll = std::chrono::microseconds(*us);
  }
  if (!raw.cpu.empty()) {
    auto cpu = parse_number(raw.cpu);
    if (!cpu || *cpu >= CPU_SETSIZE) return bad("--cpu", raw.cpu, "not a CPU number");
    out.cpu = static_cast<unsigned>(*cpu);
  }
  if (!raw.log_level.empty()) {
    auto level = parse_level(raw.log_level);
    if (!level) return bad("--log-level", raw.log_level, "not one of trace|debug|info|warn|error");
    out.log_level = *level;
  }
  return out;
}

std::optional<CommonOptions> parse_common(CLI::App& app, const RawCommonOptions& raw,
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

}  // namespace tapir::apps
