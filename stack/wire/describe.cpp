#include "stack/wire/describe.hpp"

#include <iterator>

#include "stack/base/format.hpp"
#include "stack/wire/arp.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"
#include "stack/wire/udp.hpp"
#include "stack/wire/vlan.hpp"
#include "stack/wire/vxlan.hpp"

namespace tapir::wire {
namespace {

// Tunnels nest (VXLAN carries Ethernet); a crafted frame could nest many times. Stop at this.
constexpr int kMaxDepth = 4;

class Writer {
 public:
  Writer(DescribeBuffer& out, bool verbose) : out_(out), verbose_(verbose) {}

  template <class... Args>
  void put(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), f, std::forward<Args>(args)...);
  }
  bool verbose() const { return verbose_; }
  // Verbose mode: starts the line of one layer.
  void layer(std::string_view name) { put("  {}: ", name); }
  void end_layer() { out_.push_back('\n'); }
  void error(std::string_view layer, std::error_code ec) {
    if (verbose_) {
      put("  {}: [{}]\n", layer, ec.message());
    } else {
      put("[{}: {}]", layer, ec.message());
    }
  }

 private:
  DescribeBuffer& out_;
  bool verbose_;
};

std::string_view ethertype_name(EtherType t) {
  switch (t) {
    case EtherType::Ipv4:
      return "IPv4";
    case EtherType::Arp:
      return "ARP";
    case EtherType::Vlan:
      return "802.1Q";
    case EtherType::Ipv6:
      return "IPv6";
    case EtherType::QinQ:
      return "802.1ad";
  }
  return "unknown";
}

std::string_view ip_protocol_name(IpProtocol p) {
  switch (p) {
    case IpProtocol::Icmp:
      return "ICMP";
    case IpProtocol::Tcp:
      return "TCP";
    case IpProtocol::Udp:
      return "UDP";
  }
  return "unknown";
}

struct Ip {
  Ipv4Address src, dst;
};

void ipv4(Writer& w, Bytes bytes, int depth);
void ethernet(Writer& w, Bytes bytes, int depth);

void arp(Writer& w, Bytes bytes) {
  auto v = ArpView::checked(bytes);
  if (!v) return w.error("ARP", v.error());
  if (w.verbose()) {
    w.layer("ARP");
    w.put("htype {}, ptype {:#06x}, hlen {}, plen {}, op {}",
          static_cast<std::uint16_t>(v->hardware_type()),
          static_cast<std::uint16_t>(v->protocol_type()), v->hardware_len(), v->protocol_len(),
          static_cast<std::uint16_t>(v->operation()));
    if (v->is_ethernet_ipv4()) {
      w.put(", sha {}, spa {}, tha {}, tpa {}", v->sender_hardware_addr(),
            v->sender_protocol_addr(), v->target_hardware_addr(), v->target_protocol_addr());
    }
    return w.end_layer();
  }
  if (!v->is_ethernet_ipv4()) {
    return w.put(
        "ARP, htype {}, ptype {:#06x}, op {}", static_cast<std::uint16_t>(v->hardware_type()),
        static_cast<std::uint16_t>(v->protocol_type()), static_cast<std::uint16_t>(v->operation()));
  }
  switch (v->operation()) {
    case ArpOperation::Request:
      return w.put("ARP, Request who-has {} tell {}", v->target_protocol_addr(),
                   v->sender_protocol_addr());
    case ArpOperation::Reply:
      return w.put("ARP, Reply {} is-at {}", v->sender_protocol_addr(), v->sender_hardware_addr());
  }
  w.put("ARP, op {}", static_cast<std::uint16_t>(v->operation()));
}

void tcp_flags(Writer& w, const TcpView& v) {
  w.put("[");
  if (v.fin()) w.put("F");
  if (v.syn()) w.put("S");
  if (v.rst()) w.put("R");
  if (v.psh()) w.put("P");
  if (v.urg()) w.put("U");
  if (v.ece()) w.put("E");
  if (v.cwr()) w.put("W");
  if (v.ack()) w.put(".");
  w.put("]");
}

