// The transport side of Stack: UDP input and demux, the socket tables, the operations behind
// UdpSocket and IcmpSocket, draining their send queues in poll(), and wakers.
#include <algorithm>
#include <system_error>

#include "stack/stack.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/udp.hpp"

namespace tapir {

namespace {

using wire::IpProtocol;
using wire::Ipv4Repr;

std::error_code errc(std::errc e) {
  return std::make_error_code(e);
}
tl::unexpected<std::error_code> fail_errc(std::errc e) {
  return tl::unexpected(errc(e));
}

// RFC 768: the largest UDP payload in one IPv4 datagram (65,535 - 20 - 8).
constexpr std::size_t kMaxUdpPayload = 65507;
constexpr std::size_t kMaxIcmpMessage = 65515;

// Returns the pending error once, clearing it.
std::error_code take(std::error_code& e) {
  return std::exchange(e, {});
}

template <class Slot>
Slot* find_slot(std::vector<Slot>& slots, SocketId id) {
  if (id.slot >= slots.size()) return nullptr;
  Slot& s = slots[id.slot];
  return s.open && s.generation == id.generation ? &s : nullptr;
}

// Opens the first closed slot with a fresh generation; nullptr when all are open.
template <class Slot>
Slot* open_slot(std::vector<Slot>& slots, SocketId& id) {
  for (std::size_t i = 0; i < slots.size(); ++i) {
    Slot& s = slots[i];
    if (s.open) continue;
    const std::uint32_t generation = s.generation + 1 == 0 ? 1 : s.generation + 1;
    auto rx = std::move(s.rx);
    auto tx = std::move(s.tx);
    s = Slot{};
    s.rx = std::move(rx);
    s.tx = std::move(tx);
    s.generation = generation;
    s.open = true;
    id = {static_cast<std::uint32_t>(i), generation};
    return &s;
  }
  return nullptr;
}

}  // namespace

// ---- UDP input -----------------------------------------------------------------------------

void Stack::receive_udp(const Ipv4Repr& ip, Bytes payload, Instant now, FrameSink& sink) {
  auto& c = counters_.udp;
  c.rx_datagrams.inc();
  const wire::UdpView view(payload);
  // RFC 768, RFC 1122 §4.1.3.4: a checksum that fails is discarded; zero means none was sent.
  wire::ChecksumPolicy policy = config_.checksums;
  if (rx_checksum_trusted_) policy.verify_rx = false;  // the device said so (frame_info.hpp)
  auto parsed = wire::UdpRepr::parse(view, ip.src, ip.dst, policy);
  if (!parsed) {
    (parsed.error() == Errc::bad_checksum ? c.rx_bad_checksum : c.rx_malformed).inc();
    return;
  }
  const Ipv4Endpoint from{ip.src, parsed->src_port};
  // Demux: a socket connected to exactly this peer first, then one bound to the port on this
  // address or on any.
  UdpSlot* match = nullptr;
  for (auto& s : udp_) {
    if (!s.open || !s.bound || s.local.port != parsed->dst_port) continue;
    if (!s.local.address.is_unspecified() && s.local.address != ip.dst) continue;
    if (s.remote) {
      if (*s.remote != from) continue;
      match = &s;
      break;
    }
    if (match == nullptr) match = &s;
  }
  if (match == nullptr) {
    c.rx_no_socket.inc();
    // RFC 1122 §4.1.3.1: no socket on the port is an ICMP port unreachable (never for a
    // broadcast or multicast datagram, which send_icmp_error refuses).
    send_icmp_error(
        wire::Icmpv4Repr::DstUnreachable{wire::Icmpv4DstUnreachable::PortUnreachable, 0, {}, {}},
        ip, payload, now, sink);
    return;
  }
  if (match->rx->push({from, ip.dst, 0, ip.ttl}, view.payload())) {
    mark_read(*match);
  } else {
    c.rx_queue_full.inc();
  }
}

// ---- poll: the send queues -----------------------------------------------------------------

void Stack::poll_sockets(Instant now, FrameSink& sink) {
  for (std::uint32_t i = 0; i < udp_.size(); ++i) {
    UdpSlot& s = udp_[i];
    if (!s.open || s.tx->empty()) continue;
    while (!s.tx->empty()) {
      const DatagramInfo info = *s.tx->front();
      IpSend send = IpSend::to(info.local, info.remote.address, IpProtocol::Udp);
      send.dont_frag = s.dont_frag;
      send.owner = {link::FrameOwner::Kind::Udp, {i, s.generation}};
      const std::size_t l4_len = wire::UdpView::header_len + info.len;
      auto prepared = prepare_ipv4(send, l4_len);
      if (!prepared) {
        s.tx->pop(BytesMut{});
        s.error = prepared.error();
        mark_read(s);
        counters_.udp.tx_dropped.inc();
        continue;
      }
      s.tx->pop(prepared->l4.subspan(wire::UdpView::header_len));
      // As Linux by default (IP_PMTUDISC_WANT): DF on a datagram that fits the path's MTU, so a
      // smaller link on the way is reported (RFC 1191 §3); a larger one leaves in fragments.
      send.dont_frag =
          s.dont_frag ||
          wire::Ipv4View::min_header_len + l4_len <=
              path_mtu_.mtu(send.dst, interfaces_[prepared->hop.iface].config.mtu, now);
      // RFC 768: the checksum covers the pseudo-header, header and data; always sent.
      wire::UdpRepr{s.local.port, info.remote.port, info.len}.emit(
          wire::UdpViewMut(prepared->l4), send.src, send.dst, config_.checksums);
      if (auto r = send_built_ipv4(send, prepared->hop, l4_len, now, sink); !r) {
        s.error = r.error();
        mark_read(s);
        counters_.udp.tx_dropped.inc();
        continue;
      }
      counters_.udp.tx_datagrams.inc();
    }
    mark_write(s);
  }
  for (std::uint32_t i = 0; i < icmp_.size(); ++i) {
    IcmpSlot& s = icmp_[i];
    if (!s.open || s.tx->empty()) continue;
    while (!s.tx->empty()) {
      const DatagramInfo info = *s.tx->front();
      IpSend send = IpSend::to(Ipv4Address::any(), info.remote.address, IpProtocol::Icmp);
      send.owner = {link::FrameOwner::Kind::Icmp, {i, s.generation}};
      auto prepared = prepare_ipv4(send, info.len);
      if (!prepared) {
        s.tx->pop(BytesMut{});
        s.error = prepared.error();
        mark_read(s);
        continue;
      }
      s.tx->pop(prepared->l4);
      const wire::Icmpv4ViewMut icmp(prepared->l4);
      icmp.set_ident(s.ident);
      icmp.fill_checksum();
      if (auto r = send_built_ipv4(send, prepared->hop, info.len, now, sink); !r) {
        s.error = r.error();
        mark_read(s);
        continue;
      }
      counters_.icmp.tx_messages.inc();
    }
    mark_write(s);
  }
}

void Stack::owner_failed(const link::FrameOwner& owner, std::error_code error) {
  if (owner.kind == link::FrameOwner::Kind::Udp) {
    if (UdpSlot* s = udp_slot(owner.socket)) {
      s->error = error;
      mark_read(*s);
    }
  } else if (owner.kind == link::FrameOwner::Kind::Tcp) {
    // RFC 1122 §4.2.3.9: the next hop did not answer ARP; a soft error for TCP, fatal only to
    // a connection still in SYN-SENT (Linux reports EHOSTUNREACH there).
    if (owner.socket.slot < tcp_.size()) {
      TcpSlot& s = tcp_[owner.socket.slot];
      if (s.live && s.generation == owner.socket.generation) {
        s.conn->on_icmp_error(error, s.conn->state() == tcp::State::SynSent);
        const std::uint8_t events = s.conn->take_events();
        if ((events & tcp::kEventReadable) != 0) mark_read(s);
        if ((events & tcp::kEventWritable) != 0) mark_write(s);
      }
    }
  } else if (owner.kind == link::FrameOwner::Kind::Icmp) {
    if (IcmpSlot* s = icmp_slot(owner.socket)) {
      s->error = error;
      mark_read(*s);
    }
  }
}

void Stack::fire_wakers() {
  if (!std::exchange(wakes_pending_, false)) return;  // the common case: one test per frame
  auto fire_one = [this](auto& s) {
    if (!s.open) return;
    if (std::exchange(s.wake_read, false) && s.read_waker) {
      ++wakers_fired_;
      s.read_waker();
    }
    if (std::exchange(s.wake_write, false) && s.write_waker) {
      ++wakers_fired_;
      s.write_waker();
    }
  };
  for (auto& s : udp_)
    fire_one(s);
  for (auto& s : icmp_)
    fire_one(s);
  for (const std::uint32_t i : tcp_live_)
    fire_one(tcp_[i]);
  for (auto& s : tcp_listeners_)
    fire_one(s);
}

// ---- Socket tables -------------------------------------------------------------------------

Stack::UdpSlot* Stack::udp_slot(SocketId id) {
  return find_slot(udp_, id);
}
const Stack::UdpSlot* Stack::udp_slot(SocketId id) const {
  return find_slot(const_cast<std::vector<UdpSlot>&>(udp_), id);
}
Stack::IcmpSlot* Stack::icmp_slot(SocketId id) {
  return find_slot(icmp_, id);
}
const Stack::IcmpSlot* Stack::icmp_slot(SocketId id) const {
  return find_slot(const_cast<std::vector<IcmpSlot>&>(icmp_), id);
}

bool Stack::udp_port_in_use(std::uint16_t port, Ipv4Address addr) const {
  return std::ranges::any_of(udp_, [&](const UdpSlot& s) {
    return s.open && s.bound && s.local.port == port &&
           (addr.is_unspecified() || s.local.address.is_unspecified() || s.local.address == addr);
  });
}

std::optional<std::uint16_t> Stack::ephemeral_port(bool tcp) {
  const std::uint32_t lo = config_.ephemeral_port_min;
  const std::uint32_t count = std::uint32_t{config_.ephemeral_port_max} - lo + 1;
  // A random start, then every port once (Linux's ip_local_port_range, RFC 6056 §3.3.1).
  const std::uint32_t start = random_.below(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto port = static_cast<std::uint16_t>(lo + (start + i) % count);
    if (tcp ? !tcp_port_in_use(port, Ipv4Address::any())
            : !udp_port_in_use(port, Ipv4Address::any()))
      return port;
  }
  return std::nullopt;
}

Result<UdpSocket> Stack::udp_socket() {
  SocketId id;
  UdpSlot* s = open_slot(udp_, id);
  if (s == nullptr) return fail_errc(std::errc::too_many_files_open);
  if (!s->rx) s->rx.emplace(config_.udp_rx_bytes, config_.udp_queue_datagrams);
  if (!s->tx) s->tx.emplace(config_.udp_tx_bytes, config_.udp_queue_datagrams);
  s->rx->clear();
  s->tx->clear();
  return UdpSocket(this, id);
}

Result<IcmpSocket> Stack::icmp_socket() {
  SocketId id;
  IcmpSlot* s = open_slot(icmp_, id);
  if (s == nullptr) return fail_errc(std::errc::too_many_files_open);
  if (!s->rx) s->rx.emplace(config_.icmp_rx_bytes, config_.udp_queue_datagrams);
  if (!s->tx) s->tx.emplace(config_.icmp_rx_bytes, config_.udp_queue_datagrams);
  s->rx->clear();
  s->tx->clear();
  // An identifier no other open ICMP socket uses.
  for (;;) {
    const auto ident = static_cast<std::uint16_t>(random_.next_u32());
    const bool taken = std::ranges::any_of(
        icmp_, [&](const IcmpSlot& o) { return &o != s && o.open && o.ident == ident; });
    if (!taken) {
      s->ident = ident;
      break;
    }
  }
  return IcmpSocket(this, id);
}

// ---- UDP socket operations ------------------------------------------------------------------

Result<void> Stack::udp_bind(SocketId id, Ipv4Endpoint local) {
  UdpSlot* s = udp_slot(id);
  if (s == nullptr) return fail_errc(std::errc::bad_file_descriptor);
  if (s->bound) return fail_errc(std::errc::invalid_argument);
  if (!local.address.is_unspecified() && !is_local_address(local.address))
    return fail_errc(std::errc::address_not_available);
  if (local.port == 0) {
    auto port = ephemeral_port();
    if (!port) return fail_errc(std::errc::address_in_use);
    local.port = *port;
  } else if (udp_port_in_use(local.port, local.address)) {
    return fail_errc(std::errc::address_in_use);
  }
  s->local = local;
  s->bound = true;
  return {};
}

Result<void> Stack::udp_connect(SocketId id, Ipv4Endpoint remote) {
  UdpSlot* s = udp_slot(id);
  if (s == nullptr) return fail_errc(std::errc::bad_file_descriptor);
  if (remote.port == 0 || remote.address.is_unspecified())
    return fail_errc(std::errc::invalid_argument);
  IpSend probe = IpSend::to(s->local.address, remote.address, IpProtocol::Udp);
  auto hop = route(probe);
  if (!hop) return tl::unexpected(hop.error());
  if (!s->bound) {
    if (auto r = udp_bind(id, {}); !r) return r;
  }
  // As on Linux, connecting fixes the local address to the route's source.
  s->local.address = probe.src;
  s->remote = remote;
  return {};
}

Result<std::size_t> Stack::udp_send_to(SocketId id, Bytes data,
                                       std::optional<Ipv4Endpoint> remote) {
  UdpSlot* s = udp_slot(id);
  if (s == nullptr) return fail_errc(std::errc::bad_file_descriptor);
  if (auto e = take(s->error)) return tl::unexpected(e);
  if (!remote) {
    if (!s->remote) return fail_errc(std::errc::destination_address_required);
    remote = s->remote;
  }
  if (remote->port == 0 || remote->address.is_unspecified())
    return fail_errc(std::errc::invalid_argument);
  if (data.size() > kMaxUdpPayload || data.size() > s->tx->byte_capacity())
    return fail_errc(std::errc::message_size);
  IpSend probe = IpSend::to(s->local.address, remote->address, IpProtocol::Udp);
  auto hop = route(probe);
  if (!hop) return tl::unexpected(hop.error());
  // With don't-fragment, a datagram over the MTU is refused here (Linux: EMSGSIZE).
  if (s->dont_frag &&
      data.size() + 28 >
          path_mtu_.mtu(remote->address, interfaces_[hop->iface].config.mtu, last_now_))
    return fail_errc(std::errc::message_size);
  if (!s->bound) {
    if (auto r = udp_bind(id, {}); !r) return tl::unexpected(r.error());
  }
  if (!s->tx->push({*remote, s->local.address, 0, 0}, data))
    return fail_errc(std::errc::operation_would_block);
  return data.size();
}

Result<DatagramInfo> Stack::udp_recv_from(SocketId id, BytesMut out) {
  UdpSlot* s = udp_slot(id);
  if (s == nullptr) return fail_errc(std::errc::bad_file_descriptor);
  if (auto e = take(s->error)) return tl::unexpected(e);
  if (s->rx->empty()) return fail_errc(std::errc::operation_would_block);
  return s->rx->pop(out);
}

void Stack::udp_close(SocketId id) {
  if (UdpSlot* s = udp_slot(id)) {
    s->open = false;
    s->rx->clear();
    s->tx->clear();
    s->read_waker = nullptr;
    s->write_waker = nullptr;
  }
}

// ---- ICMP socket operations -----------------------------------------------------------------

Result<std::size_t> Stack::icmp_send_to(SocketId id, Bytes message, Ipv4Address remote) {
  IcmpSlot* s = icmp_slot(id);
  if (s == nullptr) return fail_errc(std::errc::bad_file_descriptor);
  if (auto e = take(s->error)) return tl::unexpected(e);
  if (message.size() < wire::Icmpv4View::header_len ||
      load_u8(message, 0) != static_cast<std::uint8_t>(wire::Icmpv4Type::EchoRequest) ||
      load_u8(message, 1) != 0 || remote.is_unspecified())
    return fail_errc(std::errc::invalid_argument);
  if (message.size() > kMaxIcmpMessage || message.size() > s->tx->byte_capacity())
    return fail_errc(std::errc::message_size);
  IpSend probe = IpSend::to(Ipv4Address::any(), remote, IpProtocol::Icmp);
  if (auto hop = route(probe); !hop) return tl::unexpected(hop.error());
  if (!s->tx->push({{remote, 0}, {}, 0, 0}, message))
    return fail_errc(std::errc::operation_would_block);
  return message.size();
}

Result<DatagramInfo> Stack::icmp_recv_from(SocketId id, BytesMut out) {
  IcmpSlot* s = icmp_slot(id);
  if (s == nullptr) return fail_errc(std::errc::bad_file_descriptor);
  if (auto e = take(s->error)) return tl::unexpected(e);
  if (s->rx->empty()) return fail_errc(std::errc::operation_would_block);
  return s->rx->pop(out);
}

void Stack::icmp_close(SocketId id) {
  if (IcmpSlot* s = icmp_slot(id)) {
    s->open = false;
    s->rx->clear();
    s->tx->clear();
    s->read_waker = nullptr;
    s->write_waker = nullptr;
  }
}

// ---- The handles -----------------------------------------------------------------------------

namespace {
tl::unexpected<std::error_code> closed() {
  return fail_errc(std::errc::bad_file_descriptor);
}
}  // namespace

Result<void> UdpSocket::bind(Ipv4Endpoint local) {
  return stack_ ? stack_->udp_bind(id_, local) : closed();
}
Result<void> UdpSocket::connect(Ipv4Endpoint remote) {
  return stack_ ? stack_->udp_connect(id_, remote) : closed();
}
Result<std::size_t> UdpSocket::send_to(Bytes data, Ipv4Endpoint remote) {
  return stack_ ? stack_->udp_send_to(id_, data, remote) : closed();
}
Result<std::size_t> UdpSocket::send(Bytes data) {
  return stack_ ? stack_->udp_send_to(id_, data, std::nullopt) : closed();
}
Result<DatagramInfo> UdpSocket::recv_from(BytesMut out) {
  return stack_ ? stack_->udp_recv_from(id_, out) : closed();
}
Result<Ipv4Endpoint> UdpSocket::local_endpoint() const {
  const auto* s = stack_ ? stack_->udp_slot(id_) : nullptr;
  if (s == nullptr) return closed();
  return s->local;
}
bool UdpSocket::readable() const {
  const auto* s = stack_ ? stack_->udp_slot(id_) : nullptr;
  return s != nullptr && (!s->rx->empty() || s->error);
}
bool UdpSocket::writable(std::size_t len) const {
  const auto* s = stack_ ? stack_->udp_slot(id_) : nullptr;
  return s != nullptr && s->tx->fits(len);
}
Result<void> UdpSocket::set_dont_fragment(bool on) {
  auto* s = stack_ ? stack_->udp_slot(id_) : nullptr;
  if (s == nullptr) return closed();
  s->dont_frag = on;
  return {};
}
void UdpSocket::set_read_waker(Waker waker) {
  if (auto* s = stack_ ? stack_->udp_slot(id_) : nullptr) s->read_waker = std::move(waker);
}
void UdpSocket::set_write_waker(Waker waker) {
  if (auto* s = stack_ ? stack_->udp_slot(id_) : nullptr) s->write_waker = std::move(waker);
}
void UdpSocket::close() {
  if (stack_ != nullptr) stack_->udp_close(id_);
  stack_ = nullptr;
}

Result<std::uint16_t> IcmpSocket::ident() const {
  const auto* s = stack_ ? stack_->icmp_slot(id_) : nullptr;
  if (s == nullptr) return closed();
  return s->ident;
}
Result<std::size_t> IcmpSocket::send_to(Bytes message, Ipv4Address remote) {
  return stack_ ? stack_->icmp_send_to(id_, message, remote) : closed();
}
Result<DatagramInfo> IcmpSocket::recv_from(BytesMut out) {
  return stack_ ? stack_->icmp_recv_from(id_, out) : closed();
}
bool IcmpSocket::readable() const {
  const auto* s = stack_ ? stack_->icmp_slot(id_) : nullptr;
  return s != nullptr && (!s->rx->empty() || s->error);
}
bool IcmpSocket::writable(std::size_t len) const {
  const auto* s = stack_ ? stack_->icmp_slot(id_) : nullptr;
  return s != nullptr && s->tx->fits(len);
}
void IcmpSocket::set_read_waker(Waker waker) {
  if (auto* s = stack_ ? stack_->icmp_slot(id_) : nullptr) s->read_waker = std::move(waker);
}
void IcmpSocket::set_write_waker(Waker waker) {
  if (auto* s = stack_ ? stack_->icmp_slot(id_) : nullptr) s->write_waker = std::move(waker);
}
void IcmpSocket::close() {
  if (stack_ != nullptr) stack_->icmp_close(id_);
  stack_ = nullptr;
}

}  // namespace tapir
