// tapir-tunnel: carries Ethernet frames between a TAP device and a VXLAN (RFC 7348) UDP socket
// of the host kernel, so the TAP becomes one end of a layer-2 tunnel whose other end can be a
// Linux vxlan device or another tapir-tunnel. The seeds' picture of a VPN-like program: what it
// reads from the TAP it encapsulates and sends to the peer; what the peer sends it checks,
// decapsulates and writes to the TAP. docs/tunnel.md has the scene and the commands.
//
//   tapir-tunnel --tap tap0 --local 10.9.0.1:4789 --remote 10.9.0.2:4789 --vni 42 &
//   ip addr add 192.168.77.1/24 dev tap0; ip link set tap0 mtu 1450 up
//   # the peer: ip link add vx0 type vxlan id 42 local 10.9.0.2 remote 10.9.0.1 dstport 4789
//
// The checks and the header are the sans-IO core's (vxlan_tunnel.hpp); this file is the I/O:
// one thread, one io_context, readiness of the TAP's descriptor and of the UDP socket. Each
// wake-up reads what is ready, at most kBatch frames or datagrams, then waits again (or, with
// more left, posts itself behind the other side's work). A frame from the TAP goes out with one
// gather send (header, frame): no copy in user space. Datagrams arrive by recvmmsg(2), 32 at a
// time, into buffers allocated once, and each inner frame is written to the TAP from there.
//
// The UDP socket is bound to --local and sends a zero UDP checksum (RFC 7348 §5: SHOULD) with
// the Don't Fragment bit (IP_PMTUDISC_DO): RFC 7348 §4.3 says VTEPs MUST NOT fragment VXLAN
// packets, so a frame too large for the underlay is refused by the kernel (EMSGSIZE) and
// counted in tunnel.tx_too_large. Every datagram leaves from --local's port: the RFC's per-flow
// source port (§5) is left alone (docs/tunnel.md).
//
// Signals: SIGINT and SIGTERM stop (the non-zero counters are logged at exit); SIGUSR1 prints
// every counter, tunnel.* then the TAP's dev.*, as `name value` lines on stderr.
#include <array>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/tunnel/tunnel_options.hpp"
#include "apps/tunnel/udp_batch.hpp"
#include "apps/tunnel/vxlan_tunnel.hpp"
#include "drivers/pcap/pcap_device.hpp"
#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/log.hpp"
#include "drivers/tap/tap_device.hpp"
#include "stack/wire/describe.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/socket_base.hpp>
#pragma GCC diagnostic pop

namespace {

using namespace tapir;
using boost::asio::ip::udp;

constexpr std::string_view kProgram = "tapir-tunnel";
// Frames or datagrams handled per wake-up of one side before the other gets its turn.
constexpr std::size_t kBatch = 64;
// How often the TAP's MTU is read again (after `ip link set tap0 mtu N`).
constexpr std::chrono::seconds kMtuRefresh{1};
// Datagrams per recvmmsg(2).
constexpr std::size_t kUdpSlots = 32;
// The socket buffers asked for: room for bursts of a few thousand frames.
constexpr int kSocketBuffer = 4 << 20;
// One UDP payload: the largest an IPv4 datagram holds, and one byte to spare.
constexpr std::size_t kRxBufferSize = tunnel::VxlanTunnel::max_datagram_len + 1;

// IP_MTU_DISCOVER for Asio's set_option().
using MtuDiscover = boost::asio::detail::socket_option::integer<IPPROTO_IP, IP_MTU_DISCOVER>;

class TunnelLoop {
 public:
  TunnelLoop(boost::asio::io_context& io, drivers::TapDevice& tap, drivers::Device& device,
             udp::socket& socket, tunnel::VxlanTunnel& tunnel, udp::endpoint remote,
             std::chrono::steady_clock::time_point epoch)
      : io_(io),
        tap_(tap),
        device_(device),
        socket_(socket),
        tunnel_(tunnel),
        remote_(remote),
        epoch_(epoch),
        tap_descriptor_(io, tap.native_handle()),
        mtu_timer_(io),
        signals_(io, SIGINT, SIGTERM, SIGUSR1),
        batch_(kUdpSlots, kRxBufferSize),
        from_tap_(*this),
        log_(drivers::logger("tunnel")) {}