void tcp_options(Writer& w, const TcpView& v) {
  w.put("[");
  bool first = true;
  for (const auto& opt : v.option_list()) {
    if (!opt) break;  // check() passed, so this cannot happen
    if (!first) w.put(",");
    first = false;
    const Bytes d = opt->data;
    switch (opt->kind) {
      case TcpOptionKind::End:
        w.put("eol");
        break;
      case TcpOptionKind::Nop:
        w.put("nop");
        break;
      case TcpOptionKind::Mss:
        w.put("mss {}", load_be16(d, 0));
        break;
      case TcpOptionKind::WindowScale:
        w.put("wscale {}", load_u8(d, 0));
        break;
      case TcpOptionKind::SackPermitted:
        w.put("sackOK");
        break;
      case TcpOptionKind::Sack:
        w.put("sack {}", d.size() / 8);
        for (std::size_t i = 0; i + 8 <= d.size(); i += 8) {
          w.put(" {{{}:{}}}", load_be32(d, i), load_be32(d, i + 4));
        }
        break;
      case TcpOptionKind::Timestamps:
        w.put("TS val {} ecr {}", load_be32(d, 0), load_be32(d, 4));
        break;
      default:
        w.put("opt-{}:{}", static_cast<unsigned>(opt->kind), d.size());
        break;
    }
  }
  w.put("]");
}

void tcp(Writer& w, Bytes bytes, Ip ip) {
  auto v = TcpView::checked(bytes);
  if (!v) return w.error("TCP", v.error());
  if (w.verbose()) {
    w.layer("TCP");
    w.put("src_port {}, dst_port {}, seq {}, ack {}, header_len {}, flags {:#04x} ", v->src_port(),
          v->dst_port(), v->seq_number().value(), v->ack_number().value(), v->header_len(),
          v->flags());
    tcp_flags(w, *v);
    w.put(", window {}, checksum {:#06x} ({}), urgent {}, options ", v->window_len(), v->checksum(),
          v->verify_checksum(ip.src, ip.dst) ? "good" : "bad", v->urgent_pointer());
    tcp_options(w, *v);
    w.put(", payload_len {}", v->payload().size());
    return w.end_layer();
  }
  w.put("{}.{} > {}.{}: TCP Flags ", ip.src, v->src_port(), ip.dst, v->dst_port());
  tcp_flags(w, *v);
  w.put(", seq {}", v->seq_number().value());
  if (v->ack()) w.put(", ack {}", v->ack_number().value());
  w.put(", win {}", v->window_len());
  if (v->header_len() > TcpView::min_header_len) {
    w.put(", options ");
    tcp_options(w, *v);
  }
  w.put(", length {}", v->payload().size());
}

void udp(Writer& w, Bytes bytes, Ip ip, int depth) {
  auto v = UdpView::checked(bytes);
  if (!v) return w.error("UDP", v.error());
  const bool vxlan = v->dst_port() == kVxlanPort;
  if (w.verbose()) {
    w.layer("UDP");
    w.put("src_port {}, dst_port {}, len {}, checksum {:#06x} ({})", v->src_port(), v->dst_port(),
          v->len(), v->checksum(),
          v->checksum() == 0 ? "none" : (v->verify_checksum(ip.src, ip.dst) ? "good" : "bad"));
    w.end_layer();
  } else {
    w.put("{}.{} > {}.{}: UDP, length {}", ip.src, v->src_port(), ip.dst, v->dst_port(),
          v->payload().size());
  }
  if (!vxlan) return;
  // RFC 7348 §5: UDP destination port 4789 carries VXLAN.
  auto x = VxlanView::checked(v->payload());
  if (!x) return w.error("VXLAN", x.error());
  if (w.verbose()) {
    w.layer("VXLAN");
    w.put("flags {:#04x}, vni {}", x->flags(), x->vni());
    w.end_layer();
  } else {
    w.put(": VXLAN, vni {}: ", x->vni());
  }
  if (depth < kMaxDepth) ethernet(w, x->payload(), depth + 1);
}

