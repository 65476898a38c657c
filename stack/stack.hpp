// Stack: the sans-IO core. It owns interfaces, routes, the neighbour cache, reassembly and the
// sockets. The caller (the Asio runner, a simulation, a test, a fuzz target) drives it:
//
//   auto stack = Stack::create(config);                  // validates, allocates everything
//   auto eth0 = stack->add_interface({.mac = m, .address = *Ipv4Cidr::parse("10.0.0.2/24")});
//   stack->receive(*eth0, frame, now, sink);  // a frame arrived; replies go to sink at once
//   stack->poll(now, sink);                   // sends what sockets and timers have due
//   auto when = stack->next_deadline();       // call poll() again no later than this
//
// Nothing here reads a clock, sleeps or makes a syscall: time is an argument, frames leave
// through the FrameSink, and wakers (socket readiness) fire at the end of receive() and poll().
// Every frame dropped is counted (counters(), for_each_counter()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "stack/base/counters.hpp"
#include "stack/base/datagram_queue.hpp"
#include "stack/base/error.hpp"
#include "stack/base/frame_info.hpp"
#include "stack/base/random.hpp"
#include "stack/config.hpp"
#include "stack/ip/path_mtu.hpp"
#include "stack/ip/reassembler.hpp"
#include "stack/ip/route_table.hpp"
#include "stack/link/neighbor_cache.hpp"
#include "stack/link/vlan_key.hpp"
#include "stack/socket/icmp_socket.hpp"
#include "stack/socket/tcp_socket.hpp"
#include "stack/socket/udp_socket.hpp"
#include "stack/stack_counters.hpp"
#include "stack/tcp/isn.hpp"
#include "stack/tcp/syn_cookie.hpp"
#include "stack/tcp/time_wait.hpp"
#include "stack/tcp/tuple_map.hpp"
#include "stack/wire/arp.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"

namespace tapir {

// Where the stack's frames go: a driver writes them to the device behind `iface`, always an
// interface without a link (a tagged interface's frames go out, tagged, through its link's
// device). `frame` is valid only during the call.
class FrameSink {
 public:
  virtual void transmit(InterfaceId iface, Bytes frame) = 0;
  // A frame with offloads for the device to finish (a TSO frame, frame_info.hpp). The stack
  // sends these only on interfaces with InterfaceConfig::gso_max_size, so only a sink whose
  // devices can take them needs to override this.
  virtual void transmit_offloaded(InterfaceId iface, Bytes frame, const FrameInfo& info) {
    (void)info;
    transmit(iface, frame);
  }

 protected:
  ~FrameSink() = default;
};

// Sees every frame in and out (for trace logs); set with Stack::set_tracer. The stack calls it
// only when one is set, and formats nothing itself. `iface` is the device's interface (the one
// without a link) and the frame is as on the wire, tags and their PCP/DEI included.
class FrameTracer {
 public:
  virtual void on_frame(InterfaceId iface, Medium medium, bool outgoing, Bytes frame) = 0;

 protected:
  ~FrameTracer() = default;
};

class Stack {
 public:
  // One error for a bad configuration, std::errc::invalid_argument with no further detail;
  // validate() says what is wrong in words.
  static Result<std::unique_ptr<Stack>> create(const StackConfig& config);
  // Empty if the configuration is usable, else one sentence naming the bad field.
  static std::string validate(const StackConfig& config);

  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack();

  // Adds an interface with its address; its prefix becomes a connected route. On Ethernet, the
  // next poll() announces the address (RFC 5227 §2.3). invalid_argument for a bad MAC, an MTU
  // outside 68..max_mtu or an unspecified address, a VID or S-VID outside 1..4094, a PCP above
  // 7, tags or a link on a Medium::Ip interface, a link that is not an Ethernet interface
  // without a link of its own, an MTU above the link's, or a (service_vlan, vlan) pair the
  // device already carries; no_buffer_space past max_interfaces.
  Result<InterfaceId> add_interface(const InterfaceConfig& config);
  // A route through a gateway (the gateway must be on a connected prefix) or, without one,
  // directly on iface. The default route is prefix 0.0.0.0/0.
  Result<void> add_route(Ipv4Cidr prefix, std::optional<Ipv4Address> gateway,
                         std::optional<InterfaceId> iface = std::nullopt);
  Result<void> set_default_gateway(Ipv4Address gateway) {
    return add_route(*Ipv4Cidr::make(Ipv4Address::any(), 0), gateway);
  }
  const InterfaceConfig& interface(InterfaceId iface) const { return interfaces_.at(iface).config; }
  std::size_t interface_count() const { return interfaces_.size(); }

