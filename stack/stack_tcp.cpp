// TCP input and output of Stack: the demux (connections, listeners, RFC 9293 §3.10.7.1 resets),
// the listeners' SYN and accept queues with SYN cookies (RFC 4987 §3.6), and the TcpSocket and
// TcpListener handles. The state machine itself is tcp::Connection.
#include <algorithm>

#include "stack/stack.hpp"
#include "stack/tcp/options.hpp"
#include "stack/tcp/reset.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir {

using wire::IpProtocol;
using wire::SeqNum;

namespace {

Result<void> fail(std::errc e) {
  return tl::unexpected(std::make_error_code(e));
}

}  // namespace

// The SegmentSink of one connection during one receive() or poll().
// A connection's segments, as it emits them. On an interface with TSO, back-to-back segments
// join into one frame for the device to cut (tcp_gso_join); flush() sends what is left.
struct Stack::TcpOutput final : tcp::SegmentSink {
  TcpOutput(Stack& stack, std::uint32_t slot, Instant now, FrameSink& sink)
      : stack_(stack), slot_(slot), now_(now), sink_(sink) {}
  void send_segment(const tcp::Connection& conn, const wire::TcpRepr& seg) override {
    if (stack_.tcp_gso_join(slot_, conn, seg)) return;
    stack_.tcp_gso_flush(now_, sink_);
    if (stack_.tcp_gso_start(slot_, conn, seg)) return;
    stack_.tcp_transmit(slot_, conn.tuple(), seg, &conn, now_, sink_);
  }
  void flush() { stack_.tcp_gso_flush(now_, sink_); }

 private:
  Stack& stack_;
  std::uint32_t slot_;
  Instant now_;
  FrameSink& sink_;
};

// ---- Input ---------------------------------------------------------------------------------

void Stack::receive_tcp(InterfaceId iface, const wire::Ipv4Repr& ip, Bytes payload, Instant now,
                        FrameSink& sink) {
  auto& c = counters_.tcp;
  c.rx_segments.inc();
  const wire::TcpView view(payload);
  wire::ChecksumPolicy policy = config_.checksums;
  if (rx_checksum_trusted_) policy.verify_rx = false;  // the device said so (frame_info.hpp)
  auto parsed = wire::TcpRepr::parse(view, ip.src, ip.dst, policy);
  if (!parsed) {
    // A bad checksum or a malformed header is dropped silently (RFC 9293 §3.1, RFC 1122
    // §4.2.2.7).
    (parsed.error() == Errc::bad_checksum ? c.rx_bad_checksum : c.rx_malformed).inc();
    return;
  }
  // Never answer, nor connect, a segment sent to a broadcast or multicast address (RFC 1122
  // §4.2.3.10).
  if (!is_local_address(ip.dst) || is_broadcast_for(iface, ip.dst)) {
    c.rx_no_socket.inc();
    return;
  }
  const wire::TcpRepr& seg = *parsed;
  const Bytes data = view.payload();
  const tcp::FourTuple tuple{ip.dst, seg.dst_port, ip.src, seg.src_port};
  if (const auto slot = tcp_find(tuple)) {
    TcpSlot& s = tcp_[*slot];
    tcp::Connection& conn = *s.conn;
    // A passive open whose accept queue is full keeps its handshake open (Linux's default,
    // tcp_abort_on_overflow = 0): the connection drops the completing ACK, counted here.
    const bool embryonic = s.embryonic && s.listener;
    if (embryonic) {
      const TcpListenerSlot& l = tcp_listeners_[*s.listener];
      conn.set_accept_queue_full(l.accept_queue.size() >= accept_queue_limit(l));
    }
    conn.on_segment(seg, data, now);
    if (embryonic && conn.take_handshake_held()) c.listen_overflows.inc();
    tcp_settle(*slot, now, sink, /*defer_ack=*/true);
    return;
  }
  if (const tcp::TimeWaitEntry* tw = tcp_time_wait_.find(tuple)) {
    tcp_time_wait_input(*tw, seg, data, ip, now, sink);
    return;
  }
  if (const auto listener = tcp_find_listener(ip.dst, seg.dst_port)) {
    listener_input(*listener, tuple, seg, data, ip, now, sink);
    return;
  }
  c.rx_no_socket.inc();
  send_reset_for(ip, seg, now, sink);
}

// RFC 9293 §3.10.7.1: the reply for a segment no connection takes.
void Stack::send_reset_for(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, Instant now,
                           FrameSink& sink) {
  const auto reset = tcp::reset_for(seg);
  if (!reset) return;  // a RST is never answered
  IpSend send = IpSend::to(ip.dst, ip.src, IpProtocol::Tcp);
  // As Linux's resets: DF set, identification zero.
  send.dont_frag = true;
  send.ident = 0;
  auto prepared = prepare_ipv4(send, reset->buffer_len());
  if (!prepared) return;
  reset->emit(wire::TcpViewMut(prepared->l4), send.src, send.dst, config_.checksums);
  if (send_built_ipv4(send, prepared->hop, reset->buffer_len(), now, sink))
    counters_.tcp.tx_resets.inc();
}

