// The network layer of Stack: IPv4 input, reassembly hand-off, local delivery, forwarding,
// output with fragmentation, and ICMP (echo, errors sent and received).
#include <algorithm>
#include <system_error>

#include "stack/stack.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/udp.hpp"

namespace tapir {

namespace {

using wire::Icmpv4Repr;
using wire::IpProtocol;
using wire::Ipv4Repr;
using wire::Ipv4View;
using wire::Ipv4ViewMut;

std::error_code errc(std::errc e) {
  return std::make_error_code(e);
}

constexpr Ipv4Address kAllHosts{224, 0, 0, 1};
constexpr std::size_t kIpHeaderLen = Ipv4View::min_header_len;

// RFC 791 §3.1: option type octets; the high bit is the "copied" flag.
constexpr std::uint8_t kOptEnd = 0;
constexpr std::uint8_t kOptNop = 1;
constexpr std::uint8_t kOptRecordRoute = 7;
constexpr std::uint8_t kOptCopied = 0x80;

// IP precedence 6 as a DSCP (RFC 2474 §4.2.2.1: class selector 6).
constexpr std::uint8_t kInternetworkControl = 0x30;

// Calls f(type, whole_option) for each option in `options` until End of Option List; stops at a
// malformed length (the header was accepted, its options are not acted on past that).
template <class F>
void for_each_option(Bytes options, F&& f) {
  std::size_t i = 0;
  while (i < options.size()) {
    const std::uint8_t type = load_u8(options, i);
    if (type == kOptEnd) return;
    if (type == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= options.size()) return;
    const std::size_t len = load_u8(options, i + 1);
    if (len < 2 || i + len > options.size()) return;
    f(type, options.subspan(i, len));
    i += len;
  }
}

// Appends an option, keeping the whole a multiple of 4 (padded with End of Option List).
void append_option(wire::Ipv4Options& out, Bytes option) {
  if (out.len + option.size() > wire::Ipv4Options::max_len) return;
  std::copy(option.begin(), option.end(), out.buf.begin() + out.len);
  out.len = static_cast<std::uint8_t>(out.len + option.size());
}
void pad_options(wire::Ipv4Options& out) {
  while (out.len % 4 != 0)
    out.buf[out.len++] = std::byte{kOptEnd};
}

// RFC 791 §3.2: the options fragments after the first carry (the copied flag set).
wire::Ipv4Options copied_options(const wire::Ipv4Options& options) {
  wire::Ipv4Options out;
  for_each_option(options.bytes(), [&](std::uint8_t type, Bytes option) {
    if ((type & kOptCopied) != 0) append_option(out, option);
  });
  pad_options(out);
  return out;
}

// RFC 791 §3.1 "Record Route": writes `address` in the next free slot of a record-route option
// and advances its pointer; a full route is left as it is.
void record_route(BytesMut option, Ipv4Address address) {
  const std::size_t ptr = load_u8(option, 2);
  if (ptr < 4 || ptr + 3 > option.size()) return;
  address.to_bytes(option, ptr - 1);
  store_u8(option, 2, static_cast<std::uint8_t>(ptr + 4));
}

// RFC 1122 §3.2.2.6: a Record Route option of an echo request goes back in the reply, updated
// with this host. As Linux: the address is recorded on arrival and again as the reply leaves.
wire::Ipv4Options echo_reply_options(const wire::Ipv4Options& request, Ipv4Address own) {
  wire::Ipv4Options out;
  for_each_option(request.bytes(), [&](std::uint8_t type, Bytes option) {
    if (type != kOptRecordRoute || option.size() < 3) return;
    const std::size_t at = out.len;
    append_option(out, option);
    if (out.len == at) return;
    const BytesMut copy = BytesMut(out.buf).subspan(at, option.size());
    record_route(copy, own);
    record_route(copy, own);
  });
  pad_options(out);
  return out;
}

}  // namespace

bool Stack::is_local_address(Ipv4Address a) const {
  return std::ranges::any_of(interfaces_,
                             [&](const Interface& i) { return i.config.address.address() == a; });
}

bool Stack::is_broadcast_for(InterfaceId iface, Ipv4Address a) const {
  const Ipv4Cidr& net = interfaces_[iface].config.address;
  return a.is_broadcast() || (net.prefix_len() < 31 && a == net.broadcast());
}

void Stack::receive_ipv4(InterfaceId iface, Bytes packet, Instant now, FrameSink& sink) {
  auto& c = counters_.ipv4;
  c.rx_packets.inc();
  const Ipv4View view(packet);
  auto parsed = Ipv4Repr::parse(view, config_.checksums);
  if (!parsed) {
    // RFC 1122 §3.2.1.1-2: a wrong version or a bad checksum is silently discarded; so is a
    // header whose lengths disagree with the frame (RFC 791 §3.1).
    switch (static_cast<Errc>(parsed.error().value())) {
      case Errc::bad_version:
        c.rx_bad_version.inc();
        break;
      case Errc::bad_header_len:
        c.rx_bad_header_len.inc();
        break;
      case Errc::bad_length:
        c.rx_bad_length.inc();
        break;
      case Errc::bad_checksum:
        c.rx_bad_checksum.inc();
        break;
      default:
        c.rx_truncated.inc();
        break;
    }
    return;
  }
  const Ipv4Repr& ip = *parsed;
  // RFC 1122 §3.2.1.3: a datagram whose source is a broadcast, multicast or loopback address
  // is dropped ({127, <any>} "MUST NOT appear outside a host").
  if (ip.src.is_broadcast() || ip.src.is_multicast() || ip.src.is_loopback() ||
      is_broadcast_for(iface, ip.src)) {
    c.rx_bad_source.inc();
    return;
  }
  const bool local =
      is_local_address(ip.dst) || is_broadcast_for(iface, ip.dst) || ip.dst == kAllHosts;
  if (!local) {
    if (config_.forwarding && !ip.dst.is_multicast()) {
      forward_ipv4(view.buffer().first(view.total_len()), ip, now, sink);
    } else {
      c.rx_not_for_us.inc();
    }
    return;
  }
  if (ip.more_frags || ip.frag_offset != 0) {
    // RFC 791 §3.2, RFC 815: fragments wait in the reassembler until the datagram is whole.
    auto whole = reassembler_.on_fragment(ip, packet.first(view.header_len()), view.payload(), now);
    if (whole) deliver_ipv4(iface, whole->header, whole->payload, now, sink);
    return;
  }
  deliver_ipv4(iface, ip, view.payload(), now, sink);
}

void Stack::deliver_ipv4(InterfaceId iface, const Ipv4Repr& ip, Bytes payload, Instant now,
                         FrameSink& sink) {
  switch (ip.protocol) {
    case IpProtocol::Icmp:
      counters_.ipv4.rx_delivered.inc();
      receive_icmp(ip, payload, now, sink);
      break;
    case IpProtocol::Udp:
      counters_.ipv4.rx_delivered.inc();
      receive_udp(ip, payload, now, sink);
      break;
    case IpProtocol::Tcp:
      counters_.ipv4.rx_delivered.inc();
      receive_tcp(iface, ip, payload, now, sink);
      break;
    default:
      counters_.ipv4.rx_unknown_protocol.inc();
      // RFC 1122 §3.2.2.1: a host should send protocol unreachable for a transport it lacks.
      if (!is_broadcast_for(iface, ip.dst) && !ip.dst.is_multicast())
        send_icmp_error(
            Icmpv4Repr::DstUnreachable{wire::Icmpv4DstUnreachable::ProtocolUnreachable, 0, {}, {}},
            ip, payload, now, sink);
      break;
  }
}

void Stack::forward_ipv4(Bytes packet, const Ipv4Repr& ip, Instant now, FrameSink& sink) {
  auto& c = counters_.ipv4;
  const Bytes payload = packet.subspan(ip.header_len());
  // RFC 1812 §5.3.1: a datagram whose TTL would reach zero is dropped with time exceeded.
  if (ip.ttl <= 1) {
    c.rx_ttl_expired.inc();
    send_icmp_error(Icmpv4Repr::TimeExceeded{wire::Icmpv4TimeExceeded::TtlExceeded, {}, {}}, ip,
                    payload, now, sink);
    return;
  }
  // RFC 1812 §5.3.7: never forward from an unspecified source or to a loopback, unspecified
  // or limited-broadcast destination.
  if (ip.src.is_unspecified() || ip.dst.is_loopback() || ip.dst.is_unspecified() ||
      ip.dst.is_broadcast()) {
    c.rx_martian.inc();
    return;
  }
  const auto hop = routes_.lookup(ip.dst);
  if (hop && is_broadcast_for(hop->iface, ip.dst)) {
    // RFC 2644: a directed broadcast is not forwarded onto its network by default.
    c.rx_martian.inc();
    return;
  }
  if (!hop) {
    // RFC 1812 §5.2.7.1: no route is network unreachable.
    c.rx_no_route.inc();
    send_icmp_error(
        Icmpv4Repr::DstUnreachable{wire::Icmpv4DstUnreachable::NetUnreachable, 0, {}, {}}, ip,
        payload, now, sink);
    return;
  }
  const std::size_t mtu = interfaces_[hop->iface].config.mtu;
  if (packet.size() > mtu && ip.dont_frag) {
    // RFC 1191 §4 (RFC 1812 §5.2.6): too big with DF is refused with fragmentation needed and
    // the next-hop MTU.
    c.rx_frag_needed.inc();
    send_icmp_error(Icmpv4Repr::DstUnreachable{wire::Icmpv4DstUnreachable::FragmentationNeeded,
                                               static_cast<std::uint16_t>(mtu),
                                               {},
                                               {}},
                    ip, payload, now, sink);
    return;
  }
  if (packet.size() > mtu) {
    // RFC 791 §3.2, RFC 1812 §5.2.6: too big without DF is cut into fragments (a fragment is
    // cut again: its pieces keep their place in the original datagram).
    IpSend send = IpSend::to(ip.src, ip.dst, ip.protocol);
    send.ttl = static_cast<std::uint8_t>(ip.ttl - 1);
    send.ident = ip.ident;
    send.dscp = ip.dscp;
    send.options = ip.options;
    send.frag_offset = ip.frag_offset;
    send.more_frags = ip.more_frags;
    c.rx_forwarded.inc();
    auto prepared = prepare_ipv4(send, payload.size());  // a refusal is counted there (tx_)
    if (!prepared) return;
    store_bytes(prepared->l4, 0, payload);
    (void)send_built_ipv4(send, prepared->hop, payload.size(), now, sink);
    return;
  }
  // The datagram as it came, TTL one less, checksum updated incrementally (RFC 1624).
  const BytesMut out = BytesMut(tx_datagram_).subspan(kLinkHeadroom, packet.size());
  store_bytes(out, 0, packet);
  const Ipv4ViewMut view(out);
  const std::uint16_t old_word = load_be16(out, 8);
  view.set_ttl(static_cast<std::uint8_t>(ip.ttl - 1));
  view.set_checksum(checksum_update(view.checksum(), old_word, load_be16(out, 8)));
  c.rx_forwarded.inc();
  link_output(hop->iface, hop->address, BytesMut(tx_datagram_), packet.size(), {}, now, sink);
}

Result<ip::NextHop> Stack::route(IpSend& send) const {
  std::optional<ip::NextHop> hop;
  if (send.dst.is_broadcast() || send.dst.is_multicast()) {
    // The limited broadcast and multicast leave by the first interface (or the source's).
    if (interfaces_.empty()) return tl::unexpected(errc(std::errc::network_unreachable));
    InterfaceId out = 0;
    for (std::size_t i = 0; i < interfaces_.size(); ++i)
      if (interfaces_[i].config.address.address() == send.src) out = static_cast<InterfaceId>(i);
    hop = ip::NextHop{out, send.dst};
  } else {
    hop = routes_.lookup(send.dst);
  }
  if (!hop) return tl::unexpected(errc(std::errc::network_unreachable));
  if (send.src.is_unspecified()) send.src = interfaces_[hop->iface].config.address.address();
  return *hop;
}

Result<Stack::Prepared> Stack::prepare_ipv4(IpSend& send, std::size_t l4_len) {
  const std::size_t header_len = kIpHeaderLen + send.options.len;
  // RFC 791 §3.1: Total Length is 16 bits.
  if (l4_len + header_len + send.frag_offset > 0xffff) {
    counters_.ipv4.tx_too_big.inc();
    return tl::unexpected(errc(std::errc::message_size));
  }
  auto hop = route(send);
  if (!hop) {
    counters_.ipv4.tx_no_route.inc();
    return tl::unexpected(hop.error());
  }
  return Prepared{*hop, BytesMut(tx_datagram_).subspan(kLinkHeadroom + header_len, l4_len)};
}

Result<void> Stack::send_built_ipv4(const IpSend& send, const ip::NextHop& hop, std::size_t l4_len,
                                    Instant now, FrameSink& sink) {
  auto& c = counters_.ipv4;
  // RFC 1191 §3: what we originate fits the path's MTU; what we forward, the next link's.
  const std::size_t link_mtu = interfaces_[hop.iface].config.mtu;
  const std::size_t mtu =
      is_local_address(send.src) ? path_mtu_.mtu(send.dst, link_mtu, now) : link_mtu;
  Ipv4Repr ip;
  ip.src = send.src;
  ip.dst = send.dst;
  ip.protocol = send.protocol;
  ip.ttl = send.ttl != 0 ? send.ttl : config_.default_ttl;
  ip.dscp = send.dscp;
  ip.ident = send.ident ? *send.ident : next_ip_ident_++;
  ip.dont_frag = send.dont_frag;
  ip.frag_offset = send.frag_offset;
  ip.more_frags = send.more_frags;
  ip.payload_len = l4_len;
  ip.options = send.options;
  const BytesMut datagram = BytesMut(tx_datagram_).subspan(kLinkHeadroom, ip.header_len() + l4_len);
  // A TSO frame is cut by the device into segments that each fit (frame_info.hpp).
  if (ip.buffer_len() <= mtu || send.gso_size != 0) {
    ip.emit(Ipv4ViewMut(datagram), config_.checksums);
    c.tx_packets.inc();
    link_output(hop.iface, hop.address, BytesMut(tx_datagram_), datagram.size(), send.owner, now,
                sink, send.gso_size);
    return {};
  }
  if (send.dont_frag) {
    // RFC 1191 §3 / RFC 791 §3.2: DF forbids fragmenting; the sender must send less.
    c.tx_too_big.inc();
    return tl::unexpected(errc(std::errc::message_size));
  }
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 payload bytes; each
  // copies the header with its offset and more-fragments flag; the first keeps every option,
  // the others only those whose "copied" flag is set.
  const wire::Ipv4Options later_options = copied_options(send.options);
  const Bytes l4 = datagram.subspan(ip.header_len());
  c.tx_packets.inc();
  std::size_t off = 0;
  while (off < l4_len) {
    Ipv4Repr frag = ip;
    if (off != 0) frag.options = later_options;
    const std::size_t room = (mtu - frag.header_len()) & ~std::size_t{7};
    const std::size_t n = std::min(room, l4_len - off);
    frag.frag_offset = static_cast<std::uint16_t>(send.frag_offset + off);
    frag.more_frags = off + n < l4_len || send.more_frags;
    frag.payload_len = n;
    const BytesMut out = BytesMut(tx_fragment_).subspan(kLinkHeadroom, frag.buffer_len());
    frag.emit(Ipv4ViewMut(out), config_.checksums);
    store_bytes(out, frag.header_len(), l4.subspan(off, n));
    c.tx_fragments.inc();
    link_output(hop.iface, hop.address, BytesMut(tx_fragment_), out.size(), send.owner, now, sink);
    off += n;
  }
  return {};
}

// ---- ICMP ----------------------------------------------------------------------------------

void Stack::receive_icmp(const Ipv4Repr& ip, Bytes payload, Instant now, FrameSink& sink) {
  auto& c = counters_.icmp;
  c.rx_messages.inc();
  const wire::Icmpv4View view(payload);
  auto parsed = Icmpv4Repr::parse(view, config_.checksums);
  if (!parsed) {
    (parsed.error() == Errc::bad_checksum ? c.rx_bad_checksum : c.rx_malformed).inc();
    return;
  }
  if (const auto* echo = std::get_if<Icmpv4Repr::EchoRequest>(&parsed->message)) {
    c.rx_echo_requests.inc();
    // RFC 1122 §3.2.2.6: an echo request to a broadcast or multicast address may be ignored;
    // Linux ignores them by default (icmp_echo_ignore_broadcasts).
    if (!is_local_address(ip.dst)) {
      c.rx_broadcast_echo.inc();
      return;
    }
    // RFC 792: the reply swaps the addresses and returns the identifier, sequence number and
    // data of the request; RFC 1122 §3.2.2.6: of any size the host can reassemble.
    const Icmpv4Repr reply{Icmpv4Repr::EchoReply{echo->ident, echo->seq_no, echo->data}};
    IpSend send = IpSend::to(ip.dst, ip.src, IpProtocol::Icmp);
    send.options = echo_reply_options(ip.options, ip.dst);
    auto prepared = prepare_ipv4(send, reply.buffer_len());
    if (!prepared) return;
    reply.emit(wire::Icmpv4ViewMut(prepared->l4), config_.checksums);
    if (send_built_ipv4(send, prepared->hop, reply.buffer_len(), now, sink)) {
      c.tx_messages.inc();
      c.tx_echo_replies.inc();
    }
    return;
  }
  if (std::holds_alternative<Icmpv4Repr::EchoReply>(parsed->message)) {
    // Echo replies go to the ICMP socket with that identifier.
    for (auto& s : icmp_) {
      if (!s.open || s.ident != view.ident()) continue;
      if (s.rx->push({{ip.src, 0}, ip.dst, 0, ip.ttl}, payload)) {
        mark_read(s);
      } else {
        c.rx_queue_full.inc();
      }
      return;
    }
    c.rx_no_socket.inc();
    return;
  }
  // RFC 1122 §3.2.2: errors go to the transport (here: the socket) that sent the offender.
  if (const auto* du = std::get_if<Icmpv4Repr::DstUnreachable>(&parsed->message)) {
    c.rx_errors.inc();
    std::errc e = std::errc::host_unreachable;
    switch (du->code) {
      case wire::Icmpv4DstUnreachable::NetUnreachable:
      case wire::Icmpv4DstUnreachable::DstNetUnknown:
        e = std::errc::network_unreachable;
        break;
      case wire::Icmpv4DstUnreachable::ProtocolUnreachable:
      case wire::Icmpv4DstUnreachable::PortUnreachable:
        e = std::errc::connection_refused;
        break;
      case wire::Icmpv4DstUnreachable::FragmentationNeeded:
        e = std::errc::message_size;
        learn_path_mtu(du->header, du->next_hop_mtu, now);
        break;
      default:
        break;
    }
    icmp_error_to_sockets(du->header, du->data, errc(e), payload, ip);
  } else if (const auto* te = std::get_if<Icmpv4Repr::TimeExceeded>(&parsed->message)) {
    c.rx_errors.inc();
    icmp_error_to_sockets(te->header, te->data, errc(std::errc::host_unreachable), payload, ip);
  }
}

void Stack::icmp_error_to_sockets(const Ipv4Repr& quoted, Bytes quoted_payload,
                                  std::error_code error, Bytes message, const Ipv4Repr& ip) {
  if (!is_local_address(quoted.src)) return;  // not about a datagram of ours
  if (quoted.protocol == IpProtocol::Tcp) {
    tcp_icmp_error(quoted, quoted_payload, error, error == std::errc::message_size, last_now_);
    return;
  }
  if (quoted.protocol == IpProtocol::Udp && quoted_payload.size() >= 4) {
    // RFC 1122 §4.1.3.3: UDP passes ICMP errors up. As on Linux (without IP_RECVERR), only a
    // connected socket hears them: an unconnected one could not tell which peer they concern.
    const std::uint16_t sport = load_be16(quoted_payload, 0);
    const std::uint16_t dport = load_be16(quoted_payload, 2);
    for (auto& s : udp_) {
      if (s.open && s.bound && s.local.port == sport && s.remote &&
          *s.remote == Ipv4Endpoint{quoted.dst, dport}) {
        s.error = error;
        mark_read(s);
        return;
      }
    }
  } else if (quoted.protocol == IpProtocol::Icmp && quoted_payload.size() >= 8 &&
             load_u8(quoted_payload, 0) ==
                 static_cast<std::uint8_t>(wire::Icmpv4Type::EchoRequest)) {
    const std::uint16_t ident = load_be16(quoted_payload, 4);
    for (auto& s : icmp_) {
      if (!s.open || s.ident != ident) continue;
      if (s.rx->push({{ip.src, 0}, ip.dst, 0, ip.ttl}, message)) {
        mark_read(s);
      } else {
        counters_.icmp.rx_queue_full.inc();
      }
      return;
    }
  }
}

void Stack::learn_path_mtu(const Ipv4Repr& quoted, std::uint16_t next_hop_mtu, Instant now) {
  // RFC 1191 §3: only about a datagram we sent, towards a destination we route to.
  const auto hop = routes_.lookup(quoted.dst);
  if (!is_local_address(quoted.src) || !hop) {
    path_mtu_.ignore();
    return;
  }
  path_mtu_.on_frag_needed(quoted.dst, next_hop_mtu, quoted.buffer_len(),
                           interfaces_[hop->iface].config.mtu, now);
}

bool Stack::icmp_rate_allows(Instant now) {
  // RFC 1812 §4.3.2.8 (RFC 1122 §3.2.2): a token bucket of icmp_error_burst tokens, one more
  // every icmp_error_interval.
  if (now > icmp_refill_) {
    const auto earned =
        static_cast<std::uint64_t>((now - icmp_refill_) / config_.icmp_error_interval);
    if (earned > 0) {
      icmp_tokens_ = static_cast<unsigned>(
          std::min<std::uint64_t>(config_.icmp_error_burst, icmp_tokens_ + earned));
      icmp_refill_ += earned * config_.icmp_error_interval;
      if (icmp_tokens_ == config_.icmp_error_burst) icmp_refill_ = now;
    }
  } else if (icmp_refill_ > now + config_.icmp_error_interval) {
    icmp_refill_ = now;  // time went backwards (a new driver epoch): restart the bucket
  }
  if (icmp_tokens_ == 0) return false;
  --icmp_tokens_;
  return true;
}

void Stack::send_icmp_error(Icmpv4Repr::Message error, const Ipv4Repr& offender, Bytes payload,
                            Instant now, FrameSink& sink) {
  // RFC 1122 §3.2.2: never about an ICMP error, a datagram to a broadcast or multicast address,
  // a fragment other than the first, or a datagram whose source is not one host.
  if (offender.protocol == IpProtocol::Icmp) {
    if (payload.empty()) return;
    const auto type = static_cast<wire::Icmpv4Type>(load_u8(payload, 0));
    if (type != wire::Icmpv4Type::EchoRequest && type != wire::Icmpv4Type::EchoReply &&
        type != wire::Icmpv4Type::Timestamp && type != wire::Icmpv4Type::TimestampReply)
      return;
  }
  if (offender.dst.is_broadcast() || offender.dst.is_multicast() || offender.frag_offset != 0 ||
      offender.src.is_unspecified() || offender.src.is_broadcast() || offender.src.is_multicast() ||
      offender.src.is_loopback())
    return;
  for (std::size_t i = 0; i < interfaces_.size(); ++i)
    if (is_broadcast_for(static_cast<InterfaceId>(i), offender.dst) ||
        is_broadcast_for(static_cast<InterfaceId>(i), offender.src))
      return;
  if (!icmp_rate_allows(now)) {
    counters_.icmp.tx_rate_limited.inc();
    return;
  }
  const std::size_t room =
      kIcmpErrorMaxLen - kIpHeaderLen - wire::Icmpv4View::header_len - offender.header_len();
  const Bytes quote = payload.first(std::min(room, payload.size()));
  std::visit(
      [&](auto& m) {
        if constexpr (requires { m.header; }) {
          m.header = offender;
          m.data = quote;
        }
      },
      error);
  const Icmpv4Repr msg{error};
  // The error comes from the address the offender was sent to when that is ours (RFC 1812
  // §4.3.2.4), else from the outgoing interface.
  IpSend send = IpSend::to(is_local_address(offender.dst) ? offender.dst : Ipv4Address::any(),
                           offender.src, IpProtocol::Icmp);
  // RFC 1812 §4.3.2.5: ICMP errors carry precedence 6, internetwork control (TOS 0xc0, as Linux).
  send.dscp = kInternetworkControl;
  auto prepared = prepare_ipv4(send, msg.buffer_len());
  if (!prepared) return;
  msg.emit(wire::Icmpv4ViewMut(prepared->l4), config_.checksums);
  if (send_built_ipv4(send, prepared->hop, msg.buffer_len(), now, sink)) {
    counters_.icmp.tx_messages.inc();
    counters_.icmp.tx_errors.inc();
  }
}

}  // namespace tapir