  // A frame arrived on iface at `now` (an Ethernet frame, or an IP packet on a Medium::Ip
  // interface). Replies (ARP, ICMP) and frames released by a resolution go to sink before it
  // returns. The frame is taken from the device of iface (iface itself if it has no link) and
  // given to the interface its VLAN tags name. `info` carries the device's offloads: with
  // checksum_trusted the TCP and UDP checksums are not checked (the kernel on the other side
  // of a TAP left them to the device).
  void receive(InterfaceId iface, Bytes frame, Instant now, FrameSink& sink,
               const FrameInfo& info = {});
  // Emits what is due at `now`: queued socket datagrams, ARP requests and announcements, ICMP
  // errors for expired reassemblies.
  void poll(Instant now, FrameSink& sink);
  // When poll() must next be called, or kNever. Sockets with queued data make it due at once:
  // the `now` of the last receive() or poll() call (a time already past).
  Instant next_deadline() const;

  Result<UdpSocket> udp_socket();
  Result<IcmpSocket> icmp_socket();
  // A TCP socket for an active open (connect()); too_many_files_open with no free slot.
  Result<TcpSocket> tcp_socket();
  // A listener on local (any address, or one of the stack's; port 0 picks an ephemeral one)
  // with at most `backlog` connections waiting in each of its SYN and accept queues (RFC 9293
  // §3.10.7.2; Linux's listen() backlog).
  Result<TcpListener> tcp_listen(Ipv4Endpoint local, std::size_t backlog = 128);

  // How many wakers the stack has called so far. A driver that sees it grow during receive()
  // knows the app has work queued that may answer at once (a reply, a close), and may poll
  // after that work rather than before, so the answer carries the ACK it owes.
  std::uint64_t wakers_fired() const { return wakers_fired_; }

  void set_tracer(FrameTracer* tracer) { tracer_ = tracer; }
  const StackCounters& counters() const { return counters_; }
  // Every counter of the stack, by name, in a fixed order.
  template <class F>
  void for_each_counter(F&& f) const {
    counters_.for_each_counter(f);
    tcp_connection_totals().for_each_counter(f);
    tcp_time_wait_.for_each_counter(f);
    neighbors_.counters().for_each_counter(f);
    reassembler_.counters().for_each_counter(f);
    path_mtu_.counters().for_each_counter(f);
  }
  const link::NeighborCache& neighbors() const { return neighbors_; }
  const ip::RouteTable& routes() const { return routes_; }
  const ip::PathMtuCache& path_mtu() const { return path_mtu_; }
  const ip::Reassembler& reassembler() const { return reassembler_; }
  const StackConfig& config() const { return config_; }

 private:
  friend class UdpSocket;
  friend class IcmpSocket;
  friend class TcpSocket;
  friend class TcpListener;

  struct Interface {
    InterfaceConfig config;
    InterfaceId device = 0;   // the interface without a link whose device carries this one
    link::VlanKey vlan;       // the tags of its frames
    bool has_tagged = false;  // a device's interface: it carries more than itself
    unsigned announcements_left = 0;
    Instant next_announcement{};
  };

  struct UdpSlot {
    std::uint32_t generation = 0;
    bool open = false;
    bool bound = false;
    bool dont_frag = false;
    bool wake_read = false, wake_write = false;
    Ipv4Endpoint local;
    std::optional<Ipv4Endpoint> remote;
    std::error_code error;  // reported once by the next call
    std::optional<DatagramQueue> rx, tx;
    Waker read_waker, write_waker;
  };
  struct IcmpSlot {
    std::uint32_t generation = 0;
    bool open = false;
    bool wake_read = false, wake_write = false;
    std::uint16_t ident = 0;
    std::error_code error;
    std::optional<DatagramQueue> rx, tx;
    Waker read_waker, write_waker;
  };

