#include "drivers/tap/tap_device.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stack/base/checksum.hpp"

namespace tapir::drivers {
namespace {

constexpr const char* kTunPath = "/dev/net/tun";

std::error_code errno_code(int e) {
  return {e, std::system_category()};
}

tl::unexpected<std::error_code> fail_errno(int e) {
  return tl::unexpected<std::error_code>(errno_code(e));
}

// Errors after which the file descriptor will never work again: the interface was deleted
// (the tun driver answers EBADFD once detached) or the descriptor itself is bad.
bool device_gone(int e) {
  return e == EBADFD || e == EIO || e == ENODEV || e == EBADF || e == ENXIO;
}

// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a field there is named
// `class`), the legacy 10-byte layout, in the host's byte order (TUNSETVNETLE not set).
struct VirtioNetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;      // Ethernet + IP + TCP headers
  std::uint16_t gso_size;     // payload bytes per segment
  std::uint16_t csum_start;   // where the checksum's sum starts
  std::uint16_t csum_offset;  // from csum_start: where the checksum goes
};
static_assert(sizeof(VirtioNetHeader) == TapDevice::vnet_header_len);
constexpr std::uint8_t kVirtioNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr std::uint8_t kVirtioDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
constexpr std::uint8_t kVirtioGsoTcpv4 = 1;   // VIRTIO_NET_HDR_GSO_TCPV4

const char* kind(Medium m) {
  return m == Medium::Ethernet ? "TAP" : "TUN";
}

}  // namespace

