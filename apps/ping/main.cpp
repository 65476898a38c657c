// tapir-ping: ping from a userspace stack on a TAP (or TUN) device, printing what iputils ping
// prints:
//
//   tapir-ping --tap tap0 --ip 10.0.0.2/24 -c 3 10.0.0.1
//   PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.
//   64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.421 ms
//   ...
//   --- 10.0.0.1 ping statistics ---
//   3 packets transmitted, 3 received, 0% packet loss, time 2003ms
//   rtt min/avg/max/mdev = 0.042/0.233/0.421/0.155 ms
//
// Options besides the common ones: -c COUNT (default 4, 1..65535: a run always ends), -s SIZE
// (data bytes, 0..65507, default 56), -i SECONDS between requests (at least 0.01, default 1),
// -W SECONDS to wait for replies after the last request (default 2). Exit status 0 if any reply
// came, 1 if none, 2 for a bad command line or set-up.
//
// Like iputils, the first 8 data bytes carry the send time (the stack's Instant, in
// microseconds, big-endian), so the round trip is computed from the reply itself; with fewer
// than 8 data bytes no time is printed. The rest of the data is the byte pattern 08 09 0a ...
// The sender and the receiver are two coroutines over drivers::AsyncIcmpSocket.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/core.h>

#include "apps/common/common_options.hpp"
#include "drivers/runtime/async_socket.hpp"
#include "drivers/runtime/tap_host.hpp"
#include "stack/base/bytes.hpp"
#include "stack/base/format.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"