  struct TcpSlot {
    std::uint32_t generation = 0;
    bool open = false;  // a TcpSocket refers to it
    bool live = false;  // a connection is in it (connecting, connected or closing)
    bool bound = false;
    bool embryonic = false;        // in SYN-RECEIVED, counted in its listener's SYN queue
    bool in_accept_queue = false;  // established, waiting for accept()
    bool in_map = false;           // its 4-tuple is in tcp_map_
    std::uint32_t live_index = 0;  // its place in tcp_live_
    bool wake_read = false, wake_write = false;
    std::optional<std::uint32_t> listener;  // the listener's slot, until accepted
    Ipv4Endpoint local;                     // bound before connect
    tcp::ConnectionConfig config;
    Waker read_waker, write_waker;
    std::unique_ptr<tcp::Connection> conn;  // allocated on first use, then kept
  };
  struct TcpListenerSlot {
    std::uint32_t generation = 0;
    bool open = false;
    bool wake_read = false, wake_write = false;
    Ipv4Endpoint local;
    std::size_t backlog = 0;
    std::size_t syn_queued = 0;
    std::vector<std::uint32_t> accept_queue;  // connection slots, oldest first
    Waker read_waker, write_waker;
  };
  struct TcpOutput;
  // New SYNs are dropped once `backlog` connections wait for accept(); the handshakes already
  // under way (at most `backlog` in the SYN queue, and SYN cookies) may still complete into the
  // queue up to twice that, so a burst of clients is not reset for arriving together (Linux
  // likewise lets handshakes in flight complete, dropping their final ACK until there is room).
  static std::size_t accept_queue_limit(const TcpListenerSlot& l) { return 2 * l.backlog; }

  // What the IP output path needs to know about one datagram.
  struct IpSend {
    Ipv4Address src;  // unspecified: the outgoing interface's address
    Ipv4Address dst;
    wire::IpProtocol protocol{};
    std::uint8_t ttl = 0;  // 0: the default
    bool dont_frag = false;
    std::optional<std::uint16_t> ident;  // none: the next of the stack's counter
    std::uint8_t dscp = 0;
    wire::Ipv4Options options;  // sent in the first fragment; the copied ones in every fragment
    // A forwarded fragment being cut again (RFC 791 §3.2): where its payload starts in the
    // original datagram, and whether more of it follows.
    std::uint16_t frag_offset = 0;
    bool more_frags = false;
    link::FrameOwner owner;
    // A TSO frame (frame_info.hpp): the device cuts it into segments of this much payload, so
    // it is never fragmented; its transport checksum is partial.
    std::uint16_t gso_size = 0;

    static IpSend to(Ipv4Address src, Ipv4Address dst, wire::IpProtocol protocol) {
      IpSend s;
      s.src = src;
      s.dst = dst;
      s.protocol = protocol;
      return s;
    }
  };

  // Room before an IPv4 datagram in a transmit buffer for its link header: Ethernet and up to
  // two VLAN tags (802.1ad S-tag and 802.1Q C-tag). A header shorter than that starts later.
  static constexpr std::size_t kLinkHeadroom = link::kMaxLinkHeaderLen;
  // RFC 1122 §3.2.2 / RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as keeps
  // the whole error within 576 bytes (as Linux does).
  static constexpr std::size_t kIcmpErrorMaxLen = 576;

  explicit Stack(const StackConfig& config);

  // Link layer.
  void receive_ethernet(InterfaceId device, Bytes frame, Instant now, FrameSink& sink);
  // The interface on `device` for frames with these tags, if any.
  std::optional<InterfaceId> vlan_interface(InterfaceId device, const link::VlanKey& key) const;
  void receive_arp(InterfaceId iface, Bytes packet, Instant now, FrameSink& sink);
  void send_arp(InterfaceId iface, const wire::ArpRepr& arp, MacAddress dst, FrameSink& sink);
  // Sends the IPv4 datagram of `len` bytes that starts kLinkHeadroom bytes into `buffer` (room
  // for the Ethernet header and tags; the buffer holds at least kLinkHeadroom + 60 bytes) to
  // next_hop on iface: transmits, or queues it until ARP resolves next_hop.
  // A TSO frame (gso_size != 0) goes only to a resolved neighbour, never queued.
  void link_output(InterfaceId iface, Ipv4Address next_hop, BytesMut buffer, std::size_t len,
                   const link::FrameOwner& owner, Instant now, FrameSink& sink,
                   std::uint16_t gso_size = 0);
  void transmit(InterfaceId iface, Bytes frame, FrameSink& sink, const FrameInfo* info = nullptr);
  void poll_link(Instant now, FrameSink& sink);