  ~TunnelLoop() {
    // The TapDevice owns the descriptor: hand it back unclosed.
    (void)tap_descriptor_.release();
  }

  void start() {
    wait_signal();
    arm_mtu_timer();
    watch_tap(true);
    watch_udp(true);
  }

  // 0 after a signal, 1 after the TAP failed.
  int exit_code() const { return exit_code_; }

  template <class F>
  void for_each_counter(F&& f) const {
    tunnel_.counters().for_each_counter(f);
    tap_.counters().for_each_counter(f);
  }

  // Every counter, zeros too, so a reader sees the whole set; dev.tx_errors comes last.
  void print_counters(std::FILE* out) const {
    for_each_counter([out](std::string_view name, const Counter& c) {
      fmt::print(out, "{} {}\n", name, c.value());
    });
    std::fflush(out);
  }

 private:
  // Frames read from the TAP: encapsulated and sent at once, one gather write each.
  class FromTap final : public drivers::FrameHandler {
   public:
    explicit FromTap(TunnelLoop& loop) : loop_(loop) {}
    void on_frame(Bytes frame, Instant now) override { loop_.send(frame, now); }

   private:
    TunnelLoop& loop_;
  };

  Instant now() const {
    return Instant{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_)};
  }

  void trace(std::string_view direction, Bytes frame) {
    if (!log_->should_log(spdlog::level::trace)) return;
    line_.clear();
    wire::describe(line_, frame);
    log_->trace("{} {}", direction, std::string_view(line_.data(), line_.size()));
  }