// RFC 9293 §3.10.7.4 TIME-WAIT (tcp/time_wait.hpp has the rules, Linux's).
void Stack::tcp_time_wait_input(const tcp::TimeWaitEntry& entry, const wire::TcpRepr& seg,
                                Bytes payload, const wire::Ipv4Repr& ip, Instant now,
                                FrameSink& sink) {
  const tcp::FourTuple tuple = entry.tuple;
  switch (tcp_time_wait_.on_segment(entry, seg, now, 2 * config_.tcp.msl)) {
    case tcp::TimeWaitAction::Drop:
      return;
    case tcp::TimeWaitAction::Reuse:
      // RFC 6191 / RFC 1122 §4.2.2.13: a new SYN may reopen the connection, with an ISS past
      // the old incarnation's sequence space.
      if (const auto listener = tcp_find_listener(ip.dst, seg.dst_port)) {
        const wire::SeqNum iss = tcp::reuse_isn(entry);
        tcp_time_wait_.erase(tuple);
        listener_input(*listener, tuple, seg, payload, ip, now, sink, iss);
        return;
      }
      break;
    case tcp::TimeWaitAction::Ack:
      break;
  }
  if (const tcp::TimeWaitEntry* e = tcp_time_wait_.find(tuple)) {
    const wire::TcpRepr ack = tcp::ack_for(*e, tcp::ts_clock(now));
    tcp_transmit(0, tuple, ack, nullptr, now, sink);
  }
}

// RFC 9293 §3.10.7.2, LISTEN.
void Stack::listener_input(std::uint32_t index, const tcp::FourTuple& tuple,
                           const wire::TcpRepr& seg, Bytes payload, const wire::Ipv4Repr& ip,
                           Instant now, FrameSink& sink, std::optional<wire::SeqNum> iss) {
  auto& c = counters_.tcp;
  TcpListenerSlot& l = tcp_listeners_[index];
  // "First, check for a RST: An incoming RST segment could not be valid since it could not
  // have been sent in response to anything sent by this incarnation of the connection."
  if (seg.rst) return;
  // "Second, check for an ACK: Any acknowledgment is bad if it arrives on a connection still
  // in the LISTEN state. An acceptable reset segment should be formed for any arriving
  // ACK-bearing segment" -- unless it is the last ACK of a SYN-cookie handshake.
  if (seg.ack_number) {
    if (!seg.syn && config_.tcp_syn_cookies &&
        accept_syn_cookie(index, tuple, seg, payload, now, sink)) {
      return;
    }
    if (!seg.syn) c.syn_cookies_failed.inc();
    send_reset_for(ip, seg, now, sink);
    return;
  }
  // "Third, check for a SYN". Anything else is dropped ("Fourth, other data or control").
  if (!seg.syn) return;
  if (l.accept_queue.size() >= l.backlog) {
    // As Linux: with the accept queue full, SYNs are dropped (the peer retries).
    c.listen_drops.inc();
    return;
  }
  const auto slot = l.syn_queued < l.backlog ? tcp_free_slot() : std::nullopt;
  if (!slot) {
    if (config_.tcp_syn_cookies) {
      send_syn_cookie(tuple, seg, now, sink);
    } else {
      c.no_slot.inc();
    }
    return;
  }
  TcpSlot& s = tcp_[*slot];
  s.generation = s.generation + 1 == 0 ? 1 : s.generation + 1;
  s.embryonic = true;
  s.listener = index;
  s.config = config_.tcp;
  ++l.syn_queued;
  c.passive_opens.inc();
  tcp::Connection& conn = tcp_prepare(s);
  conn.accept_syn(
      tuple, seg,
      iss.value_or(isn_.isn(tuple.local, tuple.local_port, tuple.remote, tuple.remote_port, now)),
      tcp_mtu(tuple.remote, now), now);
  tcp_activate(*slot, tuple);
  tcp_settle(*slot, now, sink);
}

// RFC 4987 §3.6: the SYN-ACK of a SYN we keep no state for. Its ISN is the cookie; with
// timestamps, the window scale and SACK-permitted the SYN offered ride in our TSval's low bits
// (Linux's layout, syn_cookie.hpp); without them, neither is offered.
void Stack::send_syn_cookie(const tcp::FourTuple& tuple, const wire::TcpRepr& syn, Instant now,
                            FrameSink& sink) {
  const auto& cfg = config_.tcp;
  const std::uint16_t their_mss = syn.max_seg_size.value_or(tcp::kDefaultMss);
  wire::TcpRepr out;
  out.src_port = tuple.local_port;
  out.dst_port = tuple.remote_port;
  out.seq_number = syn_cookies_.make(tuple, syn.seq_number, their_mss, now);
  out.ack_number = syn.seq_number + 1;
  out.syn = true;
  tcp::LocalOptions local;
  local.mtu = tcp_mtu(tuple.remote, now);
  local.recv_buffer = cfg.recv.capacity;
  local.timestamps = cfg.timestamps && syn.timestamps.has_value();
  local.sack = cfg.sack && local.timestamps;
  local.window_scaling = cfg.window_scaling && local.timestamps;
  tcp::CookieOptions carried;
  if (local.window_scaling) carried.window_scale = syn.window_scale;
  carried.sack_permitted = local.sack && syn.sack_permitted;
  const std::uint32_t tsval = tcp::encode_options_in_tsval(tcp::ts_clock(now), carried);
  tcp::fill_syn_ack_options(out, local, syn, tsval);
  out.window_len = static_cast<std::uint16_t>(std::min<std::size_t>(cfg.recv.capacity, 0xffff));
  counters_.tcp.syn_cookies_sent.inc();
  tcp_transmit(0, tuple, out, nullptr, now, sink);
}

