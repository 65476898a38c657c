// drivers/tap: the one-line explanations of open() errors, argument checks, and — as root, inside
// a private network namespace this test makes for itself — opening real TAP and TUN devices.
#include "drivers/tap/tap_device.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::drivers {
namespace {

std::error_code sys(int e) {
  return {e, std::system_category()};
}

TEST(TapDeviceExplain, PermissionNamesTheRemedy) {
  const TapConfig config{"tap0"};
  EXPECT_EQ(TapDevice::explain(sys(EACCES), config),
            "cannot open /dev/net/tun: Permission denied (run as root or with CAP_NET_ADMIN)");
  EXPECT_EQ(TapDevice::explain(sys(EPERM), config),
            "cannot open /dev/net/tun or attach tap0: Operation not permitted (run as root or with "
            "CAP_NET_ADMIN)");
}

TEST(TapDeviceExplain, MissingDeviceNodeOrModule) {
  const TapConfig config{"tap0"};
  EXPECT_EQ(TapDevice::explain(sys(ENOENT), config),
            "no /dev/net/tun: the tun device node is missing");
  EXPECT_EQ(TapDevice::explain(sys(ENODEV), config),
            "no /dev/net/tun: the tun module is not loaded (modprobe tun)");
}

TEST(TapDeviceExplain, ModeMismatchNamesTheWantedKind) {
  EXPECT_EQ(TapDevice::explain(sys(EINVAL), TapConfig{"tap0", Medium::Ethernet}),
            "tap0 exists but is not a TAP device");
  EXPECT_EQ(TapDevice::explain(sys(EINVAL), TapConfig{"tun0", Medium::Ip}),
            "tun0 exists but is not a TUN device");
}

TEST(TapDeviceExplain, BusyAndOtherErrors) {
  EXPECT_EQ(TapDevice::explain(sys(EBUSY), TapConfig{"tap0"}),
            "tap0 is busy: another process is attached to it");
  EXPECT_EQ(TapDevice::explain(sys(ENOMEM), TapConfig{"tun3", Medium::Ip}),
            "cannot attach TUN device tun3: Cannot allocate memory");
}

TEST(TapDeviceExplain, IsOneLine) {
  for (int e : {EACCES, EPERM, ENOENT, ENODEV, ENXIO, EINVAL, EBUSY, ENOMEM, EIO}) {
    const auto line = TapDevice::explain(sys(e), TapConfig{"tap0"});
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  }
}

TEST(TapDevice, RejectsNameTooLongBeforeAnySyscall) {
  const TapConfig config{"a-name-of-16-chr"};
  ASSERT_EQ(config.name.size(), std::size_t{IFNAMSIZ});
  auto dev = TapDevice::open(config);
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error(), make_error_code(Errc::invalid_argument));
  EXPECT_EQ(TapDevice::explain(dev.error(), config),
            "bad interface name 'a-name-of-16-chr': at most 15 characters");
}

TEST(TapDevice, OpenWithoutPrivilegeIsAPermissionError) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: opening would succeed";
  if (::access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun here";
  auto dev = TapDevice::open(TapConfig{"tapirtest0"});
  ASSERT_FALSE(dev);
  EXPECT_TRUE(dev.error() == sys(EACCES) || dev.error() == sys(EPERM)) << dev.error().message();
  EXPECT_NE(TapDevice::explain(dev.error(), TapConfig{"tapirtest0"}).find("CAP_NET_ADMIN"),
            std::string::npos);
}