void icmp(Writer& w, Bytes bytes, Ip ip, int depth) {
  auto v = Icmpv4View::checked(bytes);
  if (!v) return w.error("ICMP", v.error());
  const auto type = v->type();
  const bool echo = type == Icmpv4Type::EchoRequest || type == Icmpv4Type::EchoReply;
  const bool error = type == Icmpv4Type::DstUnreachable || type == Icmpv4Type::TimeExceeded ||
                     type == Icmpv4Type::ParamProblem || type == Icmpv4Type::SourceQuench ||
                     type == Icmpv4Type::Redirect;
  if (w.verbose()) {
    w.layer("ICMP");
    w.put("type {}, code {}, checksum {:#06x} ({})", static_cast<unsigned>(type), v->code(),
          v->checksum(), v->verify_checksum() ? "good" : "bad");
    if (echo) w.put(", id {:#06x}, seq {}", v->ident(), v->seq_no());
    if (type == Icmpv4Type::DstUnreachable &&
        v->code() == static_cast<std::uint8_t>(Icmpv4DstUnreachable::FragmentationNeeded)) {
      w.put(", mtu {}", v->next_hop_mtu());
    }
    w.put(", payload_len {}", v->payload().size());
    w.end_layer();
    if (error && depth < kMaxDepth) {
      // RFC 792: errors quote the offending datagram's header and its first 8 data bytes.
      const Ipv4View quoted(v->payload());
      if (auto s = quoted.check_header(); !s) return w.error("IPv4 (quoted)", s.error());
      w.layer("IPv4 (quoted)");
      w.put("src {}, dst {}, protocol {}, id {:#06x}", quoted.src(), quoted.dst(),
            static_cast<unsigned>(quoted.protocol()), quoted.ident());
      const Bytes rest = quoted.buffer().subspan(quoted.header_len());
      if (rest.size() >= 4 &&
          (quoted.protocol() == IpProtocol::Udp || quoted.protocol() == IpProtocol::Tcp)) {
        w.put(", src_port {}, dst_port {}", load_be16(rest, 0), load_be16(rest, 2));
      }
      w.end_layer();
    }
    return;
  }
  w.put("{} > {}: ICMP ", ip.src, ip.dst);
  switch (type) {
    case Icmpv4Type::EchoRequest:
    case Icmpv4Type::EchoReply:
      w.put("echo {}, id {}, seq {}", type == Icmpv4Type::EchoRequest ? "request" : "reply",
            v->ident(), v->seq_no());
      break;
    case Icmpv4Type::DstUnreachable:
      switch (static_cast<Icmpv4DstUnreachable>(v->code())) {
        case Icmpv4DstUnreachable::PortUnreachable:
          w.put("port unreachable");
          break;
        case Icmpv4DstUnreachable::ProtocolUnreachable:
          w.put("protocol unreachable");
          break;
        case Icmpv4DstUnreachable::HostUnreachable:
          w.put("host unreachable");
          break;
        case Icmpv4DstUnreachable::NetUnreachable:
          w.put("net unreachable");
          break;
        case Icmpv4DstUnreachable::FragmentationNeeded:
          w.put("fragmentation needed, next-hop mtu {}", v->next_hop_mtu());
          break;
        default:
          w.put("unreachable code {}", v->code());
          break;
      }
      break;
    case Icmpv4Type::TimeExceeded:
      w.put("time exceeded {}", v->code() == 0 ? "in-transit" : "in-reassembly");
      break;
    default:
      w.put("type {}, code {}", static_cast<unsigned>(type), v->code());
      break;
  }
  if (error) {
    const Ipv4View quoted(v->payload());
    if (quoted.check_header()) {
      w.put(" (for {} > {} {})", quoted.src(), quoted.dst(), ip_protocol_name(quoted.protocol()));
    }
  }
  w.put(", length {}", v->buffer().size());
}