bool Stack::accept_syn_cookie(std::uint32_t index, const tcp::FourTuple& tuple,
                              const wire::TcpRepr& seg, Bytes payload, Instant now,
                              FrameSink& sink) {
  auto& c = counters_.tcp;
  const SeqNum ack = *seg.ack_number;
  const auto info = syn_cookies_.check(tuple, seg.seq_number - 1, ack - 1, now);
  if (!info) return false;
  TcpListenerSlot& l = tcp_listeners_[index];
  const auto slot = l.accept_queue.size() < accept_queue_limit(l) ? tcp_free_slot() : std::nullopt;
  if (!slot) {
    // As Linux (cookie_v4_check finds the accept queue full, tcp_v4_do_rcv discards): the ACK
    // is dropped, no RST; the peer's next segment, while the cookie is still good, may find room.
    c.listen_overflows.inc();
    return true;
  }
  const auto& cfg = config_.tcp;
  tcp::LocalOptions local;
  local.mtu = tcp_mtu(tuple.remote, now);
  local.recv_buffer = cfg.recv.capacity;
  tcp::Negotiated n;
  n.send_mss = info->mss;
  n.timestamps = cfg.timestamps && seg.timestamps.has_value() && seg.timestamps->tsecr != 0;
  if (n.timestamps) {
    const auto carried = tcp::decode_options_from_tsecr(seg.timestamps->tsecr);
    n.sack = cfg.sack && carried.sack_permitted;
    if (cfg.window_scaling && carried.window_scale) {
      n.snd_wscale = std::min(*carried.window_scale, tcp::kMaxWindowScale);
      local.window_scaling = true;
      n.rcv_wscale = tcp::local_window_scale(local);
    }
  }
  TcpSlot& s = tcp_[*slot];
  s.generation = s.generation + 1 == 0 ? 1 : s.generation + 1;
  s.embryonic = false;
  s.listener = index;
  s.config = cfg;
  c.syn_cookies_ok.inc();
  c.passive_opens.inc();
  tcp::Connection& conn = tcp_prepare(s);
  conn.accept_cookie(tuple, seg, ack - 1, seg.seq_number - 1, n, local.mtu, now);
  tcp_activate(*slot, tuple);
  conn.on_segment(seg, payload, now);
  tcp_settle(*slot, now, sink);
  return true;
}

// ---- Output --------------------------------------------------------------------------------

void Stack::tcp_transmit(std::uint32_t slot, const tcp::FourTuple& tuple, const wire::TcpRepr& seg,
                         const tcp::Connection* conn, Instant now, FrameSink& sink) {
  auto& c = counters_.tcp;
  IpSend send = IpSend::to(tuple.local, tuple.remote, IpProtocol::Tcp);
  // RFC 1191: TCP discovers the path MTU, so every segment has DF (as Linux's).
  send.dont_frag = true;
  if (conn != nullptr) {
    send.owner.kind = link::FrameOwner::Kind::Tcp;
    send.owner.socket = {slot, tcp_[slot].generation};
  }
  auto prepared = prepare_ipv4(send, seg.buffer_len());
  if (!prepared) {
    c.tx_no_route.inc();
    return;
  }
  const std::size_t header_len = seg.header_len();
  if (seg.payload_len > 0 && conn != nullptr) {
    conn->copy_payload(seg.seq_number, prepared->l4.subspan(header_len, seg.payload_len));
  }
  seg.emit(wire::TcpViewMut(prepared->l4.first(seg.buffer_len())), send.src, send.dst,
           config_.checksums);
  if (send_built_ipv4(send, prepared->hop, seg.buffer_len(), now, sink)) c.tx_segments.inc();
}

namespace {

// Whether `seg` may follow `head` inside one TSO frame: the device copies the first segment's
// header into every segment it cuts, advancing only the sequence number (FIN and PSH go on the
// last one only, CWR on the first only), so everything else must be the same.
bool same_header_but_seq(const wire::TcpRepr& head, const wire::TcpRepr& seg) {
  return head.src_port == seg.src_port && head.dst_port == seg.dst_port &&
         head.ack_number == seg.ack_number && head.window_len == seg.window_len &&
         head.ece == seg.ece && !seg.cwr && !seg.syn && !seg.rst && !seg.urgent_pointer &&
         !seg.max_seg_size && !seg.window_scale && !seg.sack_permitted &&
         head.sack_count == seg.sack_count &&
         std::equal(head.sacks().begin(), head.sacks().end(), seg.sacks().begin()) &&
         head.timestamps == seg.timestamps;
}

}  // namespace

bool Stack::tcp_gso_join(std::uint32_t slot, const tcp::Connection& conn,
                         const wire::TcpRepr& seg) {
  GsoFrame& g = gso_;
  if (!g.active || g.slot != slot || g.head.fin || seg.payload_len == 0) return false;
  // Every segment but the last is full-sized; a short one ends the frame.
  if (g.head.payload_len != g.segments * g.seg_size || seg.payload_len > g.seg_size) return false;
  if (seg.seq_number != g.head.seq_number + static_cast<std::uint32_t>(g.head.payload_len))
    return false;
  const std::size_t header_len = wire::Ipv4View::min_header_len + g.head.header_len();
  if (header_len + g.head.payload_len + seg.payload_len > g.max_len) return false;
  if (!same_header_but_seq(g.head, seg)) return false;
  const std::size_t at = kLinkHeadroom + header_len + g.head.payload_len;
  conn.copy_payload(seg.seq_number, BytesMut(tx_datagram_).subspan(at, seg.payload_len));
  g.head.payload_len += seg.payload_len;
  g.head.fin = seg.fin;
  g.head.psh = g.head.psh || seg.psh;
  ++g.segments;
  return true;
}