// Real devices, as root, in a private network namespace that goes away with this process;
// TearDown returns the process to the namespace it came from.
class TapDeviceInNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create TAP/TUN devices";
    if (::access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun here";
    home_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_ < 0) GTEST_SKIP() << "cannot open /proc/self/ns/net: " << std::strerror(errno);
    if (::unshare(CLONE_NEWNET) != 0)
      GTEST_SKIP() << "cannot make a network namespace: " << std::strerror(errno);
  }
  void TearDown() override {
    if (home_ >= 0) {
      EXPECT_EQ(::setns(home_, CLONE_NEWNET), 0) << std::strerror(errno);
      ::close(home_);
    }
  }

  static bool set_mtu(const std::string& name, int mtu) {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    ifr.ifr_mtu = mtu;
    const bool ok = ::ioctl(s, SIOCSIFMTU, &ifr) == 0;
    ::close(s);
    return ok;
  }

  // Gives name the address addr/24 and brings it up (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS).
  static bool configure_up(const std::string& name, std::uint32_t addr) {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    std::memcpy(&ifr.ifr_addr, &sin, sizeof sin);
    bool ok = ::ioctl(s, SIOCSIFADDR, &ifr) == 0;
    sin.sin_addr.s_addr = htonl(0xffffff00U);
    std::memcpy(&ifr.ifr_netmask, &sin, sizeof sin);
    ok = ok && ::ioctl(s, SIOCSIFNETMASK, &ifr) == 0;
    ok = ok && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    ::close(s);
    return ok;
  }

  class CountingHandler final : public FrameHandler {
   public:
    void on_frame(Bytes /*frame*/, Instant /*now*/) override { ++frames; }
    int frames = 0;
  };

  int home_ = -1;
};

TEST_F(TapDeviceInNamespace, OpensATapWithTheKernelsDefaults) {
  auto dev = TapDevice::open(TapConfig{"tapirtest0"});
  ASSERT_TRUE(dev) << TapDevice::explain(dev.error(), TapConfig{"tapirtest0"});
  EXPECT_EQ((*dev)->name(), "tapirtest0");
  EXPECT_EQ((*dev)->medium(), Medium::Ethernet);
  EXPECT_EQ((*dev)->mtu(), 1500U);
  EXPECT_GE((*dev)->native_handle(), 0);
  EXPECT_NE(::fcntl((*dev)->native_handle(), F_GETFL) & O_NONBLOCK, 0);

  CountingHandler handler;
  auto r = (*dev)->receive(Instant{}, handler, 16);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 0U);
  EXPECT_EQ(handler.frames, 0);
  EXPECT_EQ((*dev)->counters().rx_errors.value(), 0U);
}

TEST_F(TapDeviceInNamespace, EmptyNameGetsAKernelChosenName) {
  auto dev = TapDevice::open(TapConfig{"", Medium::Ip});
  ASSERT_TRUE(dev) << TapDevice::explain(dev.error(), TapConfig{"", Medium::Ip});
  EXPECT_EQ((*dev)->name().rfind("tun", 0), 0U) << (*dev)->name();
  EXPECT_EQ((*dev)->medium(), Medium::Ip);
}

TEST_F(TapDeviceInNamespace, ModeMismatchIsInvalidArgumentAndSecondAttachIsBusy) {
  auto tap = TapDevice::open(TapConfig{"tapirtest1"});
  ASSERT_TRUE(tap);
  const TapConfig as_tun{"tapirtest1", Medium::Ip};
  auto tun = TapDevice::open(as_tun);
  ASSERT_FALSE(tun);
  EXPECT_EQ(tun.error(), sys(EINVAL));
  EXPECT_EQ(TapDevice::explain(tun.error(), as_tun), "tapirtest1 exists but is not a TUN device");
  auto again = TapDevice::open(TapConfig{"tapirtest1"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), sys(EBUSY));
}

TEST_F(TapDeviceInNamespace, TapDropsFramesLongerThanMtuPlusTwentyTwo) {
  auto dev = TapDevice::open(TapConfig{"tapirtest2"});
  ASSERT_TRUE(dev);
  std::vector<std::byte> frame(1500 + 22 + 1);
  ASSERT_TRUE((*dev)->transmit(frame, Instant{}));
  EXPECT_EQ((*dev)->counters().tx_dropped_large.value(), 1U);
  EXPECT_EQ((*dev)->counters().tx_frames.value(), 0U);
  // Exactly mtu + 22 (header and two VLAN tags, IEEE 802.1ad) goes to write(), which fails with
  // EIO while the interface is down, and succeeds once it is up.
  frame.resize(1500 + 22);
  auto down = (*dev)->transmit(frame, Instant{});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error(), sys(EIO));
  EXPECT_EQ((*dev)->counters().tx_errors.value(), 1U);
  ASSERT_TRUE(configure_up("tapirtest2", 0x0a090101U));  // 10.9.1.1/24
  auto up = (*dev)->transmit(frame, Instant{});
  ASSERT_TRUE(up) << up.error().message();
  EXPECT_EQ((*dev)->counters().tx_dropped_large.value(), 1U);
  EXPECT_EQ((*dev)->counters().tx_frames.value(), 1U);
  EXPECT_EQ((*dev)->counters().tx_bytes.value(), 1522U);

  ASSERT_TRUE(set_mtu("tapirtest2", 1280));
  EXPECT_EQ((*dev)->mtu(), 1500U);  // cached until refreshed: no syscall per frame
  EXPECT_EQ((*dev)->refresh_mtu(), 1280U);
  EXPECT_EQ((*dev)->mtu(), 1280U);
  frame.resize(1280 + 22 + 1);
  ASSERT_TRUE((*dev)->transmit(frame, Instant{}));
  EXPECT_EQ((*dev)->counters().tx_dropped_large.value(), 2U);
}