namespace {

using boost::asio::awaitable;
using boost::asio::use_awaitable;
using namespace tapir;
using namespace std::chrono_literals;

constexpr std::size_t kMaxSize = 65507;  // 65,535 - 20 (IPv4) - 8 (ICMP)
constexpr std::size_t kStampLen = 8;     // the send time at the start of the data
constexpr unsigned kMaxCount = 65535;    // one sequence number each, never wrapping
constexpr double kMaxSeconds = 86400;

struct PingOptions {
  Ipv4Address destination;
  unsigned count = 4;
  std::size_t size = 56;
  Duration interval = 1s;
  Duration timeout = 2s;
};

// Checks ping's own options; the error is one line, as for the common ones.
tl::expected<PingOptions, std::string> finish(const std::string& count, const std::string& size,
                                              const std::string& interval,
                                              const std::string& timeout,
                                              const std::string& destination) {
  auto bad = [](std::string_view option, std::string_view value, std::string_view why) {
    return tl::unexpected(fmt::format("{}: \"{}\": {}", option, value, why));
  };
  auto number = [](std::string_view text) -> std::optional<unsigned long> {
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
  };
  auto seconds = [](std::string_view text) -> std::optional<Duration> {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (!(v >= 0 && v <= kMaxSeconds)) return std::nullopt;
    return Duration(static_cast<std::int64_t>(std::llround(v * 1e6)));
  };

  PingOptions out;
  if (!count.empty()) {
    auto c = number(count);
    if (!c || *c < 1 || *c > kMaxCount) return bad("-c", count, "not a count in 1..65535");
    out.count = static_cast<unsigned>(*c);
  }
  if (!size.empty()) {
    auto s = number(size);
    if (!s || *s > kMaxSize) return bad("-s", size, "not a size in 0..65507");
    out.size = *s;
  }
  if (!interval.empty()) {
    auto i = seconds(interval);
    if (!i || *i < 10ms) return bad("-i", interval, "not an interval of 0.01 to 86400 seconds");
    out.interval = *i;
  }
  if (!timeout.empty()) {
    auto w = seconds(timeout);
    if (!w) return bad("-W", timeout, "not a timeout of 0 to 86400 seconds");
    out.timeout = *w;
  }
  auto dest = Ipv4Address::parse(destination);
  if (!dest) return bad("DEST", destination, dest.error().message());
  out.destination = *dest;
  return out;
}

std::uint64_t load_be64(Bytes b, std::size_t off) {
  return (std::uint64_t{load_be32(b, off)} << 32) | load_be32(b, off + 4);
}
void store_be64(BytesMut b, std::size_t off, std::uint64_t v) {
  store_be32(b, off, static_cast<std::uint32_t>(v >> 32));
  store_be32(b, off + 4, static_cast<std::uint32_t>(v));
}

// iputils' spelling of a round trip: three significant decimals below 1 ms, fewer above.
std::string format_rtt(std::int64_t us) {
  if (us >= 100000 - 50) return fmt::format("{}", (us + 500) / 1000);
  if (us >= 10000 - 5) return fmt::format("{}.{:01}", (us + 50) / 1000, ((us + 50) % 1000) / 100);
  if (us >= 1000) return fmt::format("{}.{:02}", (us + 5) / 1000, ((us + 5) % 1000) / 10);
  return fmt::format("{}.{:03}", us / 1000, us % 1000);
}
std::string format_ms(std::int64_t us) {
  return fmt::format("{}.{:03}", us / 1000, us % 1000);
}

// What iputils prints for an ICMP error (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
std::string describe_error(wire::Icmpv4View icmp) {
  using wire::Icmpv4Type;
  const unsigned code = icmp.code();
  switch (icmp.type()) {
    case Icmpv4Type::DstUnreachable: {
      static constexpr std::string_view kNames[] = {
          "Destination Net Unreachable",
          "Destination Host Unreachable",
          "Destination Protocol Unreachable",
          "Destination Port Unreachable",
          "Frag needed and DF set",
          "Source Route Failed",
          "Destination Net Unknown",
          "Destination Host Unknown",
          "Source Host Isolated",
          "Destination Net Prohibited",
          "Destination Host Prohibited",
          "Destination Net Unreachable for Type of Service",
          "Destination Host Unreachable for Type of Service",
          "Packet filtered",
          "Precedence Violation",
          "Precedence Cutoff"};
      if (code == 4) return fmt::format("Frag needed and DF set (mtu = {})", icmp.next_hop_mtu());
      if (code < std::size(kNames)) return std::string(kNames[code]);
      return fmt::format("Dest Unreachable, Bad Code: {}", code);
    }
    case Icmpv4Type::TimeExceeded:
      if (code == 0) return "Time to live exceeded";
      if (code == 1) return "Frag reassembly time exceeded";
      return fmt::format("Time exceeded, Bad Code: {}", code);
    case Icmpv4Type::ParamProblem:
      return fmt::format("Parameter problem: pointer = {}", icmp.rest_of_header() >> 24);
    default:
      return fmt::format("Bad ICMP type: {}", static_cast<unsigned>(icmp.type()));
  }
}

class Pinger {
 public:
  Pinger(drivers::TapHost& host, drivers::AsyncIcmpSocket& socket, const PingOptions& options)
      : host_(host),
        socket_(socket),
        options_(options),
        request_(wire::Icmpv4View::header_len + options.size),
        reply_(wire::Icmpv4View::header_len + kMaxSize),
        answered_(std::size_t{options.count} + 1, false),
        replied_(std::size_t{options.count} + 1, false),
        interval_timer_(host.runner().io_context()),
        linger_timer_(host.runner().io_context()) {}

  // Sends the requests, waits for the replies, prints the statistics and stops the host.
  awaitable<void> run() {
    fmt::print("PING {0} ({0}) {1}({2}) bytes of data.\n", options_.destination, options_.size,
               options_.size + 28);
    std::fflush(stdout);
    boost::asio::co_spawn(socket_.get_executor(), receive(), boost::asio::detached);
    for (unsigned seq = 1; seq <= options_.count && !interrupted_; ++seq) {
      co_await send(static_cast<std::uint16_t>(seq));
      if (seq < options_.count) co_await wait(interval_timer_, options_.interval);
    }
    sending_done_ = true;
    if (!interrupted_ && outstanding() > 0) co_await wait(linger_timer_, options_.timeout);
    socket_.close();  // ends receive(), whatever it is doing
    print_statistics();
    host_.stop();
  }

  // SIGINT or SIGTERM: stop sending and waiting, print the statistics.
  void interrupt() {
    interrupted_ = true;
    interval_timer_.cancel();
    linger_timer_.cancel();
  }

  bool any_reply() const { return received_ > 0; }

 private:
  bool timed() const { return options_.size >= kStampLen; }
  unsigned outstanding() const { return transmitted_ - settled_; }

  static awaitable<void> wait(boost::asio::steady_timer& timer, Duration d) {
    boost::system::error_code ignored;  // cancelled: interrupted, or every reply is in
    timer.expires_after(d);
    co_await timer.async_wait(boost::asio::redirect_error(use_awaitable, ignored));
  }