bool Stack::tcp_gso_start(std::uint32_t slot, const tcp::Connection& conn,
                          const wire::TcpRepr& seg) {
  // Only a full-sized data segment, with none of the options of a SYN, may start a frame.
  if (seg.payload_len == 0 || seg.payload_len > 0xffff || seg.syn || seg.rst || seg.fin ||
      seg.urgent_pointer)
    return false;
  GsoFrame& g = gso_;
  g.send = IpSend::to(conn.tuple().local, conn.tuple().remote, IpProtocol::Tcp);
  auto hop = route(g.send);
  if (!hop) return false;
  const InterfaceConfig& cfg = interfaces_[hop->iface].config;
  const std::size_t link_len =
      cfg.medium == Medium::Ip ? 0 : interfaces_[hop->iface].vlan.header_len();
  if (cfg.gso_max_size <= link_len) return false;
  g.max_len = std::min<std::size_t>(cfg.gso_max_size - link_len, 0xffff);
  const std::size_t header_len = wire::Ipv4View::min_header_len + seg.header_len();
  // Room for at least one more segment; else it goes alone.
  if (header_len + 2 * seg.payload_len > g.max_len) return false;
  g.send.dont_frag = true;
  g.send.owner.kind = link::FrameOwner::Kind::Tcp;
  g.send.owner.socket = {slot, tcp_[slot].generation};
  g.active = true;
  g.slot = slot;
  g.hop = *hop;
  g.head = seg;
  g.seg_size = static_cast<std::uint16_t>(seg.payload_len);
  g.segments = 1;
  conn.copy_payload(seg.seq_number,
                    BytesMut(tx_datagram_).subspan(kLinkHeadroom + header_len, seg.payload_len));
  return true;
}

void Stack::tcp_gso_flush(Instant now, FrameSink& sink) {
  GsoFrame& g = gso_;
  if (!g.active) return;
  g.active = false;
  auto& c = counters_.tcp;
  const std::size_t l4_len = g.head.buffer_len();
  const BytesMut l4 =
      BytesMut(tx_datagram_).subspan(kLinkHeadroom + wire::Ipv4View::min_header_len, l4_len);
  if (g.segments == 1) {
    // Alone after all: an ordinary segment.
    g.head.emit(wire::TcpViewMut(l4), g.send.src, g.send.dst, config_.checksums);
    if (send_built_ipv4(g.send, g.hop, l4_len, now, sink)) c.tx_segments.inc();
    return;
  }
  // The device completes the checksum: the field holds the pseudo-header sum, folded, not
  // complemented (as Linux leaves it for CHECKSUM_PARTIAL).
  g.head.emit(wire::TcpViewMut(l4), g.send.src, g.send.dst, wire::ChecksumPolicy::none());
  const std::uint32_t pseudo =
      pseudo_header_sum(g.send.src, g.send.dst, static_cast<std::uint8_t>(IpProtocol::Tcp),
                        static_cast<std::uint16_t>(l4_len));
  wire::TcpViewMut(l4).set_checksum(static_cast<std::uint16_t>(~checksum_finish(pseudo)));
  g.send.gso_size = g.seg_size;
  if (send_built_ipv4(g.send, g.hop, l4_len, now, sink)) {
    c.tx_segments.inc(g.segments);
    c.tx_gso_frames.inc();
    c.tx_gso_joined.inc(g.segments);
  }
}

void Stack::tcp_settle(std::uint32_t index, Instant now, FrameSink& sink, bool defer_ack) {
  TcpSlot& s = tcp_[index];
  tcp::Connection& conn = *s.conn;
  TcpOutput out(*this, index, now, sink);
  // In the steady state, what a segment makes due (an ACK, data its ACK let out) goes at the
  // end of the receive batch (the driver's poll() after it): one ACK then covers every segment
  // of the batch, as Linux's GRO makes one ACK cover a batch, and the data every ACK of the
  // batch allows leaves together, in as few TSO frames as it can. The connection's deadline is
  // `now` meanwhile, so nothing is later than this batch. A handshake, a close or a reset goes
  // at once (TIME-WAIT's ACK too: the connection is handed to the TIME-WAIT table below).
  if (!defer_ack || !conn.may_wait_for_batch()) {
    conn.output(now, out);
    out.flush();
  }
  const std::uint8_t events = conn.take_events();
  if ((events & tcp::kEventReadable) != 0) mark_read(s);
  if ((events & tcp::kEventWritable) != 0) mark_write(s);
  if (s.embryonic && conn.state() != tcp::State::SynReceived) {
    // The handshake ended, one way or the other: out of the SYN queue.
    s.embryonic = false;
    TcpListenerSlot& l = tcp_listeners_[*s.listener];
    if (l.syn_queued > 0) --l.syn_queued;
    if (conn.synchronized() && conn.state() != tcp::State::Closed) {
      // receive_tcp held the handshake while the queue was full (set_accept_queue_full), so
      // there is room; were there none, the connection would be reset rather than lost.
      if (l.accept_queue.size() < accept_queue_limit(l)) {
        l.accept_queue.push_back(index);
        s.in_accept_queue = true;
        mark_read(l);
      } else {
        counters_.tcp.listen_overflows.inc();
        conn.abort(now);
        conn.output(now, out);
        out.flush();
      }
    }
  } else if (s.listener && !s.in_accept_queue && conn.synchronized() &&
             conn.state() != tcp::State::Closed) {
    // A SYN-cookie connection is established at once.
    TcpListenerSlot& l = tcp_listeners_[*s.listener];
    l.accept_queue.push_back(index);
    s.in_accept_queue = true;
    mark_read(l);
  }
  if (conn.state() == tcp::State::TimeWait) tcp_park_time_wait(index);
  if (conn.state() == tcp::State::Closed && !s.open && !s.in_accept_queue &&
      conn.next_deadline() == kNever) {
    tcp_release(index);
  }
}