TEST_F(TapDeviceInNamespace, TunDropsPacketsLongerThanMtu) {
  auto dev = TapDevice::open(TapConfig{"tapirtest3", Medium::Ip});
  ASSERT_TRUE(dev);
  std::vector<std::byte> packet(1501);
  ASSERT_TRUE((*dev)->transmit(packet, Instant{}));
  EXPECT_EQ((*dev)->counters().tx_dropped_large.value(), 1U);
}

// An ARP request written to the TAP reaches the kernel, whose reply comes back through receive().
TEST_F(TapDeviceInNamespace, KernelAnswersAnArpRequestWrittenToTheTap) {
  auto dev = TapDevice::open(TapConfig{"tapirtest4"});
  ASSERT_TRUE(dev);
  ASSERT_TRUE(configure_up("tapirtest4", 0x0a090001U));  // 10.9.0.1/24

  // Who has 10.9.0.1? Tell 10.9.0.2 (02:00:00:00:00:02); broadcast, padded to 60 bytes.
  const unsigned char request[60] = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
      10,   9,    0,    2,    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10,   9,    0,    1};
  std::vector<std::byte> frame(sizeof request);
  std::memcpy(frame.data(), request, sizeof request);
  ASSERT_TRUE((*dev)->transmit(frame, Instant{}));
  EXPECT_EQ((*dev)->counters().tx_frames.value(), 1U);
  EXPECT_EQ((*dev)->counters().tx_bytes.value(), 60U);

  // Other frames (IPv6 router solicitations, say) may come too: look for the ARP reply.
  class ArpReplyFinder final : public FrameHandler {
   public:
    void on_frame(Bytes f, Instant /*now*/) override {
      if (f.size() >= 42 && f[12] == std::byte{0x08} && f[13] == std::byte{0x06} &&
          f[21] == std::byte{0x02} && f[0] == std::byte{0x02} && f[5] == std::byte{0x02})
        found = true;
    }
    bool found = false;
  } finder;
  for (int i = 0; i < 50 && !finder.found; ++i) {
    pollfd pfd{(*dev)->native_handle(), POLLIN, 0};
    ASSERT_GE(::poll(&pfd, 1, 100), 0);
    auto r = (*dev)->receive(Instant{}, finder, 8);
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_TRUE(finder.found);
  EXPECT_GE((*dev)->counters().rx_frames.value(), 1U);
  EXPECT_GE((*dev)->counters().rx_bytes.value(), 42U);
  EXPECT_EQ((*dev)->counters().rx_errors.value(), 0U);
}

// A device deleted under the reader (ip link del) makes receive() fail, and counts it.
TEST_F(TapDeviceInNamespace, ReceiveReportsADeletedDevice) {
  if (std::system("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "no ip(8) here";
  auto dev = TapDevice::open(TapConfig{"tapirtest5"});
  ASSERT_TRUE(dev);
  ASSERT_EQ(std::system("ip link del tapirtest5"), 0);
  CountingHandler handler;
  auto r = (*dev)->receive(Instant{}, handler, 8);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), sys(EBADFD));
  EXPECT_EQ((*dev)->counters().rx_errors.value(), 1U);
}

}  // namespace
}  // namespace tapir::drivers
