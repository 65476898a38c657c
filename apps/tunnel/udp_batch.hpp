// UdpReceiveBatch: many datagrams per system call from a non-blocking UDP socket (recvmmsg(2)),
// each with its sender and the kernel's count of datagrams the socket's receive queue dropped
// because it was full (SO_RXQ_OVFL), so tapir-tunnel can count those too
// (tunnel.rx_dropped_full). The buffers are allocated once, at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <system_error>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/base/ipv4_address.hpp"

namespace tapir::tunnel {

class UdpReceiveBatch {
 public:
  // Up to `slots` datagrams of up to `datagram_size` bytes per receive().
  UdpReceiveBatch(std::size_t slots, std::size_t datagram_size);

  // Asks the kernel for SO_RXQ_OVFL on fd; false if it refuses (the drop count then stays 0).
  static bool enable_drop_count(int fd);

  // One recvmmsg(MSG_DONTWAIT): how many datagrams arrived (0: none, the socket would block),
  // or the errno of a failed call.
  std::size_t receive(int fd, std::error_code& error);

  Bytes datagram(std::size_t i) const;
  // The datagram did not fit its slot (MSG_TRUNC).
  bool truncated(std::size_t i) const { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
  Ipv4Address source(std::size_t i) const;
  // The socket's drop count the kernel reported with datagram i (cumulative, wraps at 2^32),
  // if it reported one.
  std::optional<std::uint32_t> drops(std::size_t i) const;

 private:
  static constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(std::uint32_t));
  std::size_t datagram_size_;
  std::vector<std::byte> data_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_in> names_;
  std::vector<std::byte> control_;
};

}  // namespace tapir::tunnel
