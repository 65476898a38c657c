// UdpSocket: a handle to a UDP socket of a Stack (RFC 768, RFC 1122 §4.1). Non-blocking: an
// operation that cannot complete now returns std::errc::operation_would_block, and the socket's
// read or write waker says when to try again. Errors are std::error_code values of the generic
// category, with the meaning the same errno has on Linux:
//   bad_file_descriptor      the handle is closed or stale
//   address_in_use           bind: the port is taken
//   address_not_available    bind: not an address of this stack
//   network_unreachable      send: no route to the destination
//   message_size             send: more than 65,507 bytes, or more than the MTU with don't-fragment
//   destination_address_required  send() on an unconnected socket
//   host_unreachable         a datagram was dropped: its next hop did not answer ARP (reported
//                            once, by the next send or receive call, like Linux's socket error)
//   connection_refused       an ICMP port unreachable came back (reported once, likewise)
//
// The handle owns the socket: destroying it closes it. Moving is allowed; copying is not. The
// Stack must outlive its handles (they hold a plain pointer to it).
#pragma once

#include <cstddef>

#include "stack/base/bytes.hpp"
#include "stack/base/datagram_queue.hpp"
#include "stack/base/endpoint.hpp"
#include "stack/base/error.hpp"
#include "stack/socket/socket_handle.hpp"
#include "stack/socket/socket_id.hpp"

namespace tapir {

class Stack;

class UdpSocket : public SocketHandle<UdpSocket> {
 public:
  UdpSocket() = default;
  UdpSocket(UdpSocket&&) noexcept = default;
  UdpSocket& operator=(UdpSocket&&) noexcept = default;
  ~UdpSocket() { close(); }

  // Binds to a local address (any, or one of the stack's) and port (0: an ephemeral port).
  Result<void> bind(Ipv4Endpoint local);
  // Sets the only peer: datagrams from others are not delivered, send() goes there, and ICMP
  // errors about it are reported. Binds to an ephemeral port first if unbound.
  Result<void> connect(Ipv4Endpoint remote);
  // Queues one datagram (binding to an ephemeral port first if unbound); returns its length.
  Result<std::size_t> send_to(Bytes data, Ipv4Endpoint remote);
  Result<std::size_t> send(Bytes data);
  // Takes the oldest datagram: copies at most out.size() bytes, the rest of a longer datagram
  // is discarded (like recvfrom without MSG_TRUNC); info.len is its full length.
  Result<DatagramInfo> recv_from(BytesMut out);

  Result<Ipv4Endpoint> local_endpoint() const;
  bool readable() const;                 // a datagram (or an error) is waiting
  bool writable(std::size_t len) const;  // a datagram of len bytes would be queued now
  // RFC 1191: with don't-fragment set, every datagram is sent with DF and one larger than the
  // path's MTU is refused with message_size (Linux's IP_PMTUDISC_DO). Off by default, which is
  // Linux's IP_PMTUDISC_WANT: DF on the datagrams that fit the path's MTU, fragments without
  // it for larger ones.
  Result<void> set_dont_fragment(bool on);
  void set_read_waker(Waker waker);
  void set_write_waker(Waker waker);

  void close();

 private:
  friend class Stack;
  UdpSocket(Stack* stack, SocketId id) : SocketHandle(stack, id) {}
};

}  // namespace tapir