  // Network layer.
  void receive_ipv4(InterfaceId iface, Bytes packet, Instant now, FrameSink& sink);
  void deliver_ipv4(InterfaceId iface, const wire::Ipv4Repr& ip, Bytes payload, Instant now,
                    FrameSink& sink);
  void forward_ipv4(Bytes packet, const wire::Ipv4Repr& ip, Instant now, FrameSink& sink);
  bool is_local_address(Ipv4Address a) const;
  bool is_broadcast_for(InterfaceId iface, Ipv4Address a) const;
  // Sending one datagram takes two steps: prepare_ipv4() routes it (filling in the source
  // address) and returns the span of tx_datagram_ where its transport payload of l4_len bytes
  // goes; the caller writes it there; send_built_ipv4() adds the header and sends it, in
  // fragments above the MTU (RFC 791 §3.2).
  struct Prepared {
    ip::NextHop hop;
    BytesMut l4;
  };
  Result<Prepared> prepare_ipv4(IpSend& send, std::size_t l4_len);
  Result<void> send_built_ipv4(const IpSend& send, const ip::NextHop& hop, std::size_t l4_len,
                               Instant now, FrameSink& sink);
  // Picks the route and fills in the source address; network_unreachable if there is none.
  Result<ip::NextHop> route(IpSend& send) const;

  // ICMP.
  void receive_icmp(const wire::Ipv4Repr& ip, Bytes payload, Instant now, FrameSink& sink);
  // RFC 1122 §3.2.2: an ICMP error (`error` without its quote) about the datagram whose header
  // and payload are given; the quote is filled in here.
  void send_icmp_error(wire::Icmpv4Repr::Message error, const wire::Ipv4Repr& offender,
                       Bytes offender_payload, Instant now, FrameSink& sink);
  void icmp_error_to_sockets(const wire::Ipv4Repr& quoted, Bytes quoted_payload,
                             std::error_code error, Bytes message, const wire::Ipv4Repr& ip);
  bool icmp_rate_allows(Instant now);
  // RFC 1191: a fragmentation-needed message about a datagram of ours lowers its path's MTU.
  void learn_path_mtu(const wire::Ipv4Repr& quoted, std::uint16_t next_hop_mtu, Instant now);

  // TCP (stack_tcp.cpp).
  void receive_tcp(InterfaceId iface, const wire::Ipv4Repr& ip, Bytes payload, Instant now,
                   FrameSink& sink);
  void send_reset_for(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, Instant now,
                      FrameSink& sink);
  void listener_input(std::uint32_t listener, const tcp::FourTuple& tuple, const wire::TcpRepr& seg,
                      Bytes payload, const wire::Ipv4Repr& ip, Instant now, FrameSink& sink,
                      std::optional<wire::SeqNum> iss = std::nullopt);
  void send_syn_cookie(const tcp::FourTuple& tuple, const wire::TcpRepr& syn, Instant now,
                       FrameSink& sink);
  bool accept_syn_cookie(std::uint32_t listener, const tcp::FourTuple& tuple,
                         const wire::TcpRepr& seg, Bytes payload, Instant now, FrameSink& sink);
  void tcp_transmit(std::uint32_t slot, const tcp::FourTuple& tuple, const wire::TcpRepr& seg,
                    const tcp::Connection* conn, Instant now, FrameSink& sink);
  // TSO (frame_info.hpp): a connection's back-to-back full-sized segments are built one after
  // another into tx_datagram_ as one frame, sent by tcp_gso_flush() when a segment cannot
  // join (or the connection's output ends).
  struct GsoFrame {
    bool active = false;
    std::uint32_t slot = 0;
    IpSend send;
    ip::NextHop hop;
    wire::TcpRepr head;          // the first segment's header; payload_len: all of them so far
    std::uint16_t seg_size = 0;  // the payload of every segment but the last
    std::size_t segments = 0;
    std::size_t max_len = 0;  // the largest IP datagram the interface's device cuts
  };
  bool tcp_gso_join(std::uint32_t slot, const tcp::Connection& conn, const wire::TcpRepr& seg);
  bool tcp_gso_start(std::uint32_t slot, const tcp::Connection& conn, const wire::TcpRepr& seg);
  void tcp_gso_flush(Instant now, FrameSink& sink);
  // After a connection worked: sends what it owes, fires its events, moves it from the SYN
  // queue to the accept queue, frees it once closed and released.
  void tcp_settle(std::uint32_t slot, Instant now, FrameSink& sink, bool defer_ack = false);
  void poll_tcp(Instant now, FrameSink& sink);
  Instant tcp_next_deadline() const;
  std::optional<std::uint32_t> tcp_find(const tcp::FourTuple& tuple) const;
  std::optional<std::uint32_t> tcp_find_listener(Ipv4Address addr, std::uint16_t port) const;
  std::optional<std::uint32_t> tcp_free_slot();
  tcp::Connection& tcp_prepare(TcpSlot& s);
  void tcp_release(std::uint32_t slot);
  void tcp_activate(std::uint32_t slot, const tcp::FourTuple& tuple);
  void tcp_park_time_wait(std::uint32_t slot);
  void tcp_time_wait_input(const tcp::TimeWaitEntry& entry, const wire::TcpRepr& seg, Bytes payload,
                           const wire::Ipv4Repr& ip, Instant now, FrameSink& sink);
  bool tcp_port_in_use(std::uint16_t port, Ipv4Address addr) const;
  std::size_t tcp_mtu(Ipv4Address dst, Instant now) const;
  void tcp_icmp_error(const wire::Ipv4Repr& quoted, Bytes quoted_payload, std::error_code error,
                      bool frag_needed, Instant now);
  TcpSlot* tcp_slot(SocketId id);
  const TcpSlot* tcp_slot(SocketId id) const;
  TcpListenerSlot* tcp_listener_slot(SocketId id);
  const TcpListenerSlot* tcp_listener_slot(SocketId id) const;
  tcp::ConnectionCounters tcp_connection_totals() const;