// TIME-WAIT lives in the small table; the connection itself closes and its slot is free.
void Stack::tcp_park_time_wait(std::uint32_t index) {
  TcpSlot& s = tcp_[index];
  tcp::Connection& conn = *s.conn;
  tcp_time_wait_.insert(conn.time_wait_entry());
  if (s.in_map) {
    tcp_map_.erase(conn.tuple());
    s.in_map = false;
  }
  conn.hand_off_time_wait();
  const std::uint8_t events = conn.take_events();
  if ((events & tcp::kEventReadable) != 0) mark_read(s);
  if ((events & tcp::kEventWritable) != 0) mark_write(s);
}

void Stack::tcp_activate(std::uint32_t index, const tcp::FourTuple& tuple) {
  TcpSlot& s = tcp_[index];
  s.live = true;
  // A CLOSED connection still held by its handle may keep the 4-tuple in the map; the new
  // incarnation takes it over.
  if (const auto old = tcp_map_.find(tuple);
      old && *old != index && tcp_[*old].conn->state() == tcp::State::Closed) {
    tcp_map_.erase(tuple);
    tcp_[*old].in_map = false;
  }
  s.in_map = tcp_map_.insert(tuple, index);
  s.live_index = static_cast<std::uint32_t>(tcp_live_.size());
  tcp_live_.push_back(index);
}

void Stack::tcp_release(std::uint32_t index) {
  TcpSlot& s = tcp_[index];
  if (!s.live) return;
  if (s.in_map) tcp_map_.erase(s.conn->tuple());
  s.in_map = false;
  // Out of the live list: the last one takes this one's place.
  const std::uint32_t last = tcp_live_.back();
  tcp_live_[s.live_index] = last;
  tcp_[last].live_index = s.live_index;
  tcp_live_.pop_back();
  s.live = false;
  s.embryonic = false;
  s.in_accept_queue = false;
  s.listener.reset();
  s.bound = false;
}

void Stack::poll_tcp(Instant now, FrameSink& sink) {
  tcp_time_wait_.expire(now);
  // Backwards: a release moves the last live slot into the released one's place, which has
  // then been visited already.
  for (std::size_t k = tcp_live_.size(); k-- > 0;) {
    const std::uint32_t i = tcp_live_[k];
    if (tcp_[i].conn->next_deadline() > now) continue;
    tcp_[i].conn->poll(now);
    tcp_settle(i, now, sink);
  }
}

Instant Stack::tcp_next_deadline() const {
  Instant next = tcp_time_wait_.next_expiry();
  for (const std::uint32_t i : tcp_live_)
    next = std::min(next, tcp_[i].conn->next_deadline());
  return next;
}

// ---- Tables --------------------------------------------------------------------------------

std::optional<std::uint32_t> Stack::tcp_find(const tcp::FourTuple& tuple) const {
  // RFC 9293 §3.10.7.1: a CLOSED connection (kept only for its handle) takes no segments; they
  // get the CLOSED reply (a RST) or go to a listener.
  const auto slot = tcp_map_.find(tuple);
  if (slot && tcp_[*slot].conn->state() == tcp::State::Closed) return std::nullopt;
  return slot;
}

std::optional<std::uint32_t> Stack::tcp_find_listener(Ipv4Address addr, std::uint16_t port) const {
  std::optional<std::uint32_t> wildcard;
  for (std::uint32_t i = 0; i < tcp_listeners_.size(); ++i) {
    const TcpListenerSlot& l = tcp_listeners_[i];
    if (!l.open || l.local.port != port) continue;
    if (l.local.address == addr) return i;  // the more specific binding wins
    if (l.local.address.is_unspecified()) wildcard = i;
  }
  return wildcard;
}

std::optional<std::uint32_t> Stack::tcp_free_slot() {
  for (std::uint32_t i = 0; i < tcp_.size(); ++i)
    if (!tcp_[i].open && !tcp_[i].live) return i;
  return std::nullopt;
}

tcp::Connection& Stack::tcp_prepare(TcpSlot& s) {
  if (!s.conn) {
    s.conn = std::make_unique<tcp::Connection>(s.config);
  } else {
    s.conn->reset(s.config);
  }
  return *s.conn;
}

bool Stack::tcp_port_in_use(std::uint16_t port, Ipv4Address addr) const {
  const auto same = [&](Ipv4Address a) {
    return addr.is_unspecified() || a.is_unspecified() || a == addr;
  };
  for (const auto& l : tcp_listeners_)
    if (l.open && l.local.port == port && same(l.local.address)) return true;
  for (const auto& s : tcp_) {
    if (s.open && s.bound && s.local.port == port && same(s.local.address)) return true;
    if (s.live && s.conn->tuple().local_port == port && same(s.conn->tuple().local)) return true;
  }
  return false;
}

std::size_t Stack::tcp_mtu(Ipv4Address dst, Instant now) const {
  const auto hop = routes_.lookup(dst);
  if (!hop) return 576;
  const std::size_t link_mtu = interfaces_[hop->iface].config.mtu;
  return path_mtu_.mtu(dst, link_mtu, now);
}