  void send(Bytes frame, Instant /*now*/) {
    std::array<std::byte, tunnel::VxlanTunnel::header_len> header{};
    if (!tunnel_.write_header(frame, header)) return;  // counted
    trace("tap>udp", frame);
    const std::array<boost::asio::const_buffer, 2> datagram{
        boost::asio::buffer(header.data(), header.size()),
        boost::asio::buffer(frame.data(), frame.size())};
    boost::system::error_code ec;
    socket_.send_to(datagram, remote_, 0, ec);
    if (!ec) return;
    auto& c = tunnel_.counters();
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::no_buffer_space) {
      c.tx_dropped_full.inc();
    } else if (ec == boost::asio::error::message_size) {
      // RFC 7348 §4.3: VTEPs MUST NOT fragment; the frame does not fit the underlay's MTU.
      if (c.tx_too_large.value() == 0)
        log_->warn(
            "a frame of {} bytes does not fit the underlay with its {} bytes of VXLAN "
            "overhead: set {}'s MTU lower (docs/tunnel.md, MTU)",
            frame.size(), tunnel::VxlanTunnel::overhead - 14, tap_.name());
      c.tx_too_large.inc();
    } else {
      if (c.tx_errors.value() == 0) log_->warn("send to the peer: {}", ec.message());
      c.tx_errors.inc();
    }
  }

  // The TAP is readable (or was not drained): read a batch.
  void on_tap() {
    tap_watching_ = false;
    if (stopped_) return;
    auto received = device_.receive(now(), from_tap_, kBatch);
    if (!received) {
      log_->error("{}: {}; stopping", tap_.name(), received.error().message());
      exit_code_ = 1;
      stop();
      return;
    }
    watch_tap(*received >= kBatch);
  }

  // Asio's reactor reports readiness edge-triggered: wait only on a descriptor read dry, and
  // post a further read when the batch ended it early.
  void watch_tap(bool more) {
    if (stopped_ || tap_watching_) return;
    tap_watching_ = true;
    if (more) {
      boost::asio::post(io_, [this] { on_tap(); });
      return;
    }
    tap_descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                               [this](const boost::system::error_code& ec) {
                                 if (ec == boost::asio::error::operation_aborted) return;
                                 on_tap();
                               });
  }

  // The socket is readable: receive until it would block, at most kBatch datagrams, with
  // recvmmsg in batches of kUdpSlots.
  void on_udp() {
    udp_watching_ = false;
    if (stopped_) return;
    std::size_t total = 0;
    auto& c = tunnel_.counters();
    while (total < kBatch) {
      std::error_code error;
      const std::size_t n = batch_.receive(socket_.native_handle(), error);
      if (error) {
        // E.g. ECONNREFUSED for an ICMP error about an earlier datagram; the socket goes on.
        c.rx_errors.inc();
        if (c.rx_errors.value() == 1) log_->warn("receive: {}", error.message());
        break;
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (auto drops = batch_.drops(i)) {
          // The kernel's running count of datagrams the full queue dropped (mod 2^32).
          c.rx_dropped_full.inc(static_cast<std::uint32_t>(*drops - kernel_drops_));
          kernel_drops_ = *drops;
        }
        if (batch_.truncated(i)) {
          c.rx_too_large.inc();
          continue;
        }
        auto frame = tunnel_.decapsulate(batch_.datagram(i), batch_.source(i));
        if (!frame) continue;  // counted
        trace("udp>tap", *frame);
        // A TAP that is down or full drops and counts the frame itself (dev.*).
        (void)device_.transmit(*frame, now());
      }
      total += n;
      if (n < kUdpSlots) break;  // drained
    }
    watch_udp(total >= kBatch);
  }

  void watch_udp(bool more) {
    if (stopped_ || udp_watching_) return;
    udp_watching_ = true;
    if (more) {
      boost::asio::post(io_, [this] { on_udp(); });
      return;
    }
    socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted) return;
      on_udp();
    });
  }

  void arm_mtu_timer() {
    mtu_timer_.expires_after(kMtuRefresh);
    mtu_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      const std::size_t before = tap_.mtu();
      const std::size_t mtu = tap_.refresh_mtu();
      if (mtu != before) {
        tunnel_.set_max_frame_len(tunnel::VxlanTunnel::max_frame_len_for(mtu));
        log_->info("{}: MTU {} (frames up to {} bytes)", tap_.name(), mtu,
                   tunnel_.config().max_frame_len);
      }
      arm_mtu_timer();
    });
  }

  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGUSR1) {
        print_counters(stderr);
        wait_signal();
        return;
      }
      stop();
    });
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    tap_descriptor_.cancel(ignored);
    socket_.cancel(ignored);
    mtu_timer_.cancel();
    signals_.cancel(ignored);
    signals_.clear(ignored);
  }

  boost::asio::io_context& io_;
  drivers::TapDevice& tap_;
  drivers::Device& device_;  // the TAP, or its pcap decorator
  udp::socket& socket_;
  tunnel::VxlanTunnel& tunnel_;
  udp::endpoint remote_;
  std::chrono::steady_clock::time_point epoch_;
  boost::asio::posix::stream_descriptor tap_descriptor_;
  boost::asio::steady_timer mtu_timer_;
  boost::asio::signal_set signals_;
  tunnel::UdpReceiveBatch batch_;   // kUdpSlots datagrams, allocated once
  std::uint32_t kernel_drops_ = 0;  // the socket's drop count last reported (SO_RXQ_OVFL)
  FromTap from_tap_;
  std::shared_ptr<spdlog::logger> log_;
  wire::DescribeBuffer line_;  // trace lines, reused
  bool tap_watching_ = false;
  bool udp_watching_ = false;
  bool stopped_ = false;
  int exit_code_ = 0;
};

// Asks for kSocketBuffer bytes each way: SO_RCVBUF/SO_SNDBUF are capped by net.core.rmem_max
// and wmem_max, so as root (CAP_NET_ADMIN) the FORCE forms go past the cap. Best effort.
void set_buffer_sizes(int fd) {
  const int size = kSocketBuffer;
  for (auto [plain, force] :
       {std::pair{SO_RCVBUF, SO_RCVBUFFORCE}, std::pair{SO_SNDBUF, SO_SNDBUFFORCE}})
    if (::setsockopt(fd, SOL_SOCKET, force, &size, sizeof size) != 0)
      (void)::setsockopt(fd, SOL_SOCKET, plain, &size, sizeof size);
}

udp::endpoint to_asio(const Ipv4Endpoint& e) {
  return {boost::asio::ip::address_v4(e.address.value()), e.port};
}

