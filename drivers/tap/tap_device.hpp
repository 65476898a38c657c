// TAP and TUN devices over /dev/net/tun: the Linux kernel on the other side of the device is the
// stack's peer. A TAP carries Ethernet frames (Medium::Ethernet), a TUN bare IP packets
// (Medium::Ip); both are opened with IFF_NO_PI, so every read() is exactly one frame and every
// write() sends exactly one, with no packet-information prefix.
//
// Opening: TUNSETIFF attaches to the existing interface of that name if it is a persistent
// device of the same kind (`ip tuntap add dev tap0 mode tap`), or, when no interface of that
// name exists, creates one that lives only as long as this TapDevice (non-persistent). An
// existing interface of the other kind (a TUN when a TAP was asked for, or not a tun/tap at all)
// is refused by the kernel with EINVAL. An empty name lets the kernel pick one (tap%d / tun%d);
// name() tells which.
//
// Errors are errno values in std::system_category(); explain() renders one line for apps.
#pragma once

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "drivers/device/device.hpp"

namespace tapir::drivers {

struct TapConfig {
  std::string name;                  // interface name, at most 15 characters
  Medium medium = Medium::Ethernet;  // Ethernet = TAP (IFF_TAP), Ip = TUN (IFF_TUN)
  // Open with a virtio-net header on every frame (IFF_VNET_HDR) and offer the kernel checksum
  // and TCP segmentation offloads (TUNSETOFFLOAD: TUN_F_CSUM | TUN_F_TSO4): the kernel then
  // sends TCP segments of up to 64 KiB with their checksums left undone, and takes such
  // segments from us, cutting them itself (stack/base/frame_info.hpp). Frames come up through
  // FrameHandler::on_offloaded_frame.
  bool offload = false;
};

class TapDevice final : public Device {
 public:
  // An Ethernet header and two VLAN tags (802.1ad S-tag and 802.1Q C-tag): what a TAP frame
  // may carry beyond the IP MTU.
  static constexpr std::size_t link_overhead = 14 + 4 + 4;
  static constexpr std::size_t vnet_header_len = 10;  // struct virtio_net_hdr
  // The receive buffer: a virtio-net header, the largest IP packet and link_overhead.
  static constexpr std::size_t buffer_size = vnet_header_len + 65535 + link_overhead;
  // The MTU reported when SIOCGIFMTU fails.
  static constexpr std::size_t fallback_mtu = 1500;

  // Opens /dev/net/tun (non-blocking, close-on-exec) and attaches it to config.name (see the top
  // of this file). A name of 16 characters or more is Errc::invalid_argument; everything else
  // is the errno of the step that failed, as a std::system_category() code.
  static Result<std::unique_ptr<TapDevice>> open(const TapConfig& config);

  // One line for a user, e.g. "cannot open /dev/net/tun: Permission denied (run as root or with
  // CAP_NET_ADMIN)" or "tap0 exists but is not a TAP device", for an error from open().
  static std::string explain(const std::error_code& error, const TapConfig& config);

  ~TapDevice() override;

  // The kernel's name for the interface (what TUNSETIFF settled on).
  std::string name() const { return name_; }

  Medium medium() const override { return medium_; }
  // The MTU read with SIOCGIFMTU at open() (fallback_mtu if that fails). Cached: transmit()
  // checks it per frame, so it must not cost a syscall; after `ip link set mtu` the owner calls
  // refresh_mtu().
  std::size_t mtu() const override { return mtu_; }
  // Reads the MTU from the kernel again; returns it.
  std::size_t refresh_mtu();
  // Reads until the device has nothing more (EAGAIN) or max_frames were handed over. A read
  // that fails is counted in rx_errors and ends the batch; a device that is gone (EBADFD, EIO,
  // ENODEV, EBADF) is also returned as an error.
  Result<std::size_t> receive(Instant now, FrameHandler& handler, std::size_t max_frames) override;
  // One write(). Longer than mtu() + link_overhead (TAP: Ethernet header, two VLAN tags) or
  // mtu() (TUN):
  // tx_dropped_large. EAGAIN / ENOBUFS: tx_dropped_full, not an error. Otherwise a failed write
  // is counted in tx_errors and returned (the kernel refuses writes with EIO while the
  // interface is down).
  Result<void> transmit(Bytes frame, Instant now) override;
  // With offloads (offloads()): a TSO frame of up to 64 KiB + headers, or a frame whose
  // checksum the kernel completes; the virtio-net header says which.
  Result<void> transmit_offloaded(Bytes frame, Instant now, const FrameInfo& info) override;
  // TapConfig::offload was asked and the kernel took TUNSETOFFLOAD.
  bool offloads() const override { return offloads_; }
  int native_handle() const override { return fd_; }
  const DeviceCounters& counters() const override { return counters_; }

 private:
  TapDevice(int fd, int ctl_fd, std::string name, Medium medium, bool vnet_header);
  Result<void> write_frame(Bytes frame, const FrameInfo& info);

  int fd_;      // /dev/net/tun, attached
  int ctl_fd_;  // AF_INET datagram socket for SIOCGIFMTU, or -1
  std::size_t mtu_ = fallback_mtu;
  std::string name_;
  Medium medium_;
  bool vnet_header_ = false;  // every frame read or written starts with a virtio_net_hdr
  bool offloads_ = false;
  DeviceCounters counters_;
  std::vector<std::byte> rx_buf_;  // buffer_size bytes, allocated once
};

}  // namespace tapir::drivers