void ipv4(Writer& w, Bytes bytes, int depth) {
  auto v = Ipv4View::checked(bytes);
  if (!v) return w.error("IPv4", v.error());
  const Ip ip{v->src(), v->dst()};
  const bool first_fragment = v->frag_offset() == 0;
  if (w.verbose()) {
    w.layer("IPv4");
    w.put(
        "version {}, header_len {}, dscp {}, ecn {}, total_len {}, id {:#06x}, flags {}, "
        "frag_offset {}, ttl {}, protocol {} ({}), checksum {:#06x} ({}), src {}, dst {}",
        v->version(), v->header_len(), v->dscp(), v->ecn(), v->total_len(), v->ident(),
        v->dont_frag() ? (v->more_frags() ? "DF+MF" : "DF") : (v->more_frags() ? "MF" : "none"),
        v->frag_offset(), v->ttl(), static_cast<unsigned>(v->protocol()),
        ip_protocol_name(v->protocol()), v->checksum(), v->verify_checksum() ? "good" : "bad",
        ip.src, ip.dst);
    if (!v->options().empty()) w.put(", options {} bytes", v->options().size());
    w.end_layer();
  } else {
    w.put("IPv4 ");
  }
  if (!first_fragment || v->more_frags()) {
    // A fragment: only the first one carries the transport header (RFC 791 §2.3).
    if (!w.verbose()) {
      w.put("{} > {}: {} fragment id {}, offset {}, length {}{}", ip.src, ip.dst,
            ip_protocol_name(v->protocol()), v->ident(), v->frag_offset(), v->payload().size(),
            v->more_frags() ? ", more" : "");
    }
    return;
  }
  switch (v->protocol()) {
    case IpProtocol::Icmp:
      return icmp(w, v->payload(), ip, depth);
    case IpProtocol::Udp:
      return udp(w, v->payload(), ip, depth);
    case IpProtocol::Tcp:
      return tcp(w, v->payload(), ip);
  }
  if (!w.verbose()) {
    w.put("{} > {}: protocol {}, length {}", ip.src, ip.dst, static_cast<unsigned>(v->protocol()),
          v->payload().size());
  }
}

void payload_by_type(Writer& w, EtherType type, Bytes bytes, int depth) {
  switch (type) {
    case EtherType::Arp:
      return arp(w, bytes);
    case EtherType::Ipv4:
      return ipv4(w, bytes, depth);
    default:
      break;
  }
  if (!w.verbose()) {
    w.put("ethertype {} ({:#06x}), length {}", ethertype_name(type),
          static_cast<std::uint16_t>(type), bytes.size());
  }
}

void ethernet(Writer& w, Bytes bytes, int depth) {
  auto v = EthernetView::checked(bytes);
  if (!v) return w.error("Ethernet", v.error());
  if (w.verbose()) {
    w.layer("Ethernet");
    w.put("dst {}, src {}, type {:#06x} ({})", v->dst(), v->src(),
          static_cast<std::uint16_t>(v->ethertype()), ethertype_name(v->ethertype()));
    w.end_layer();
  } else {
    w.put("{} > {}, ", v->src(), v->dst());
  }
  // IEEE 802.1Q §9.5 / 802.1ad: up to two tags, each naming the EtherType that follows it.
  EtherType type = v->ethertype();
  Bytes rest = v->payload();
  for (int tags = 0; (type == EtherType::Vlan || type == EtherType::QinQ) && tags < 2; ++tags) {
    const std::string_view name = type == EtherType::QinQ ? "802.1ad" : "802.1Q";
    auto tag = VlanView::checked(rest);
    if (!tag) return w.error(name, tag.error());
    if (w.verbose()) {
      w.layer(name);
      w.put("pcp {}, dei {}, vid {}, type {:#06x} ({})", tag->pcp(), tag->dei() ? 1 : 0, tag->vid(),
            static_cast<std::uint16_t>(tag->ethertype()), ethertype_name(tag->ethertype()));
      w.end_layer();
    } else {
      w.put("{} vlan {}, p {}{}, ", name, tag->vid(), tag->pcp(), tag->dei() ? ", DEI" : "");
    }
    type = tag->ethertype();
    rest = tag->payload();
  }
  payload_by_type(w, type, rest, depth);
}

void walk(Writer& w, Bytes frame, LinkType link) {
  switch (link) {
    case LinkType::Ethernet:
      return ethernet(w, frame, 0);
    case LinkType::Raw:
    case LinkType::Ipv4:
      // Raw IP: the version nibble tells IPv4 from IPv6.
      if (!frame.empty() && (load_u8(frame, 0) >> 4) == 4) return ipv4(w, frame, 0);
      if (!w.verbose()) w.put("raw IP, not IPv4, length {}", frame.size());
      return;
  }
  if (!w.verbose())
    w.put("link type {}, length {}", static_cast<std::uint32_t>(link), frame.size());
}

}  // namespace

void describe(DescribeBuffer& out, Bytes frame, LinkType link) {
  Writer w(out, false);
  walk(w, frame, link);
}

void describe_verbose(DescribeBuffer& out, Bytes frame, LinkType link) {
  Writer w(out, true);
  walk(w, frame, link);
}

std::string describe(Bytes frame, LinkType link) {
  DescribeBuffer out;
  describe(out, frame, link);
  return fmt::to_string(out);
}

}  // namespace tapir::wire