  // UDP.
  void receive_udp(const wire::Ipv4Repr& ip, Bytes payload, Instant now, FrameSink& sink);
  void poll_sockets(Instant now, FrameSink& sink);
  UdpSlot* udp_slot(SocketId id);
  const UdpSlot* udp_slot(SocketId id) const;
  IcmpSlot* icmp_slot(SocketId id);
  const IcmpSlot* icmp_slot(SocketId id) const;
  std::optional<std::uint16_t> ephemeral_port(bool tcp = false);
  bool udp_port_in_use(std::uint16_t port, Ipv4Address addr) const;
  void owner_failed(const link::FrameOwner& owner, std::error_code error);
  // A socket became readable / writable: its waker fires at the end of this receive() or poll().
  template <class Slot>
  void mark_read(Slot& s) {
    s.wake_read = true;
    wakes_pending_ = true;
  }
  template <class Slot>
  void mark_write(Slot& s) {
    s.wake_write = true;
    wakes_pending_ = true;
  }
  void fire_wakers();

  // Socket operations (called by the handles).
  Result<void> udp_bind(SocketId id, Ipv4Endpoint local);
  Result<void> udp_connect(SocketId id, Ipv4Endpoint remote);
  Result<std::size_t> udp_send_to(SocketId id, Bytes data, std::optional<Ipv4Endpoint> remote);
  Result<DatagramInfo> udp_recv_from(SocketId id, BytesMut out);
  void udp_close(SocketId id);
  Result<std::size_t> icmp_send_to(SocketId id, Bytes message, Ipv4Address remote);
  Result<DatagramInfo> icmp_recv_from(SocketId id, BytesMut out);
  void icmp_close(SocketId id);

  StackConfig config_;
  Random random_;
  std::vector<Interface> interfaces_;
  ip::RouteTable routes_;
  link::NeighborCache neighbors_;
  ip::Reassembler reassembler_;
  ip::PathMtuCache path_mtu_;
  std::vector<UdpSlot> udp_;
  std::vector<IcmpSlot> icmp_;
  std::vector<TcpSlot> tcp_;
  std::vector<TcpListenerSlot> tcp_listeners_;
  tcp::IsnGenerator isn_;
  tcp::SynCookies syn_cookies_;
  tcp::TupleMap tcp_map_;                // 4-tuple -> slot, for every live connection
  std::vector<std::uint32_t> tcp_live_;  // the live slots, in no order
  tcp::TimeWaitTable tcp_time_wait_;
  StackCounters counters_;
  FrameTracer* tracer_ = nullptr;
  Instant last_now_{};                // of the last receive() or poll()
  bool rx_checksum_trusted_ = false;  // the frame being received: FrameInfo::checksum_trusted
  GsoFrame gso_;
  bool wakes_pending_ = false;  // some socket's wake_read or wake_write is set
  std::uint64_t wakers_fired_ = 0;
  std::uint16_t next_ip_ident_ = 0;
  unsigned icmp_tokens_ = 0;
  Instant icmp_refill_{};
  // Scratch buffers, allocated once: a whole datagram as built (Ethernet headroom, IP header,
  // up to 65,535 bytes), and one fragment frame.
  std::vector<std::byte> tx_datagram_;
  std::vector<std::byte> tx_fragment_;
};

}  // namespace tapir
