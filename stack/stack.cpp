// Stack set-up, the receive and poll entry points, and the link layer (Ethernet, ARP).
#include "stack/stack.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <system_error>

#include "stack/wire/arp.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/vlan.hpp"

namespace tapir {

namespace {

using wire::EthernetView;
using wire::EthernetViewMut;
using wire::EtherType;

std::error_code errc(std::errc e) {
  return std::make_error_code(e);
}

// RFC 1112 §6.4: an IPv4 multicast group maps to 01:00:5e plus its low 23 bits.
MacAddress multicast_mac(Ipv4Address group) {
  const auto v = group.value();
  return MacAddress({0x01, 0x00, 0x5e, static_cast<std::uint8_t>((v >> 16) & 0x7fU),
                     static_cast<std::uint8_t>((v >> 8) & 0xffU),
                     static_cast<std::uint8_t>(v & 0xffU)});
}

// RFC 1112 §4: every host is a member of the all-hosts group 224.0.0.1.
constexpr Ipv4Address kAllHosts{224, 0, 0, 1};

}  // namespace

std::string Stack::validate(const StackConfig& c) {
  if (c.max_interfaces < 1 || c.max_interfaces > 0xffff) return "max_interfaces must be 1..65535";
  if (c.max_mtu < 68 || c.max_mtu > 65535) return "max_mtu must be 68..65535";
  if (c.max_routes < 1) return "max_routes must be at least 1";
  if (c.neighbor_cache_size < 1) return "neighbor_cache_size must be at least 1";
  if (c.arp_max_tries < 1) return "arp_max_tries must be at least 1";
  if (c.arp_pending_per_neighbor < 1 || c.arp_pending_per_neighbor > c.arp_pending_frames)
    return "arp_pending_per_neighbor must be 1..arp_pending_frames";
  if (c.arp_retry_interval <= Duration::zero()) return "arp_retry_interval must be positive";
  if (c.reassembly.slots < 1) return "reassembly.slots must be at least 1";
  if (c.reassembly.timeout <= Duration::zero()) return "reassembly.timeout must be positive";
  if (c.icmp_error_interval <= Duration::zero()) return "icmp_error_interval must be positive";
  if (c.default_ttl == 0) return "default_ttl must be 1..255";
  if (c.ephemeral_port_min == 0 || c.ephemeral_port_min > c.ephemeral_port_max)
    return "the ephemeral port range must be 1..65535 with min <= max";
  if (c.udp_rx_bytes < 1 || c.udp_tx_bytes < 1 || c.udp_queue_datagrams < 1 || c.icmp_rx_bytes < 1)
    return "socket buffers must hold at least one byte and one datagram";
  if (c.tcp.recv.capacity < 1 || c.tcp.recv.capacity > tcp::RecvBuffer::max_capacity ||
      c.tcp.send.capacity < 1 || c.tcp.send.capacity > tcp::SendBuffer::max_capacity ||
      c.tcp.send.max_segments < 1)
    return "TCP buffers must be 1 byte..1 GiB with at least one segment record";
  if (c.tcp.msl <= Duration::zero() || c.tcp.delayed_ack <= Duration::zero())
    return "tcp.msl and tcp.delayed_ack must be positive";
  if (c.tcp_max_backlog < 1) return "tcp_max_backlog must be at least 1";
  return {};
}

Result<std::unique_ptr<Stack>> Stack::create(const StackConfig& config) {
  if (!validate(config).empty()) return tl::unexpected(errc(std::errc::invalid_argument));
  return std::unique_ptr<Stack>(new Stack(config));
}

Stack::Stack(const StackConfig& config)
    : config_(config),
      random_(config.seed),
      routes_(config.max_routes),
      neighbors_(link::NeighborConfig{
          .capacity = config.neighbor_cache_size,
          .reachable_time = config.neighbor_reachable_time,
          .stale_time = config.neighbor_stale_time,
          .retry_interval = config.arp_retry_interval,
          .max_tries = config.arp_max_tries,
          .pending_frames = config.arp_pending_frames,
          .pending_per_neighbor = config.arp_pending_per_neighbor,
          .frame_size = config.max_mtu + kLinkHeadroom,
      }),
      reassembler_(config.reassembly),
      path_mtu_(config.path_mtu),
      udp_(config.max_udp_sockets),
      icmp_(config.max_icmp_sockets),
      tcp_(config.max_tcp_connections),
      tcp_listeners_(config.max_tcp_listeners),
      isn_(tcp::IsnGenerator::key_from(random_)),
      syn_cookies_(tcp::IsnGenerator::key_from(random_)),
      tcp_map_(config.max_tcp_connections, tcp::IsnGenerator::key_from(random_)),
      tcp_time_wait_(config.tcp_time_wait_slots, tcp::IsnGenerator::key_from(random_)),
      next_ip_ident_(static_cast<std::uint16_t>(random_.next_u32())),
      icmp_tokens_(config.icmp_error_burst),
      tx_datagram_(kLinkHeadroom + 65535),
      tx_fragment_(kLinkHeadroom + config.max_mtu) {
  interfaces_.reserve(config.max_interfaces);
  tcp_live_.reserve(config.max_tcp_connections);
}

Stack::~Stack() = default;

Result<InterfaceId> Stack::add_interface(const InterfaceConfig& config) {
  if (interfaces_.size() >= config_.max_interfaces)
    return tl::unexpected(errc(std::errc::no_buffer_space));
  const auto invalid = [] { return tl::unexpected(errc(std::errc::invalid_argument)); };
  if (config.mtu < 68 || config.mtu > config_.max_mtu || config.address.address().is_unspecified())
    return invalid();
  const auto id = static_cast<InterfaceId>(interfaces_.size());
  InterfaceConfig cfg = config;
  const link::VlanKey key{config.service_vlan, config.vlan};
  // IEEE 802.1Q-2018 §9.6, Table 9-2: VIDs 0 (priority tag) and 4095 (reserved) name no VLAN.
  const auto bad_vid = [](std::optional<std::uint16_t> v) {
    return v && (*v == wire::VlanRepr::kPriorityTagVid || *v >= wire::VlanRepr::kReservedVid);
  };
  if (bad_vid(config.vlan) || bad_vid(config.service_vlan) || config.pcp > 7) return invalid();
  if (config.medium == Medium::Ip && (!key.untagged() || config.link)) return invalid();
  InterfaceId device = id;
  if (config.link) {
    // A VLAN interface rides on a device's own Ethernet interface (eth0.10 on eth0).
    if (*config.link >= interfaces_.size()) return invalid();
    const Interface& link = interfaces_[*config.link];
    if (link.config.link || link.config.medium != Medium::Ethernet ||
        config.medium != Medium::Ethernet || config.mtu > link.config.mtu)
      return invalid();
    device = *config.link;
    if (cfg.mac.is_zero()) cfg.mac = link.config.mac;
    // One interface per VLAN on a device.
    if (vlan_interface(device, key)) return invalid();
  }
  if (cfg.medium == Medium::Ethernet && (cfg.mac.is_multicast() || cfg.mac.is_zero()))
    return invalid();
  // The interface's own prefix is on the link.
  if (auto r = routes_.add({cfg.address, std::nullopt, id}); !r) return tl::unexpected(r.error());
  Interface& iface = interfaces_.emplace_back();
  iface.config = cfg;
  iface.device = device;
  iface.vlan = key;
  if (device != id) interfaces_[device].has_tagged = true;
  if (cfg.medium == Medium::Ethernet) iface.announcements_left = config_.arp_announcements;
  return id;
}

std::optional<InterfaceId> Stack::vlan_interface(InterfaceId device,
                                                 const link::VlanKey& key) const {
  const Interface& own = interfaces_[device];
  if (own.vlan == key) return device;
  if (!own.has_tagged) return std::nullopt;
  for (std::size_t i = 0; i < interfaces_.size(); ++i)
    if (interfaces_[i].device == device && interfaces_[i].vlan == key)
      return static_cast<InterfaceId>(i);
  return std::nullopt;
}

Result<void> Stack::add_route(Ipv4Cidr prefix, std::optional<Ipv4Address> gateway,
                              std::optional<InterfaceId> iface) {
  ip::Route r{*Ipv4Cidr::make(prefix.network(), prefix.prefix_len()), gateway, 0};
  if (gateway) {
    // The gateway must be reachable on a connected prefix.
    const ip::Route* connected = nullptr;
    for (const auto& route : routes_.routes())
      if (!route.gateway && route.prefix.contains(*gateway)) connected = &route;
    if (connected == nullptr) return tl::unexpected(errc(std::errc::network_unreachable));
    r.iface = connected->iface;
  } else if (iface && *iface < interfaces_.size()) {
    r.iface = *iface;
  } else {
    return tl::unexpected(errc(std::errc::invalid_argument));
  }
  return routes_.add(r);
}

// ---- Entry points --------------------------------------------------------------------------

void Stack::receive(InterfaceId iface, Bytes frame, Instant now, FrameSink& sink,
                    const FrameInfo& info) {
  last_now_ = now;
  rx_checksum_trusted_ = info.checksum_trusted;
  if (iface >= interfaces_.size()) {
    counters_.eth.rx_no_interface.inc();
    return;
  }
  // Frames arrive on a device; its tags say which of the device's interfaces takes them.
  iface = interfaces_[iface].device;
  if (tracer_ != nullptr) tracer_->on_frame(iface, interfaces_[iface].config.medium, false, frame);
  if (interfaces_[iface].config.medium == Medium::Ethernet) {
    receive_ethernet(iface, frame, now, sink);
  } else {
    receive_ipv4(iface, frame, now, sink);
  }
  rx_checksum_trusted_ = false;
  fire_wakers();
}

void Stack::poll(Instant now, FrameSink& sink) {
  last_now_ = now;
  poll_sockets(now, sink);
  poll_tcp(now, sink);
  poll_link(now, sink);
  reassembler_.poll(now, [&](Bytes header, Bytes payload) {
    auto quoted = wire::Ipv4Repr::parse_quoted(wire::Ipv4View(header));
    if (!quoted) return;
    // RFC 792, RFC 1122 §3.3.2: fragment zero is here, so tell the sender reassembly timed out.
    send_icmp_error(
        wire::Icmpv4Repr::TimeExceeded{wire::Icmpv4TimeExceeded::ReassemblyTimeExceeded, {}, {}},
        *quoted, payload, now, sink);
  });
  fire_wakers();
}

Instant Stack::next_deadline() const {
  Instant next = std::min(neighbors_.next_deadline(), reassembler_.next_deadline());
  for (const auto& iface : interfaces_)
    if (iface.announcements_left > 0) next = std::min(next, iface.next_announcement);
  // Queued datagrams are due at once.
  for (const auto& s : udp_)
    if (s.open && s.tx && !s.tx->empty()) return std::min(next, last_now_);
  for (const auto& s : icmp_)
    if (s.open && s.tx && !s.tx->empty()) return std::min(next, last_now_);
  return std::min(next, tcp_next_deadline());
}

// ---- Link layer ----------------------------------------------------------------------------

void Stack::transmit(InterfaceId iface, Bytes frame, FrameSink& sink, const FrameInfo* info) {
  const Interface& out = interfaces_[iface];
  // A VLAN interface's frames leave, tagged, through its device.
  if (tracer_ != nullptr) tracer_->on_frame(out.device, out.config.medium, true, frame);
  if (out.config.medium == Medium::Ethernet) {
    counters_.eth.tx_frames.inc();
    if (!out.vlan.untagged()) counters_.eth.tx_tagged_frames.inc();
  }
  if (info != nullptr) {
    sink.transmit_offloaded(out.device, frame, *info);
  } else {
    sink.transmit(out.device, frame);
  }
}

void Stack::receive_ethernet(InterfaceId device, Bytes frame, Instant now, FrameSink& sink) {
  auto& c = counters_.eth;
  c.rx_frames.inc();
  const EthernetView eth(frame);
  if (!eth.check()) {
    c.rx_truncated.inc();
    return;
  }
  // IEEE 802.1Q-2018 §9.5/§9.6 (and 802.1ad): the tags, if any, name the frame's VLAN; the
  // interface of the device on that VLAN takes it.
  EtherType type = eth.ethertype();
  Bytes payload = eth.payload();
  link::VlanKey key;
  if (type == EtherType::Vlan || type == EtherType::QinQ) {
    auto tags = wire::parse_vlan_tags(eth);
    if (!tags) {
      c.rx_bad_vlan.inc();  // a truncated tag, VID 4095, or a stack of tags we do not take
      return;
    }
    key = link::classify(*tags);
    type = tags->ethertype;
    payload = frame.subspan(tags->payload_offset);
  }
  const auto found = vlan_interface(device, key);
  if (!found) {
    // IEEE 802.1Q-2018 §8.6.2 (ingress filtering): a frame of a VLAN we are not on is discarded.
    (key.service ? c.rx_service_tagged : key.customer ? c.rx_unknown_vlan : c.rx_untagged).inc();
    return;
  }
  const InterfaceId iface = *found;
  const MacAddress own = interfaces_[iface].config.mac;
  const MacAddress dst = eth.dst();
  // Frames for this interface's MAC, broadcast, and the multicast groups it joined.
  if (dst != own && !dst.is_broadcast() && dst != multicast_mac(kAllHosts)) {
    c.rx_not_for_us.inc();
    return;
  }
  if (eth.src() == own) {  // our own frame looped back
    c.rx_own_source.inc();
    return;
  }
  if (!key.untagged()) c.rx_tagged_frames.inc();
  switch (type) {
    case EtherType::Arp:
      receive_arp(iface, payload, now, sink);
      break;
    case EtherType::Ipv4:
      receive_ipv4(iface, payload, now, sink);
      break;
    default:
      c.rx_unknown_ethertype.inc();
      break;
  }
}

void Stack::receive_arp(InterfaceId iface, Bytes packet, Instant now, FrameSink& sink) {
  auto& c = counters_.arp;
  const wire::ArpView view(packet);
  if (!view.check()) {
    c.rx_malformed.inc();
    return;
  }
  auto parsed = wire::ArpRepr::parse(view);
  if (!parsed) {
    c.rx_unsupported.inc();
    return;
  }
  const wire::ArpRepr& arp = *parsed;
  const bool request = arp.operation == wire::ArpOperation::Request;
  (request ? c.rx_requests : c.rx_replies).inc();
  const InterfaceConfig& cfg = interfaces_[iface].config;
  const Ipv4Address own_ip = cfg.address.address();
  if (arp.source_hardware_addr.is_multicast() || arp.source_hardware_addr.is_zero() ||
      arp.source_hardware_addr == cfg.mac || arp.source_protocol_addr == own_ip ||
      arp.source_protocol_addr.is_broadcast() || arp.source_protocol_addr.is_multicast()) {
    // A broadcast or own MAC as sender, or someone claiming our address: never learnt.
    c.rx_bad_sender.inc();
    return;
  }
  const bool for_us = arp.target_protocol_addr == own_ip;
  // RFC 826 "Packet Reception": update the sender's entry if we have one (the merge flag);
  // add it if we are the target. An RFC 5227 probe (sender 0.0.0.0) teaches nothing. A
  // gratuitous ARP (sender = target) updates an existing entry this way too.
  if (!arp.source_protocol_addr.is_unspecified()) {
    neighbors_.update(iface, arp.source_protocol_addr, arp.source_hardware_addr, for_us, now,
                      [&](BytesMut frame, MacAddress mac) {
                        EthernetViewMut(frame).set_dst(mac);
                        transmit(iface, frame, sink);
                      });
  }
  if (!for_us) {
    c.rx_not_for_us.inc();
    return;
  }
  if (request) {
    // RFC 826: swap the sender into the target fields, put our addresses in, send a reply.
    send_arp(iface,
             {wire::ArpOperation::Reply, cfg.mac, own_ip, arp.source_hardware_addr,
              arp.source_protocol_addr},
             arp.source_hardware_addr, sink);
    c.tx_replies.inc();
  }
}

void Stack::send_arp(InterfaceId iface, const wire::ArpRepr& arp, MacAddress dst, FrameSink& sink) {
  std::array<std::byte, EthernetView::min_frame_len> frame{};  // zero padding included
  const Interface& out = interfaces_[iface];
  const std::size_t header_len = out.vlan.header_len();
  static_assert(link::kMaxLinkHeaderLen + wire::ArpRepr::buffer_len() <= frame.size());
  // IEEE 802.1Q-2018 §9.6: a VLAN interface's ARP is tagged with its VID and PCP.
  link::emit_link_header(BytesMut(frame).first(header_len), out.config.mac, dst, out.vlan,
                         out.config.pcp, EtherType::Arp);
  arp.emit(wire::ArpViewMut(BytesMut(frame).subspan(header_len)));
  transmit(iface, Bytes(frame), sink);
}

void Stack::link_output(InterfaceId iface, Ipv4Address next_hop, BytesMut buffer, std::size_t len,
                        const link::FrameOwner& owner, Instant now, FrameSink& sink,
                        std::uint16_t gso_size) {
  const Interface& out = interfaces_[iface];
  const InterfaceConfig& cfg = out.config;
  // A TSO frame: the device completes the TCP checksum, which starts after the IP header.
  FrameInfo gso;
  if (gso_size != 0) {
    const std::size_t ip_header_len =
        wire::Ipv4View(buffer.subspan(kLinkHeadroom, len)).header_len();
    gso.checksum_partial = true;
    gso.gso_size = gso_size;
    gso.csum_start = static_cast<std::uint16_t>(
        (cfg.medium == Medium::Ip ? 0 : out.vlan.header_len()) + ip_header_len);
    gso.csum_offset = 16;  // RFC 9293 §3.1: the checksum's place in the TCP header
  }
  const FrameInfo* info = gso_size != 0 ? &gso : nullptr;
  if (cfg.medium == Medium::Ip) {
    transmit(iface, buffer.subspan(kLinkHeadroom, len), sink, info);
    return;
  }
  // The header (with this interface's tags) ends where the datagram starts.
  const std::size_t header_len = out.vlan.header_len();
  buffer = buffer.subspan(kLinkHeadroom - header_len);
  std::size_t frame_len = header_len + len;
  if (frame_len < EthernetView::min_frame_len) {
    // Ethernet's minimum frame: pad with zeros (RFC 894; IEEE 802.3 §3.2.7: a tagged frame
    // has the same minimum, the tag counting towards it).
    std::fill(buffer.begin() + static_cast<std::ptrdiff_t>(frame_len),
              buffer.begin() + EthernetView::min_frame_len, std::byte{0});
    frame_len = EthernetView::min_frame_len;
  }
  const BytesMut frame = buffer.first(frame_len);
  const EthernetViewMut eth(frame);
  std::optional<MacAddress> known;
  // RFC 3021 §2.1: a /31 has no directed broadcast; is_broadcast_for knows.
  if (is_broadcast_for(iface, next_hop)) {
    known = MacAddress::broadcast();
  } else if (next_hop.is_multicast()) {
    known = multicast_mac(next_hop);
  } else {
    known = neighbors_.lookup(iface, next_hop, now);
  }
  if (!known && info != nullptr) {
    // Too big to wait for a resolution, and its checksum is left to the device: TCP sends it
    // again.
    counters_.tcp.tx_gso_unresolved.inc();
    return;
  }
  // IEEE 802.1Q-2018 §9.6: tagged with the interface's VID and PCP.
  link::emit_link_header(frame.first(header_len), cfg.mac, known.value_or(MacAddress{}), out.vlan,
                         cfg.pcp, EtherType::Ipv4);
  if (!known) {
    // RFC 1122 §2.3.2.2: keep (a bounded number of) datagrams while the address resolves; the
    // destination MAC is written when it does.
    (void)neighbors_.enqueue(iface, next_hop, frame, owner, now);  // a refusal is counted there
    return;
  }
  transmit(iface, frame, sink, info);
}

void Stack::poll_link(Instant now, FrameSink& sink) {
  for (std::size_t i = 0; i < interfaces_.size(); ++i) {
    Interface& iface = interfaces_[i];
    if (iface.announcements_left == 0 || now < iface.next_announcement) continue;
    // RFC 5227 §2.3: an ARP announcement is a request with our address as both sender and
    // target (and a zero target MAC), broadcast ANNOUNCE_NUM times ANNOUNCE_INTERVAL apart.
    const auto id = static_cast<InterfaceId>(i);
    const Ipv4Address own = iface.config.address.address();
    send_arp(id, {wire::ArpOperation::Request, iface.config.mac, own, MacAddress{}, own},
             MacAddress::broadcast(), sink);
    counters_.arp.tx_announcements.inc();
    --iface.announcements_left;
    iface.next_announcement = now + config_.arp_announce_interval;
  }
  neighbors_.poll(
      now,
      [&](const link::NeighborCache::Request& req) {
        const InterfaceConfig& cfg = interfaces_[req.iface].config;
        // RFC 826: a request carries our addresses and the target's protocol address; RFC 1122
        // §2.3.2.1: re-confirmation goes unicast to the MAC we hold.
        send_arp(
            req.iface,
            {wire::ArpOperation::Request, cfg.mac, cfg.address.address(), MacAddress{}, req.target},
            req.unicast_to.value_or(MacAddress::broadcast()), sink);
        counters_.arp.tx_requests.inc();
      },
      [&](const link::FrameOwner& owner) {
        owner_failed(owner, errc(std::errc::host_unreachable));
      });
}

}  // namespace tapir
