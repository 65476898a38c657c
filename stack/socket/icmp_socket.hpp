// IcmpSocket: a handle to an ICMP echo socket of a Stack, for ping clients, modelled on Linux's
// ping sockets (SOCK_DGRAM, IPPROTO_ICMP). The socket owns one echo identifier; it sends ICMP
// echo requests the caller writes whole (type, code, identifier, sequence, data: the stack
// overwrites the identifier with the socket's and computes the checksum), and receives, as
// whole ICMP messages:
//   - echo replies (RFC 792) carrying its identifier;
//   - ICMP errors (destination unreachable, time exceeded) that quote one of its echo requests.
// DatagramInfo.remote.address is the sender and .ttl the TTL the message arrived with.
// A request dropped because its next hop did not answer ARP is reported once as
// std::errc::host_unreachable by the next recv_from(). Other errors as for UdpSocket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "stack/base/bytes.hpp"
#include "stack/base/datagram_queue.hpp"
#include "stack/base/error.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/socket/socket_id.hpp"

namespace tapir {

class Stack;

class IcmpSocket {
 public:
  IcmpSocket() = default;
  IcmpSocket(IcmpSocket&& o) noexcept
      : stack_(std::exchange(o.stack_, nullptr)), id_(std::exchange(o.id_, {})) {}
  IcmpSocket& operator=(IcmpSocket&& o) noexcept {
    if (this != &o) {
      close();
      stack_ = std::exchange(o.stack_, nullptr);
      id_ = std::exchange(o.id_, {});
    }
    return *this;
  }
  IcmpSocket(const IcmpSocket&) = delete;
  IcmpSocket& operator=(const IcmpSocket&) = delete;
  ~IcmpSocket() { close(); }

  // The echo identifier this socket uses (chosen at open from the stack's seeded random source).
  Result<std::uint16_t> ident() const;
  // Queues one echo request. message holds at least the 8-byte ICMP header, type 8 code 0;
  // anything else is std::errc::invalid_argument. Returns the message length.
  Result<std::size_t> send_to(Bytes message, Ipv4Address remote);
  Result<DatagramInfo> recv_from(BytesMut out);
  bool readable() const;
  void set_read_waker(Waker waker);
  void set_write_waker(Waker waker);

  void close();
  bool is_open() const { return stack_ != nullptr; }
  SocketId id() const { return id_; }

 private:
  friend class Stack;
  IcmpSocket(Stack* stack, SocketId id) : stack_(stack), id_(id) {}

  Stack* stack_ = nullptr;
  SocketId id_;
};

}  // namespace tapir
