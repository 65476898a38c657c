#include "apps/tunnel/udp_batch.hpp"

#include <cerrno>
#include <cstring>

namespace tapir::tunnel {

UdpReceiveBatch::UdpReceiveBatch(std::size_t slots, std::size_t datagram_size)
    : datagram_size_(datagram_size),
      data_(slots * datagram_size),
      msgs_(slots),
      iov_(slots),
      names_(slots),
      control_(slots * kControlSize) {}

bool UdpReceiveBatch::enable_drop_count(int fd) {
  const int on = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) == 0;
}

std::size_t UdpReceiveBatch::receive(int fd, std::error_code& error) {
  error.clear();
  for (std::size_t i = 0; i < msgs_.size(); ++i) {
    iov_[i] = {data_.data() + i * datagram_size_, datagram_size_};
    msgs_[i] = {};
    msgs_[i].msg_hdr.msg_name = &names_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_control = control_.data() + i * kControlSize;
    msgs_[i].msg_hdr.msg_controllen = kControlSize;
  }
  const int n =
      ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(msgs_.size()), MSG_DONTWAIT, nullptr);
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno != EAGAIN && errno != EWOULDBLOCK)
    error = std::error_code(errno, std::system_category());
  return 0;
}

Bytes UdpReceiveBatch::datagram(std::size_t i) const {
  const std::size_t len = std::min<std::size_t>(msgs_[i].msg_len, datagram_size_);
  return Bytes(data_).subspan(i * datagram_size_, len);
}

Ipv4Address UdpReceiveBatch::source(std::size_t i) const {
  if (msgs_[i].msg_hdr.msg_namelen < sizeof(sockaddr_in) || names_[i].sin_family != AF_INET)
    return Ipv4Address::any();
  return Ipv4Address(ntohl(names_[i].sin_addr.s_addr));
}

std::optional<std::uint32_t> UdpReceiveBatch::drops(std::size_t i) const {
  // The msghdr is the kernel's; its control messages are read with the CMSG macros, which
  // cast by design.
  auto* hdr = const_cast<msghdr*>(&msgs_[i].msg_hdr);
  for (cmsghdr* c = CMSG_FIRSTHDR(hdr); c != nullptr; c = CMSG_NXTHDR(hdr, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
        c->cmsg_len >= CMSG_LEN(sizeof(std::uint32_t))) {
      std::uint32_t value = 0;
      std::memcpy(&value, CMSG_DATA(c), sizeof value);
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace tapir::tunnel