Result<std::unique_ptr<TapDevice>> TapDevice::open(const TapConfig& config) {
  if (config.name.size() >= IFNAMSIZ) return fail(Errc::invalid_argument);

  const int fd = ::open(kTunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno);

  ifreq ifr{};
  const int mode = config.medium == Medium::Ethernet ? IFF_TAP : IFF_TUN;
  ifr.ifr_flags = static_cast<short>(mode | IFF_NO_PI | (config.offload ? IFF_VNET_HDR : 0));
  std::memcpy(ifr.ifr_name, config.name.data(), config.name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int e = errno;
    ::close(fd);
    return fail_errno(e);
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  std::string name(ifr.ifr_name);

  // Only for SIOCGIFMTU; without it mtu() reports fallback_mtu.
  const int ctl = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (config.offload) {
    // The legacy 10-byte header (no num_buffers), in the host's byte order.
    int header_len = static_cast<int>(vnet_header_len);
    if (::ioctl(fd, TUNSETVNETHDRSZ, &header_len) < 0) {
      const int e = errno;
      ::close(fd);
      if (ctl >= 0) ::close(ctl);
      return fail_errno(e);
    }
  }
  auto device = std::unique_ptr<TapDevice>(
      new TapDevice(fd, ctl, std::move(name), config.medium, config.offload));
  // Without TUNSETOFFLOAD the kernel sends only plain frames (the header then says nothing);
  // that is still a working device.
  if (config.offload) {
    const unsigned offloads = TUN_F_CSUM | TUN_F_TSO4;
    device->offloads_ = ::ioctl(fd, TUNSETOFFLOAD, offloads) == 0;
  }
  device->refresh_mtu();
  return device;
}

std::string TapDevice::explain(const std::error_code& error, const TapConfig& config) {
  const std::string dev = config.name.empty() ? std::string("the device") : config.name;
  if (error == Errc::invalid_argument)
    return "bad interface name '" + config.name + "': at most " + std::to_string(IFNAMSIZ - 1) +
           " characters";
  if (error.category() != std::system_category()) return dev + ": " + error.message();
  switch (error.value()) {
    case EACCES:  // open(): the mode of /dev/net/tun
      return std::string("cannot open ") + kTunPath + ": " + error.message() +
             " (run as root or with CAP_NET_ADMIN)";
    case EPERM:  // TUNSETIFF without CAP_NET_ADMIN (or a device cgroup refusing the open)
      return std::string("cannot open ") + kTunPath + " or attach " + dev + ": " + error.message() +
             " (run as root or with CAP_NET_ADMIN)";
    case ENOENT:
      return std::string("no ") + kTunPath + ": the tun device node is missing";
    case ENODEV:
    case ENXIO:
      return std::string("no ") + kTunPath + ": the tun module is not loaded (modprobe tun)";
    case EINVAL:
      return dev + " exists but is not a " + kind(config.medium) + " device";
    case EBUSY:
      return dev + " is busy: another process is attached to it";
    default:
      return std::string("cannot attach ") + kind(config.medium) + " device " + dev + ": " +
             error.message();
  }
}

TapDevice::TapDevice(int fd, int ctl_fd, std::string name, Medium medium, bool vnet_header)
    : fd_(fd),
      ctl_fd_(ctl_fd),
      name_(std::move(name)),
      medium_(medium),
      vnet_header_(vnet_header),
      rx_buf_(buffer_size) {}

TapDevice::~TapDevice() {
  if (ctl_fd_ >= 0) ::close(ctl_fd_);
  ::close(fd_);
}

std::size_t TapDevice::refresh_mtu() {
  mtu_ = fallback_mtu;
  if (ctl_fd_ < 0) return mtu_;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  if (::ioctl(ctl_fd_, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0) {
    mtu_ = static_cast<std::size_t>(ifr.ifr_mtu);
  }
  return mtu_;
}

Result<std::size_t> TapDevice::receive(Instant now, FrameHandler& handler, std::size_t max_frames) {
  std::size_t handed = 0;
  while (handed < max_frames) {
    const ssize_t n = ::read(fd_, rx_buf_.data(), rx_buf_.size());
    if (n < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      counters_.rx_errors.inc();
      if (device_gone(e)) return fail_errno(e);
      break;
    }
    if (n == 0) break;
    auto len = static_cast<std::size_t>(n);
    if (!vnet_header_) {
      counters_.rx_frames.inc();
      counters_.rx_bytes.inc(len);
      ++handed;
      handler.on_frame(Bytes(rx_buf_.data(), len), now);
      continue;
    }
    if (len <= vnet_header_len) {
      counters_.rx_errors.inc();
      continue;
    }
    VirtioNetHeader header{};
    std::memcpy(&header, rx_buf_.data(), sizeof header);
    len -= vnet_header_len;
    counters_.rx_frames.inc();
    counters_.rx_bytes.inc(len);
    ++handed;
    FrameInfo info;
    // The kernel left the checksum undone (its own frame: it never crossed a wire), or checked
    // it already.
    info.checksum_trusted = (header.flags & (kVirtioNeedsCsum | kVirtioDataValid)) != 0;
    const BytesMut frame(rx_buf_.data() + vnet_header_len, len);
    const std::size_t at = std::size_t{header.csum_start} + header.csum_offset;
    if ((header.flags & kVirtioNeedsCsum) != 0 && at + 2 <= len) {
      if (header.gso_type == 0) {
        // One ordinary segment or datagram: complete its checksum here (RFC 1071), so it is
        // what a wire would carry wherever it goes next (a capture, an ICMP error's quote).
        store_be16(frame, at, checksum_finish(checksum_add(frame.subspan(header.csum_start))));
      } else {
        // A large segment the kernel did not cut: summing 64 KiB would cost more than all the
        // rest of its way up; the stack takes it as it is.
        info.checksum_partial = true;
        info.csum_start = header.csum_start;
        info.csum_offset = header.csum_offset;
      }
    }
    handler.on_offloaded_frame(Bytes(rx_buf_.data() + vnet_header_len, len), now, info);
  }
  return handed;
}

Result<void> TapDevice::transmit(Bytes frame, Instant /*now*/) {
  const std::size_t limit = medium_ == Medium::Ethernet ? mtu() + link_overhead : mtu();
  if (frame.size() > limit) {
    counters_.tx_dropped_large.inc();
    return {};
  }
  return write_frame(frame, FrameInfo{});
}

Result<void> TapDevice::transmit_offloaded(Bytes frame, Instant now, const FrameInfo& info) {
  if (info.plain()) return transmit(frame, now);
  if (!offloads_) {
    counters_.tx_errors.inc();
    return fail(Errc::unsupported);
  }
  const std::size_t link_len = medium_ == Medium::Ethernet ? link_overhead : 0;
  if (frame.size() > 65535 + link_len || info.csum_start + info.csum_offset + 2U > frame.size()) {
    counters_.tx_dropped_large.inc();
    return {};
  }
  return write_frame(frame, info);
}

Result<void> TapDevice::write_frame(Bytes frame, const FrameInfo& info) {
  VirtioNetHeader header{};
  if (info.checksum_partial) {
    header.flags = kVirtioNeedsCsum;
    header.csum_start = info.csum_start;
    header.csum_offset = info.csum_offset;
  }
  if (info.gso_size != 0) {
    // The kernel cuts the frame into segments of gso_size payload bytes, copying the headers
    // up to hdr_len into each (as a virtio NIC's TSO does).
    header.gso_type = kVirtioGsoTcpv4;
    header.gso_size = info.gso_size;
    const std::size_t tcp_header_len =
        info.csum_start + 13U < frame.size()
            ? 4U * (std::to_integer<unsigned>(frame[info.csum_start + 12U]) >> 4U)
            : 20U;
    header.hdr_len = static_cast<std::uint16_t>(info.csum_start + tcp_header_len);
  }
  iovec iov[2] = {{&header, sizeof header},
                  {const_cast<std::byte*>(frame.data()), frame.size()}};  // NOLINT: writev
  const int iov_count = vnet_header_ ? 2 : 1;
  iovec* first = vnet_header_ ? &iov[0] : &iov[1];
  for (;;) {
    const ssize_t n = ::writev(fd_, first, iov_count);
    if (n >= 0) break;
    const int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      counters_.tx_dropped_full.inc();
      return {};
    }
    counters_.tx_errors.inc();
    return fail_errno(e);
  }
  counters_.tx_frames.inc();
  counters_.tx_bytes.inc(frame.size());
  return {};
}

}  // namespace tapir::drivers