// RFC 1122 §4.2.3.9 and RFC 1191: ICMP errors about a segment of ours.
void Stack::tcp_icmp_error(const wire::Ipv4Repr& quoted, Bytes quoted_payload,
                           std::error_code error, bool frag_needed, Instant now) {
  if (quoted_payload.size() < 8) return;
  const tcp::FourTuple tuple{quoted.src, load_be16(quoted_payload, 0), quoted.dst,
                             load_be16(quoted_payload, 2)};
  const auto slot = tcp_find(tuple);
  if (!slot) return;
  tcp::Connection& conn = *tcp_[*slot].conn;
  // RFC 5927 §4.1 (as Linux): only about a sequence number in flight.
  const SeqNum seq(load_be32(quoted_payload, 4));
  if (seq < conn.snd_una() - 1 || seq > conn.snd_nxt()) return;
  if (frag_needed) {
    conn.on_path_mtu(tcp_mtu(tuple.remote, now));
    return;
  }
  const bool hard = error == std::errc::connection_refused;
  conn.on_icmp_error(error, hard);
  if (conn.state() == tcp::State::Closed) {
    const std::uint8_t events = conn.take_events();
    if ((events & tcp::kEventReadable) != 0) mark_read(tcp_[*slot]);
    if ((events & tcp::kEventWritable) != 0) mark_write(tcp_[*slot]);
  }
}

Stack::TcpSlot* Stack::tcp_slot(SocketId id) {
  if (id.slot >= tcp_.size()) return nullptr;
  TcpSlot& s = tcp_[id.slot];
  return s.open && s.generation == id.generation ? &s : nullptr;
}
const Stack::TcpSlot* Stack::tcp_slot(SocketId id) const {
  return const_cast<Stack*>(this)->tcp_slot(id);
}
Stack::TcpListenerSlot* Stack::tcp_listener_slot(SocketId id) {
  if (id.slot >= tcp_listeners_.size()) return nullptr;
  TcpListenerSlot& l = tcp_listeners_[id.slot];
  return l.open && l.generation == id.generation ? &l : nullptr;
}
const Stack::TcpListenerSlot* Stack::tcp_listener_slot(SocketId id) const {
  return const_cast<Stack*>(this)->tcp_listener_slot(id);
}

tcp::ConnectionCounters Stack::tcp_connection_totals() const {
  tcp::ConnectionCounters total;
  for (const auto& s : tcp_)
    if (s.conn) total.add(s.conn->counters());
  return total;
}

// ---- Opening sockets -----------------------------------------------------------------------

Result<TcpSocket> Stack::tcp_socket() {
  const auto slot = tcp_free_slot();
  if (!slot) return tl::unexpected(std::make_error_code(std::errc::too_many_files_open));
  TcpSlot& s = tcp_[*slot];
  const std::uint32_t generation = s.generation + 1 == 0 ? 1 : s.generation + 1;
  auto conn = std::move(s.conn);
  s = TcpSlot{};
  s.conn = std::move(conn);
  s.generation = generation;
  s.open = true;
  s.config = config_.tcp;
  return TcpSocket(this, {*slot, generation});
}

Result<TcpListener> Stack::tcp_listen(Ipv4Endpoint local, std::size_t backlog) {
  if (!local.address.is_unspecified() && !is_local_address(local.address))
    return tl::unexpected(std::make_error_code(std::errc::address_not_available));
  if (local.port == 0) {
    const auto port = ephemeral_port(true);
    if (!port) return tl::unexpected(std::make_error_code(std::errc::address_in_use));
    local.port = *port;
  } else if (tcp_port_in_use(local.port, local.address)) {
    return tl::unexpected(std::make_error_code(std::errc::address_in_use));
  }
  for (std::uint32_t i = 0; i < tcp_listeners_.size(); ++i) {
    TcpListenerSlot& l = tcp_listeners_[i];
    if (l.open) continue;
    const std::uint32_t generation = l.generation + 1 == 0 ? 1 : l.generation + 1;
    auto queue = std::move(l.accept_queue);
    l = TcpListenerSlot{};
    l.generation = generation;
    l.open = true;
    l.local = local;
    // Linux: the backlog is capped at somaxconn, and 0 still admits one connection.
    l.backlog = std::clamp<std::size_t>(backlog, 1, config_.tcp_max_backlog);
    l.accept_queue = std::move(queue);
    l.accept_queue.clear();
    l.accept_queue.reserve(accept_queue_limit(l));
    return TcpListener(this, {i, generation});
  }
  return tl::unexpected(std::make_error_code(std::errc::too_many_files_open));
}

// ---- TcpSocket -----------------------------------------------------------------------------

namespace {

bool sending_state(tcp::State s) {
  return s == tcp::State::Established || s == tcp::State::CloseWait;
}

}  // namespace

Result<void> TcpSocket::bind(Ipv4Endpoint local) {
  if (stack_ == nullptr) return fail(std::errc::bad_file_descriptor);
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return fail(std::errc::bad_file_descriptor);
  if (s->live || s->bound) return fail(std::errc::invalid_argument);
  if (!local.address.is_unspecified() && !stack_->is_local_address(local.address))
    return fail(std::errc::address_not_available);
  if (local.port == 0) {
    const auto port = stack_->ephemeral_port(true);
    if (!port) return fail(std::errc::address_in_use);
    local.port = *port;
  } else if (stack_->tcp_port_in_use(local.port, local.address)) {
    return fail(std::errc::address_in_use);
  }
  s->local = local;
  s->bound = true;
  return {};
}

