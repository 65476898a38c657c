// IcmpSocket: a handle to an ICMP echo socket of a Stack, for ping clients, modelled on Linux's
// ping sockets (SOCK_DGRAM, IPPROTO_ICMP). The socket owns one echo identifier; it sends ICMP
// echo requests the caller writes whole (type, code, identifier, sequence, data: the stack
// overwrites the identifier with the socket's and computes the checksum), and receives, as
// whole ICMP messages:
//   - echo replies (RFC 792) carrying its identifier;
//   - ICMP errors (destination unreachable, time exceeded) that quote one of its echo requests.
// DatagramInfo.remote.address is the sender and .ttl the TTL the message arrived with.
// A request dropped because its next hop did not answer ARP is reported once as
// std::errc::host_unreachable by the next send_to() or recv_from(). Other errors, ownership and
// lifetime as for UdpSocket.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.hpp"
#include "stack/base/datagram_queue.hpp"
#include "stack/base/error.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/socket/socket_handle.hpp"
#include "stack/socket/socket_id.hpp"

namespace tapir {

class Stack;

class IcmpSocket : public SocketHandle<IcmpSocket> {
 public:
  IcmpSocket() = default;
  IcmpSocket(IcmpSocket&&) noexcept = default;
  IcmpSocket& operator=(IcmpSocket&&) noexcept = default;
  ~IcmpSocket() { close(); }

  // The echo identifier this socket uses (chosen at open from the stack's seeded random source).
  Result<std::uint16_t> ident() const;
  // Queues one echo request. message holds at least the 8-byte ICMP header, type 8 code 0;
  // anything else is std::errc::invalid_argument. Returns the message length.
  Result<std::size_t> send_to(Bytes message, Ipv4Address remote);
  Result<DatagramInfo> recv_from(BytesMut out);
  bool readable() const;
  bool writable(std::size_t len) const;  // a message of len bytes would be queued now
  void set_read_waker(Waker waker);
  void set_write_waker(Waker waker);

  void close();

 private:
  friend class Stack;
  IcmpSocket(Stack* stack, SocketId id) : SocketHandle(stack, id) {}
};

}  // namespace tapir