  awaitable<void> send(std::uint16_t seq) {
    const BytesMut message(request_);
    const wire::Icmpv4ViewMut icmp(message);
    icmp.set_type(wire::Icmpv4Type::EchoRequest);
    icmp.set_code(0);
    icmp.set_checksum(0);
    icmp.set_ident(0);  // the stack writes the socket's identifier
    icmp.set_seq_no(seq);
    const BytesMut data = icmp.payload();
    for (std::size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<std::byte>(i & 0xffU);
    const Instant now = host_.runner().now();
    if (timed()) store_be64(data, 0, static_cast<std::uint64_t>(to_micros(now)));
    if (transmitted_ == 0) first_send_ = now;
    last_activity_ = now;
    transmitted_ = seq;

    auto [error, n] = co_await socket_.async_send_to(boost::asio::buffer(request_),
                                                     options_.destination, use_awaitable);
    if (error == std::errc::host_unreachable) {
      // An earlier request's next hop did not answer ARP; this one was not queued. Try again.
      host_unreachable(seq - 1);
      std::tie(error, n) = co_await socket_.async_send_to(boost::asio::buffer(request_),
                                                          options_.destination, use_awaitable);
    }
    if (error) {
      fmt::print(stderr, "tapir-ping: sendmsg: {}\n", error.message());
      settle(seq);
      ++errors_;
    }
  }

  awaitable<void> receive() {
    for (;;) {
      DatagramInfo info;
      auto [error, n] =
          co_await socket_.async_receive_from(boost::asio::buffer(reply_), info, use_awaitable);
      if (error == std::errc::operation_canceled || !socket_.is_open()) co_return;
      if (error == std::errc::host_unreachable) {
        host_unreachable(transmitted_);
      } else if (error) {
        fmt::print(stderr, "tapir-ping: recvmsg: {}\n", error.message());
      } else {
        on_message(info, Bytes(reply_).first(n));
      }
      std::fflush(stdout);
      if (sending_done_ && outstanding() == 0) linger_timer_.cancel();
    }
  }

  void on_message(const DatagramInfo& info, Bytes message) {
    const wire::Icmpv4View icmp(message);
    if (!icmp.check()) return;
    if (icmp.type() == wire::Icmpv4Type::EchoReply) {
      on_reply(info, icmp);
      return;
    }
    // An error quoting one of our requests: its IPv4 header, then at least 8 bytes of ICMP.
    const wire::Ipv4View quoted(icmp.payload());
    if (!quoted.check_header() || quoted.payload().size() < wire::Icmpv4View::header_len) return;
    const std::uint16_t seq = wire::Icmpv4View(quoted.payload()).seq_no();
    fmt::print("From {} icmp_seq={} {}\n", info.remote.address, seq, describe_error(icmp));
    if (seq >= 1 && seq <= transmitted_ && settle(seq)) ++errors_;
  }

  void on_reply(const DatagramInfo& info, wire::Icmpv4View icmp) {
    const std::uint16_t seq = icmp.seq_no();
    if (seq < 1 || seq > transmitted_) return;  // not one of ours
    const Instant now = host_.runner().now();
    last_activity_ = now;
    const bool duplicate = replied_[seq];
    replied_[seq] = true;
    if (duplicate) {
      ++duplicates_;
    } else {
      ++received_;
      settle(seq);
    }
    std::string time;
    if (timed() && icmp.payload().size() >= kStampLen) {
      const auto sent = static_cast<std::int64_t>(load_be64(icmp.payload(), 0));
      const std::int64_t rtt = to_micros(now) - sent;
      if (rtt >= 0) {
        rtt_min_ = std::min(rtt_min_, rtt);
        rtt_max_ = std::max(rtt_max_, rtt);
        rtt_sum_ += static_cast<double>(rtt);
        rtt_sum2_ += static_cast<double>(rtt) * static_cast<double>(rtt);
        ++rtt_count_;
        time = fmt::format(" time={} ms", format_rtt(rtt));
      }
    }
    fmt::print("{} bytes from {}: icmp_seq={} ttl={}{}{}\n", info.len, info.remote.address, seq,
               info.ttl, time, duplicate ? " (DUP!)" : "");
  }

  // A next hop that did not answer ARP: every request up to last_seq still waiting went to it
  // (the stack drops them together and reports once); Linux reports each, from the host's own
  // address.
  void host_unreachable(unsigned last_seq) {
    for (unsigned seq = 1; seq <= last_seq; ++seq) {
      if (answered_[seq]) continue;
      fmt::print("From {} icmp_seq={} Destination Host Unreachable\n",
                 host_.config().address.address(), seq);
      settle(seq);
      ++errors_;
    }
  }

  // Marks seq answered (by a reply or an error); false if it already was.
  bool settle(unsigned seq) {
    if (answered_[seq]) return false;
    answered_[seq] = true;
    ++settled_;
    return true;
  }

  void print_statistics() {
    fmt::print("\n--- {} ping statistics ---\n", options_.destination);
    const double loss = transmitted_ == 0
                            ? 0.0
                            : static_cast<double>(transmitted_ - received_) * 100.0 / transmitted_;
    std::string extra;
    if (duplicates_ > 0) extra += fmt::format(", +{} duplicates", duplicates_);
    if (errors_ > 0) extra += fmt::format(", +{} errors", errors_);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(last_activity_ - first_send_);
    fmt::print("{} packets transmitted, {} received{}, {:g}% packet loss, time {}ms\n",
               transmitted_, received_, extra, static_cast<float>(loss), elapsed.count());
    if (rtt_count_ > 0) {
      const double n = static_cast<double>(rtt_count_);
      const double avg = rtt_sum_ / n;
      const double mdev = std::sqrt(std::max(0.0, rtt_sum2_ / n - avg * avg));
      fmt::print("rtt min/avg/max/mdev = {}/{}/{}/{} ms\n", format_ms(rtt_min_),
                 format_ms(std::llround(avg)), format_ms(rtt_max_), format_ms(std::llround(mdev)));
    }
    std::fflush(stdout);
  }

  drivers::TapHost& host_;
  drivers::AsyncIcmpSocket& socket_;
  PingOptions options_;
  std::vector<std::byte> request_;
  std::vector<std::byte> reply_;
  std::vector<bool> answered_;  // by seq: a reply or an error came
  std::vector<bool> replied_;   // by seq: a reply came
  boost::asio::steady_timer interval_timer_;
  boost::asio::steady_timer linger_timer_;
  unsigned transmitted_ = 0, settled_ = 0, received_ = 0, duplicates_ = 0, errors_ = 0;
  std::int64_t rtt_min_ = INT64_MAX, rtt_max_ = 0;
  double rtt_sum_ = 0, rtt_sum2_ = 0;
  unsigned rtt_count_ = 0;
  Instant first_send_{}, last_activity_{};
  bool sending_done_ = false;
  bool interrupted_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tapir-ping: send ICMP echo requests from a userspace TCP/IP stack"};
  apps::RawCommonOptions raw;
  apps::add_common_options(app, raw);
  std::string count, size, interval, timeout, destination;
  app.add_option("-c", count, "stop after COUNT requests, 1..65535 (default 4)")
      ->type_name("COUNT");
  app.add_option("-s", size, "data bytes per request, 0..65507 (default 56)")->type_name("SIZE");
  app.add_option("-i", interval, "seconds between requests, at least 0.01 (default 1)")
      ->type_name("SECONDS");
  app.add_option("-W", timeout, "seconds to wait for replies after the last request (default 2)")
      ->type_name("TIMEOUT");
  app.add_option("DEST", destination, "the address to ping, A.B.C.D")->required();
  int exit_code = 0;
  auto options = apps::parse_common(app, raw, "tapir-ping", argc, argv, exit_code);
  if (!options) return exit_code;
  auto ping = finish(count, size, interval, timeout, destination);
  if (!ping) {
    fmt::print(stderr, "tapir-ping: {}\n", ping.error());
    return 2;
  }

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-ping");
  if (!host) return 2;
  auto socket = host->stack().icmp_socket();
  if (!socket) {
    fmt::print(stderr, "tapir-ping: cannot open an ICMP socket: {}\n", socket.error().message());
    return 2;
  }
  drivers::AsyncIcmpSocket icmp(host->runner(), std::move(*socket));
  Pinger pinger(*host, icmp, *ping);

  host->start([&] { pinger.interrupt(); });
  boost::asio::co_spawn(io, pinger.run(), boost::asio::detached);
  io.run();
  host->log_counters();
  return pinger.any_reply() ? 0 : 1;
}