Result<void> TcpSocket::connect(Ipv4Endpoint remote) {
  if (stack_ == nullptr) return fail(std::errc::bad_file_descriptor);
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return fail(std::errc::bad_file_descriptor);
  if (s->live) return fail(std::errc::already_connected);
  if (remote.port == 0 || remote.address.is_unspecified() || remote.address.is_broadcast())
    return fail(std::errc::invalid_argument);
  Stack::IpSend probe = Stack::IpSend::to(s->local.address, remote.address, IpProtocol::Tcp);
  auto hop = stack_->route(probe);
  if (!hop) return tl::unexpected(hop.error());
  if (!s->bound) {
    // An ephemeral port whose 4-tuple is free of connections and TIME-WAIT (as Linux's
    // __inet_hash_connect): a random start, then every port once (RFC 6056 §3.3.1).
    const std::uint32_t lo = stack_->config_.ephemeral_port_min;
    const std::uint32_t count = std::uint32_t{stack_->config_.ephemeral_port_max} - lo + 1;
    const std::uint32_t start = stack_->random_.below(count);
    std::optional<std::uint16_t> port;
    for (std::uint32_t i = 0; i < count && !port; ++i) {
      const auto p = static_cast<std::uint16_t>(lo + (start + i) % count);
      const tcp::FourTuple t{probe.src, p, remote.address, remote.port};
      if (!stack_->tcp_port_in_use(p, s->local.address) && !stack_->tcp_time_wait_.find(t))
        port = p;
    }
    if (!port) return fail(std::errc::address_not_available);  // Linux: EADDRNOTAVAIL
    s->local.port = *port;
    s->bound = true;
  }
  const tcp::FourTuple tuple{probe.src, s->local.port, remote.address, remote.port};
  // The 4-tuple must be free: no connection, and no TIME-WAIT (RFC 9293 §3.4.1 quiet time).
  if (stack_->tcp_find(tuple) || stack_->tcp_time_wait_.find(tuple))
    return fail(std::errc::address_in_use);
  const Instant now = stack_->last_now_;
  tcp::Connection& conn = stack_->tcp_prepare(*s);
  conn.connect(
      tuple, stack_->isn_.isn(tuple.local, tuple.local_port, tuple.remote, tuple.remote_port, now),
      stack_->tcp_mtu(remote.address, now), now);
  stack_->tcp_activate(id_.slot, tuple);
  stack_->counters_.tcp.active_opens.inc();
  return {};
}

Result<std::size_t> TcpSocket::send(Bytes data) {
  if (stack_ == nullptr)
    return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  if (!s->live) return tl::unexpected(std::make_error_code(std::errc::not_connected));
  tcp::Connection& conn = *s->conn;
  if (conn.error()) return tl::unexpected(conn.error());
  if (conn.send_shut()) return tl::unexpected(std::make_error_code(std::errc::broken_pipe));
  const tcp::State st = conn.state();
  if (st == tcp::State::SynSent || st == tcp::State::SynReceived)
    return tl::unexpected(std::make_error_code(std::errc::operation_would_block));
  if (!sending_state(st)) return tl::unexpected(std::make_error_code(std::errc::broken_pipe));
  if (data.empty()) return std::size_t{0};
  const std::size_t n = conn.send(data);
  if (n == 0) return tl::unexpected(std::make_error_code(std::errc::operation_would_block));
  return n;
}

Result<std::size_t> TcpSocket::recv(BytesMut out) {
  if (stack_ == nullptr)
    return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  if (!s->live) return tl::unexpected(std::make_error_code(std::errc::not_connected));
  tcp::Connection& conn = *s->conn;
  if (out.empty()) return std::size_t{0};
  const std::size_t n = conn.recv(out);
  if (n > 0) return n;
  if (conn.fin_received()) return std::size_t{0};
  if (conn.error()) return tl::unexpected(conn.error());
  if (conn.state() == tcp::State::Closed) return std::size_t{0};
  return tl::unexpected(std::make_error_code(std::errc::operation_would_block));
}

Result<void> TcpSocket::shutdown_send() {
  if (stack_ == nullptr) return fail(std::errc::bad_file_descriptor);
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return fail(std::errc::bad_file_descriptor);
  // As Linux: shutdown() before the handshake ends is not_connected (close() is the way to
  // give up a connection attempt).
  if (!s->live || s->conn->state() == tcp::State::SynSent) return fail(std::errc::not_connected);
  s->conn->shutdown_send(stack_->last_now_);
  return {};
}

void TcpSocket::close() {
  if (stack_ == nullptr) return;
  if (auto* s = stack_->tcp_slot(id_)) {
    s->open = false;
    s->read_waker = nullptr;
    s->write_waker = nullptr;
    s->wake_read = s->wake_write = false;
    if (s->live) {
      tcp::Connection& conn = *s->conn;
      // RFC 2525 §2.17 (as Linux): closing with unread data resets the connection.
      if (conn.readable() > 0) {
        conn.abort(stack_->last_now_);
      } else {
        conn.shutdown_send(stack_->last_now_);
        conn.orphan(stack_->last_now_);
      }
      if (conn.state() == tcp::State::Closed && conn.next_deadline() == kNever)
        stack_->tcp_release(id_.slot);
    }
  }
  stack_ = nullptr;
  id_ = {};
}

void TcpSocket::abort() {
  if (stack_ == nullptr) return;
  if (auto* s = stack_->tcp_slot(id_); s != nullptr && s->live) {
    s->conn->abort(stack_->last_now_);
  }
  close();
}

tcp::State TcpSocket::state() const {
  const tcp::Connection* c = connection();
  return c != nullptr ? c->state() : tcp::State::Closed;
}

std::error_code TcpSocket::error() const {
  const tcp::Connection* c = connection();
  return c != nullptr ? c->error() : std::error_code{};
}

const tcp::Connection* TcpSocket::connection() const {
  if (stack_ == nullptr) return nullptr;
  const auto* s = stack_->tcp_slot(id_);
  return s != nullptr && s->live ? s->conn.get() : nullptr;
}

