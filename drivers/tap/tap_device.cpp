#include "drivers/tap/tap_device.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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
  ifr.ifr_flags = static_cast<short>(mode | IFF_NO_PI);
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
  auto device = std::unique_ptr<TapDevice>(new TapDevice(fd, ctl, std::move(name), config.medium));
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

TapDevice::TapDevice(int fd, int ctl_fd, std::string name, Medium medium)
    : fd_(fd), ctl_fd_(ctl_fd), name_(std::move(name)), medium_(medium), rx_buf_(buffer_size) {}

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
    const auto len = static_cast<std::size_t>(n);
    counters_.rx_frames.inc();
    counters_.rx_bytes.inc(len);
    ++handed;
    handler.on_frame(Bytes(rx_buf_.data(), len), now);
  }
  return handed;
}

Result<void> TapDevice::transmit(Bytes frame, Instant /*now*/) {
  const std::size_t limit = medium_ == Medium::Ethernet ? mtu() + link_overhead : mtu();
  if (frame.size() > limit) {
    counters_.tx_dropped_large.inc();
    return {};
  }
  for (;;) {
    const ssize_t n = ::write(fd_, frame.data(), frame.size());
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