std::string to_string(const Ipv4Endpoint& e) {
  return fmt::format("{}:{}", e.address.to_string(), e.port);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tapir-tunnel: carries Ethernet frames between a TAP device and a VXLAN (RFC 7348) UDP "
      "socket, to a Linux vxlan device or another tapir-tunnel"};
  tunnel::RawTunnelOptions raw;
  tunnel::add_tunnel_options(app, raw);
  int exit_code = 0;
  auto options = tunnel::parse_tunnel(app, raw, kProgram, argc, argv, exit_code);
  if (!options) return exit_code;
  drivers::configure_logging(options->log_level);
  auto fail = [](std::string_view line) {
    fmt::print(stderr, "{}: {}\n", kProgram, line);
    return 2;
  };

  boost::asio::io_context io;
  const auto epoch = std::chrono::steady_clock::now();

  const drivers::TapConfig tap_config{options->tap, drivers::Medium::Ethernet};
  auto tap = drivers::TapDevice::open(tap_config);
  if (!tap) return fail(drivers::TapDevice::explain(tap.error(), tap_config));
  drivers::Device* device = tap->get();

  udp::socket socket(io);
  boost::system::error_code ec;
  if (socket.open(udp::v4(), ec); ec)
    return fail(fmt::format("cannot open a UDP socket: {}", ec.message()));
  // RFC 7348 §4.3: VTEPs MUST NOT fragment VXLAN packets: the DF bit, and EMSGSIZE instead.
  if (socket.set_option(MtuDiscover(IP_PMTUDISC_DO), ec); ec)
    return fail(fmt::format("cannot set IP_MTU_DISCOVER: {}", ec.message()));
  // RFC 7348 §5: the UDP checksum SHOULD be transmitted as zero (as Linux's vxlan devices do
  // unless `udpcsum`); the inner frame carries its own checksums. Received datagrams with or
  // without one are accepted (the kernel checks a non-zero one).
  const int no_check = 1;
  if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_NO_CHECK, &no_check, sizeof no_check))
    spdlog::warn("{}: SO_NO_CHECK refused: datagrams carry a UDP checksum", kProgram);
  set_buffer_sizes(socket.native_handle());
  if (!tunnel::UdpReceiveBatch::enable_drop_count(socket.native_handle()))
    spdlog::warn("{}: no SO_RXQ_OVFL: tunnel.rx_dropped_full will stay 0", kProgram);
  if (socket.bind(to_asio(options->local), ec); ec)
    return fail(
        fmt::format("--local {}: cannot bind: {}", to_string(options->local), ec.message()));
  if (socket.non_blocking(true, ec); ec)
    return fail(fmt::format("cannot make the UDP socket non-blocking: {}", ec.message()));

  std::optional<drivers::PcapDevice> pcap;
  if (!options->pcap.empty()) {
    const auto wall_offset = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch() -
        (std::chrono::steady_clock::now() - epoch));
    auto opened = drivers::PcapDevice::open(**tap, options->pcap, wall_offset);
    if (!opened)
      return fail(fmt::format("--pcap: {}: {}", options->pcap, opened.error().message()));
    device = &pcap.emplace(std::move(*opened));
  }

  tunnel::VxlanTunnel core(
      {.vni = options->vni,
       .remote = options->remote.address,
       .check_source = options->check_source,
       .carry_vlan = options->carry_vlan,
       .max_frame_len = tunnel::VxlanTunnel::max_frame_len_for((*tap)->mtu())});
  TunnelLoop loop(io, **tap, *device, socket, core, to_asio(options->remote), epoch);
  loop.start();
  spdlog::info("{}: {} (MTU {}) <-> VXLAN VNI {} from {} to {}{}", kProgram, (*tap)->name(),
               (*tap)->mtu(), options->vni, to_string(options->local), to_string(options->remote),
               options->check_source ? "" : " (any source)");
  if (options->carry_vlan) spdlog::info("{}: tagged frames are carried", kProgram);
  io.run();
  if (spdlog::default_logger()->should_log(spdlog::level::info))
    loop.for_each_counter([](std::string_view name, const Counter& c) {
      if (c.value() != 0) spdlog::info("{} {}", name, c.value());
    });
  return loop.exit_code();
}