Result<Ipv4Endpoint> TcpSocket::local_endpoint() const {
  if (stack_ == nullptr)
    return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  const auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  if (s->live) return Ipv4Endpoint{s->conn->tuple().local, s->conn->tuple().local_port};
  return s->local;
}

Result<Ipv4Endpoint> TcpSocket::remote_endpoint() const {
  const tcp::Connection* c = connection();
  if (stack_ == nullptr || stack_->tcp_slot(id_) == nullptr)
    return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  if (c == nullptr) return tl::unexpected(std::make_error_code(std::errc::not_connected));
  return Ipv4Endpoint{c->tuple().remote, c->tuple().remote_port};
}

bool TcpSocket::readable() const {
  const tcp::Connection* c = connection();
  if (c == nullptr) return stack_ != nullptr;  // not connected: recv() reports it at once
  return c->readable() > 0 || c->fin_received() || static_cast<bool>(c->error()) ||
         c->state() == tcp::State::Closed;
}

bool TcpSocket::writable() const {
  const tcp::Connection* c = connection();
  if (c == nullptr) return stack_ != nullptr;
  if (c->error() || c->send_shut() || c->state() == tcp::State::Closed) return true;
  return sending_state(c->state()) && c->send_space() > 0;
}

std::size_t TcpSocket::unacknowledged() const {
  const tcp::Connection* c = connection();
  return c != nullptr ? c->send_buffer().buffered() : 0;
}

Result<void> TcpSocket::set_no_delay(bool on) {
  if (stack_ == nullptr) return fail(std::errc::bad_file_descriptor);
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return fail(std::errc::bad_file_descriptor);
  s->config.no_delay = on;
  if (s->live) s->conn->set_no_delay(on);
  return {};
}

Result<void> TcpSocket::set_keep_alive(const tcp::KeepAliveConfig& keep_alive) {
  if (stack_ == nullptr) return fail(std::errc::bad_file_descriptor);
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return fail(std::errc::bad_file_descriptor);
  if (keep_alive.enabled &&
      (keep_alive.idle <= Duration::zero() || keep_alive.interval <= Duration::zero()))
    return fail(std::errc::invalid_argument);
  s->config.keep_alive = keep_alive;
  if (s->live) s->conn->set_keep_alive(keep_alive, stack_->last_now_);
  return {};
}

Result<void> TcpSocket::set_buffer_sizes(std::size_t recv_bytes, std::size_t send_bytes) {
  if (stack_ == nullptr) return fail(std::errc::bad_file_descriptor);
  auto* s = stack_->tcp_slot(id_);
  if (s == nullptr) return fail(std::errc::bad_file_descriptor);
  if (s->live) return fail(std::errc::already_connected);
  if (recv_bytes > tcp::RecvBuffer::max_capacity || send_bytes > tcp::SendBuffer::max_capacity)
    return fail(std::errc::invalid_argument);
  if (recv_bytes != 0) s->config.recv.capacity = recv_bytes;
  if (send_bytes != 0) s->config.send.capacity = send_bytes;
  return {};
}

void TcpSocket::set_read_waker(Waker waker) {
  if (stack_ == nullptr) return;
  if (auto* s = stack_->tcp_slot(id_)) s->read_waker = std::move(waker);
}

void TcpSocket::set_write_waker(Waker waker) {
  if (stack_ == nullptr) return;
  if (auto* s = stack_->tcp_slot(id_)) s->write_waker = std::move(waker);
}

// ---- TcpListener ---------------------------------------------------------------------------

Result<TcpSocket> TcpListener::accept() {
  if (stack_ == nullptr)
    return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  auto* l = stack_->tcp_listener_slot(id_);
  if (l == nullptr) return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  if (l->accept_queue.empty())
    return tl::unexpected(std::make_error_code(std::errc::operation_would_block));
  const std::uint32_t index = l->accept_queue.front();
  l->accept_queue.erase(l->accept_queue.begin());
  Stack::TcpSlot& s = stack_->tcp_[index];
  s.in_accept_queue = false;
  s.listener.reset();
  s.open = true;
  s.wake_read = s.wake_write = false;
  s.read_waker = nullptr;
  s.write_waker = nullptr;
  return TcpSocket(stack_, {index, s.generation});
}

bool TcpListener::readable() const {
  if (stack_ == nullptr) return false;
  const auto* l = stack_->tcp_listener_slot(id_);
  return l != nullptr && !l->accept_queue.empty();
}

Result<Ipv4Endpoint> TcpListener::local_endpoint() const {
  if (stack_ == nullptr)
    return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  const auto* l = stack_->tcp_listener_slot(id_);
  if (l == nullptr) return tl::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  return l->local;
}

void TcpListener::set_read_waker(Waker waker) {
  if (stack_ == nullptr) return;
  if (auto* l = stack_->tcp_listener_slot(id_)) l->read_waker = std::move(waker);
}

void TcpListener::close() {
  if (stack_ == nullptr) return;
  if (auto* l = stack_->tcp_listener_slot(id_)) {
    l->open = false;
    l->read_waker = nullptr;
    l->accept_queue.clear();
    // Connections not yet accepted are reset (as Linux's inet_csk_listen_stop).
    for (auto& s : stack_->tcp_) {
      if (!s.live || !s.listener || *s.listener != id_.slot) continue;
      s.listener.reset();
      s.embryonic = false;
      s.in_accept_queue = false;
      s.conn->abort(stack_->last_now_);
    }
  }
  stack_ = nullptr;
  id_ = {};
}

}  // namespace tapir
