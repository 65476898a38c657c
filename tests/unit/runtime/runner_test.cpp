// drivers/runtime: the Asio runner and the async socket adapters, with real time but no TAP.
// Two stacks joined by a MemoryWire (or a socketpair, for the descriptor path), each driven by
// its own Runner on one io_context. Every test is bounded by io_context::run_for, so none can
// hang.
#include "drivers/runtime/runner.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <fcntl.h>
#include <future>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "drivers/memory/fault_model.hpp"
#include "drivers/memory/memory_wire.hpp"
#include "drivers/runtime/async_socket.hpp"
#include "drivers/runtime/async_tcp.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmpv4.hpp"

namespace tapir::drivers {
namespace {

using boost::asio::awaitable;
using boost::asio::use_awaitable;
using namespace std::chrono_literals;

constexpr auto kBound = 5s;  // no test runs its io_context longer than this
const Ipv4Address kIpA{10, 0, 0, 1};
const Ipv4Address kIpB{10, 0, 0, 2};
constexpr MacAddress kMacA({0x02, 0, 0, 0, 0, 0x01});
constexpr MacAddress kMacB({0x02, 0, 0, 0, 0, 0x02});

std::unique_ptr<Stack> make_stack(std::uint64_t seed) {
  StackConfig config;
  config.seed = seed;
  return std::move(*Stack::create(config));
}

InterfaceId add_interface(Stack& stack, MacAddress mac, Ipv4Address ip) {
  return *stack.add_interface({.mac = mac, .address = *Ipv4Cidr::make(ip, 24)});
}

Bytes bytes_of(std::string_view s) {
  return as_bytes(s.data(), s.size());
}
std::string string_of(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};  // NOLINT: test helper
}

// Two stacks on a memory wire, each with its runner on one io_context (sharing one epoch, as
// the wire's timestamps require).
struct TwoHosts {
  explicit TwoHosts(MemoryWireConfig wire_config = {}, const FaultSpec& faults_at_a = {})
      : wire(wire_config), faulty_a(wire.a(), faults_at_a) {
    iface_a = add_interface(*a, kMacA, kIpA);
    iface_b = add_interface(*b, kMacB, kIpB);
    runner_a.attach(faulty_a, iface_a);
    runner_b.attach(wire.b(), iface_b);
  }
  void start() {
    runner_a.start();
    runner_b.start();
  }
  void stop() {
    runner_a.stop();
    runner_b.stop();
  }

  boost::asio::io_context io;
  MemoryWire wire;
  FaultyDevice faulty_a;
  std::unique_ptr<Stack> a = make_stack(1);
  std::unique_ptr<Stack> b = make_stack(2);
  InterfaceId iface_a = 0, iface_b = 0;
  Runner runner_a{io, *a};
  Runner runner_b{io, *b, runner_a};
};

AsyncUdpSocket bound_udp(Runner& runner, Stack& stack, std::uint16_t port) {
  auto socket = stack.udp_socket();
  EXPECT_TRUE(socket);
  EXPECT_TRUE(socket->bind({Ipv4Address::any(), port}));
  return AsyncUdpSocket(runner, std::move(*socket));
}

// RFC 862, once per datagram, until cancelled.
awaitable<void> echo_server(AsyncUdpSocket& socket) {
  std::array<std::byte, 2048> buffer{};
  for (;;) {
    Ipv4Endpoint from;
    auto [error, n] =
        co_await socket.async_receive_from(boost::asio::buffer(buffer), from, use_awaitable);
    if (error) co_return;
    co_await socket.async_send_to(boost::asio::buffer(buffer.data(), n), from, use_awaitable);
  }
}

struct ClientResult {
  std::error_code send_error, receive_error;
  std::size_t sent = 0;
  std::string reply;
  Ipv4Endpoint from;
  bool done = false;
};

awaitable<void> echo_client(AsyncUdpSocket& socket, Ipv4Endpoint server, std::string message,
                            ClientResult& out, TwoHosts& hosts, AsyncUdpSocket& server_socket) {
  std::tie(out.send_error, out.sent) = co_await socket.async_send_to(
      boost::asio::buffer(message.data(), message.size()), server, use_awaitable);
  std::array<std::byte, 2048> buffer{};
  std::size_t n = 0;
  std::tie(out.receive_error, n) =
      co_await socket.async_receive_from(boost::asio::buffer(buffer), out.from, use_awaitable);
  out.reply = string_of(Bytes(buffer).first(n));
  out.done = true;
  // Done: end the server and the runners, so the io_context runs out of work.
  server_socket.cancel();
  hosts.stop();
}

TEST(Runner, UdpEchoRoundTripWithCoroutines) {
  TwoHosts hosts;
  auto server = bound_udp(hosts.runner_b, *hosts.b, 7);
  auto client = bound_udp(hosts.runner_a, *hosts.a, 0);
  ClientResult result;
  boost::asio::co_spawn(hosts.io, echo_server(server), boost::asio::detached);
  boost::asio::co_spawn(hosts.io,
                        echo_client(client, {kIpB, 7}, "hello, tapir", result, hosts, server),
                        boost::asio::detached);
  hosts.start();
  const auto started = std::chrono::steady_clock::now();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(result.done);
  EXPECT_FALSE(result.send_error);
  EXPECT_EQ(result.sent, 12U);
  EXPECT_FALSE(result.receive_error);
  EXPECT_EQ(result.reply, "hello, tapir");
  EXPECT_EQ(result.from, (Ipv4Endpoint{kIpB, 7}));
  // The io_context ran out of work once everything was stopped: it did not sit out the bound.
  EXPECT_LT(std::chrono::steady_clock::now() - started, kBound);
  // A resolved B with ARP on the way.
  EXPECT_EQ(hosts.a->counters().arp.tx_requests.value(), 1U);
  EXPECT_EQ(hosts.b->counters().udp.rx_datagrams.value(), 1U);
  EXPECT_EQ(hosts.a->counters().udp.rx_datagrams.value(), 1U);
}

TEST(Runner, UdpRoundTripThroughDelayingFaultModelUsesDeviceDeadlines) {
  // Every frame from A waits 30 ms inside the fault decorator: only the runner's timer on the
  // device's next_deadline() gets it out.
  TwoHosts hosts({}, *FaultSpec::parse("delay=30ms,seed=3"));
  auto server = bound_udp(hosts.runner_b, *hosts.b, 7);
  auto client = bound_udp(hosts.runner_a, *hosts.a, 0);
  ClientResult result;
  boost::asio::co_spawn(hosts.io, echo_server(server), boost::asio::detached);
  boost::asio::co_spawn(hosts.io, echo_client(client, {kIpB, 7}, "slow", result, hosts, server),
                        boost::asio::detached);
  hosts.start();
  const auto started = std::chrono::steady_clock::now();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(result.done);
  EXPECT_EQ(result.reply, "slow");
  // Both ways through A's decorator: at least the datagram out and its answer back waited.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 2 * 30ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);  // not the announcement timer
  EXPECT_GE(hosts.faulty_a.fault_counters().delayed.value(), 2U);
}

struct PingResult {
  std::error_code send_error, receive_error;
  DatagramInfo info;
  std::vector<std::byte> reply;
  bool done = false;
};

awaitable<void> ping_once(AsyncIcmpSocket& socket, Ipv4Address to, PingResult& out,
                          TwoHosts& hosts) {
  std::array<std::byte, 8 + 5> request{};
  const wire::Icmpv4ViewMut icmp(request);
  icmp.set_type(wire::Icmpv4Type::EchoRequest);
  icmp.set_seq_no(1);
  store_bytes(icmp.payload(), 0, bytes_of("ping!"));
  std::size_t n = 0;
  std::tie(out.send_error, n) =
      co_await socket.async_send_to(boost::asio::buffer(request), to, use_awaitable);
  std::array<std::byte, 256> buffer{};
  std::tie(out.receive_error, n) =
      co_await socket.async_receive_from(boost::asio::buffer(buffer), out.info, use_awaitable);
  out.reply.assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  out.done = true;
  hosts.stop();
}

TEST(Runner, IcmpEchoRequestIsAnsweredByThePeerStack) {
  TwoHosts hosts;
  AsyncIcmpSocket pinger(hosts.runner_a, *hosts.a->icmp_socket());
  PingResult result;
  boost::asio::co_spawn(hosts.io, ping_once(pinger, kIpB, result, hosts), boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(result.done);
  EXPECT_FALSE(result.send_error);
  ASSERT_FALSE(result.receive_error);
  EXPECT_EQ(result.info.remote.address, kIpB);
  EXPECT_EQ(result.info.ttl, 64);
  const wire::Icmpv4View reply(result.reply);
  ASSERT_TRUE(reply.check());
  EXPECT_EQ(reply.type(), wire::Icmpv4Type::EchoReply);
  EXPECT_EQ(reply.ident(), *pinger.socket().ident());
  EXPECT_EQ(reply.seq_no(), 1);
  EXPECT_EQ(string_of(reply.payload()), "ping!");
  EXPECT_EQ(hosts.b->counters().icmp.tx_echo_replies.value(), 1U);
}

TEST(AsyncUdpSocket, CancelCompletesAPendingReceiveWithOperationAborted) {
  TwoHosts hosts;
  auto socket = bound_udp(hosts.runner_a, *hosts.a, 5000);
  std::array<std::byte, 16> buffer{};
  Ipv4Endpoint from;
  std::error_code got;
  int calls = 0;
  socket.async_receive_from(boost::asio::buffer(buffer), from,
                            [&](std::error_code error, std::size_t) {
                              got = error;
                              ++calls;
                            });
  hosts.io.poll();
  EXPECT_EQ(calls, 0);  // nothing to receive: it waits
  socket.cancel();
  EXPECT_EQ(calls, 0);  // never called from inside cancel()
  hosts.io.run_for(kBound);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, operation_aborted_error());
  EXPECT_EQ(got, std::errc::operation_canceled);
}

TEST(AsyncUdpSocket, ASecondReceiveWhileOneIsPendingIsRefused) {
  TwoHosts hosts;
  auto socket = bound_udp(hosts.runner_a, *hosts.a, 5000);
  std::array<std::byte, 16> buffer{};
  Ipv4Endpoint from;
  std::vector<std::error_code> got;
  auto record = [&](std::error_code error, std::size_t) { got.push_back(error); };
  socket.async_receive_from(boost::asio::buffer(buffer), from, record);
  socket.async_receive_from(boost::asio::buffer(buffer), from, record);
  hosts.io.poll();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0], std::errc::connection_already_in_progress);
  socket.cancel();
  hosts.io.run_for(kBound);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[1], std::errc::operation_canceled);
}

TEST(AsyncUdpSocket, DestroyingItAbortsThePendingOperation) {
  TwoHosts hosts;
  std::error_code got;
  {
    auto socket = bound_udp(hosts.runner_a, *hosts.a, 5000);
    std::array<std::byte, 16> buffer{};
    Ipv4Endpoint from;
    socket.async_receive_from(boost::asio::buffer(buffer), from,
                              [&](std::error_code error, std::size_t) { got = error; });
  }
  hosts.io.run_for(kBound);
  EXPECT_EQ(got, std::errc::operation_canceled);
}

TEST(AsyncUdpSocket, UseFutureAndCallbacksWork) {
  TwoHosts hosts;
  auto server = bound_udp(hosts.runner_b, *hosts.b, 9);
  auto client = bound_udp(hosts.runner_a, *hosts.a, 0);
  std::array<std::byte, 16> buffer{};
  Ipv4Endpoint from;
  std::size_t received = 0;
  server.async_receive_from(boost::asio::buffer(buffer), from,
                            [&](std::error_code error, std::size_t n) {
                              EXPECT_FALSE(error);
                              received = n;
                              hosts.stop();
                            });
  const std::string message = "discard me";
  auto sent = client.async_send_to(boost::asio::buffer(message.data(), message.size()), {kIpB, 9},
                                   boost::asio::use_future);
  hosts.start();
  hosts.io.run_for(kBound);
  // use_future's promise is set on Asio's system executor, another thread: wait for it.
  ASSERT_EQ(sent.wait_for(kBound), std::future_status::ready);
  auto [error, n] = sent.get();
  EXPECT_FALSE(error);
  EXPECT_EQ(n, message.size());
  EXPECT_EQ(received, message.size());
  EXPECT_EQ(string_of(Bytes(buffer).first(received)), message);
  EXPECT_EQ(from.address, kIpA);
}

TEST(AsyncUdpSocket, ErrorsOfTheSocketComeBackAsTheyAre) {
  TwoHosts hosts;
  auto socket = bound_udp(hosts.runner_a, *hosts.a, 0);
  std::error_code got;
  const std::string message = "nowhere";
  // 192.0.2.1 is off every connected prefix and there is no gateway.
  socket.async_send_to(boost::asio::buffer(message.data(), message.size()), {{192, 0, 2, 1}, 9},
                       [&](std::error_code error, std::size_t) { got = error; });
  hosts.io.run_for(kBound);
  EXPECT_EQ(got, std::errc::network_unreachable);
}

// ---- The descriptor path: a Device over one end of a socketpair, one datagram one frame, like
// a TAP.

class SocketpairDevice final : public Device {
 public:
  // Reads at most `per_call` frames per receive(), like a decorator that drops some of the
  // frames it reads and so returns fewer than asked while the descriptor still has more.
  explicit SocketpairDevice(int fd, std::size_t per_call = SIZE_MAX)
      : fd_(fd), per_call_(per_call) {}
  ~SocketpairDevice() override { ::close(fd_); }

  Medium medium() const override { return Medium::Ethernet; }
  std::size_t mtu() const override { return 1500; }
  Result<std::size_t> receive(Instant now, FrameHandler& handler, std::size_t max) override {
    ++receive_calls;
    std::size_t n = 0;
    while (n < std::min(max, per_call_)) {
      const ssize_t r = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return tl::unexpected(std::error_code(errno, std::system_category()));
      }
      counters_.rx_frames.inc();
      handler.on_frame(Bytes(buffer_.data(), static_cast<std::size_t>(r)), now);
      ++n;
    }
    return n;
  }
  Result<void> transmit(Bytes frame, Instant) override {
    if (::send(fd_, frame.data(), frame.size(), MSG_DONTWAIT) < 0) {
      counters_.tx_dropped_full.inc();
      return {};
    }
    counters_.tx_frames.inc();
    return {};
  }
  int native_handle() const override { return fd_; }
  const DeviceCounters& counters() const override { return counters_; }

  int receive_calls = 0;

 private:
  int fd_;
  std::size_t per_call_;
  std::array<std::byte, 2048> buffer_{};
  DeviceCounters counters_;
};

std::pair<int, int> socketpair_fds() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  return {fds[0], fds[1]};
}

TEST(Runner, UdpEchoOverDescriptorDevices) {
  auto [fd_a, fd_b] = socketpair_fds();
  boost::asio::io_context io;
  SocketpairDevice dev_a(fd_a), dev_b(fd_b);
  auto a = make_stack(1), b = make_stack(2);
  Runner runner_a(io, *a), runner_b(io, *b, runner_a);
  runner_a.attach(dev_a, add_interface(*a, kMacA, kIpA));
  runner_b.attach(dev_b, add_interface(*b, kMacB, kIpB));
  auto server = bound_udp(runner_b, *b, 7);
  auto client = bound_udp(runner_a, *a, 0);
  std::array<std::byte, 64> buffer{};
  std::array<std::byte, 64> echoed{};
  Ipv4Endpoint from, reply_from;
  std::string reply;
  server.async_receive_from(boost::asio::buffer(buffer), from,
                            [&](std::error_code error, std::size_t n) {
                              ASSERT_FALSE(error);
                              server.async_send_to(boost::asio::buffer(buffer.data(), n), from,
                                                   [](std::error_code, std::size_t) {});
                            });
  client.async_receive_from(boost::asio::buffer(echoed), reply_from,
                            [&](std::error_code error, std::size_t n) {
                              ASSERT_FALSE(error);
                              reply = string_of(Bytes(echoed).first(n));
                              runner_a.stop();
                              runner_b.stop();
                            });
  const std::string message = "over a descriptor";
  client.async_send_to(boost::asio::buffer(message.data(), message.size()), {kIpB, 7},
                       [](std::error_code, std::size_t) {});
  runner_a.start();
  runner_b.start();
  io.run_for(kBound);
  EXPECT_EQ(reply, message);
  EXPECT_EQ(reply_from, (Ipv4Endpoint{kIpB, 7}));
  // The runners released the descriptors without closing them: the devices own them.
  EXPECT_NE(::fcntl(fd_a, F_GETFD), -1);
  EXPECT_NE(::fcntl(fd_b, F_GETFD), -1);
}

// When frames wake the app, the runner polls the stack only after the app's handlers ran, so
// the ACK a request made due leaves inside the answer (RFC 9293 §3.8.6.3 lets an ACK wait for
// data to ride on): the echo server's side of one connection is three frames, SYN-ACK, the
// echo carrying the ACK of the request, and its FIN carrying the ACK of the client's FIN.
TEST(Runner, AnAnswerCarriesTheAckItsRequestMadeDue) {
  using boost::asio::redirect_error;
  using boost::asio::use_awaitable;
  auto [fd_a, fd_b] = socketpair_fds();
  boost::asio::io_context io;
  SocketpairDevice dev_a(fd_a), dev_b(fd_b);
  auto a = make_stack(1), b = make_stack(2);
  Runner runner_a(io, *a), runner_b(io, *b, runner_a);
  runner_a.attach(dev_a, add_interface(*a, kMacA, kIpA));
  runner_b.attach(dev_b, add_interface(*b, kMacB, kIpB));
  AsyncTcpAcceptor acceptor(runner_b, *b->tcp_listen({Ipv4Address::any(), 7}));
  std::string reply(4, '\0');
  bool server_done = false, client_done = false;
  auto stop_when_done = [&] {
    if (!server_done || !client_done) return;
    runner_a.stop();
    runner_b.stop();
  };
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        boost::system::error_code error;
        AsyncTcpSocket socket =
            co_await acceptor.async_accept(redirect_error(use_awaitable, error));
        std::array<char, 64> buffer{};
        for (;;) {
          const std::size_t n = co_await socket.async_read_some(
              boost::asio::buffer(buffer), redirect_error(use_awaitable, error));
          if (error) break;
          co_await boost::asio::async_write(socket, boost::asio::buffer(buffer.data(), n),
                                            redirect_error(use_awaitable, error));
        }
        socket.close();
        server_done = true;
        stop_when_done();
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        boost::system::error_code error;
        AsyncTcpSocket socket(runner_a);
        co_await socket.async_connect({kIpB, 7}, redirect_error(use_awaitable, error));
        co_await boost::asio::async_write(socket, boost::asio::buffer(std::string_view("ping")),
                                          redirect_error(use_awaitable, error));
        co_await boost::asio::async_read(socket, boost::asio::buffer(reply),
                                         redirect_error(use_awaitable, error));
        (void)socket.shutdown_send();
        std::array<char, 8> rest{};
        (void)co_await socket.async_read_some(boost::asio::buffer(rest),
                                              redirect_error(use_awaitable, error));
        client_done = true;
        stop_when_done();
      },
      boost::asio::detached);
  runner_a.start();
  runner_b.start();
  io.run_for(kBound);
  EXPECT_EQ(reply, "ping");
  ASSERT_TRUE(server_done && client_done);
  // B's segments: the connection's three, none of them a pure ACK.
  EXPECT_EQ(b->counters().tcp.tx_segments.value(), 3U);
}

// Frames waiting in the descriptor are all read, in batches of Runner::kBatch, even when no new
// frame arrives to wake the runner again, and even when the device returns fewer frames than
// asked while more are queued (Asio watches descriptors edge-triggered).
void expect_all_queued_frames_read(std::size_t per_call, std::size_t frames) {
  auto [fd_stack, fd_peer] = socketpair_fds();
  boost::asio::io_context io;
  SocketpairDevice device(fd_stack, per_call);
  auto stack = make_stack(1);
  Runner runner(io, *stack);
  runner.attach(device, add_interface(*stack, kMacA, kIpA));
  std::array<std::byte, 60> junk{};  // an Ethernet frame for no one: counted and dropped
  for (std::size_t i = 0; i < frames; ++i)
    ASSERT_EQ(::send(fd_peer, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
  runner.start();
  boost::asio::steady_timer deadline(io, 300ms);
  deadline.async_wait([&](const boost::system::error_code&) { runner.stop(); });
  io.run_for(kBound);
  EXPECT_EQ(device.counters().rx_frames.value(), frames);
  EXPECT_EQ(stack->counters().eth.rx_frames.value(), frames);
  ::close(fd_peer);
}

TEST(Runner, ReadsEveryQueuedFrameInBatches) {
  expect_all_queued_frames_read(SIZE_MAX, 3 * Runner::kBatch + 5);
}

TEST(Runner, ReadsEveryQueuedFrameWhenTheDeviceHandsOverFewerThanAsked) {
  expect_all_queued_frames_read(1, 10);
}

// Busy polling: a frame that arrives within the budget after the descriptor was read dry is
// read by the runner's polling (drv.busy_poll_hits), not by a wake-up from the reactor; once
// the budget has run out the runner sleeps: nothing of it is left to run.
struct BusyPollRun {
  std::uint64_t frames = 0;
  std::uint64_t hits = 0;
  bool spinning_at_end = false;
};

BusyPollRun busy_poll_run(std::chrono::microseconds budget, std::chrono::milliseconds frame_after,
                          std::chrono::milliseconds run_for) {
  auto [fd_stack, fd_peer] = socketpair_fds();
  boost::asio::io_context io;
  SocketpairDevice device(fd_stack);
  auto stack = make_stack(1);
  Runner runner(io, *stack);
  runner.set_busy_poll(budget);
  runner.attach(device, add_interface(*stack, kMacA, kIpA));
  runner.start();
  std::array<std::byte, 60> junk{};  // an Ethernet frame for no one: counted and dropped
  boost::asio::steady_timer send_at(io, frame_after);
  send_at.async_wait([&, fd = fd_peer](const boost::system::error_code&) {
    EXPECT_EQ(::send(fd, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
  });
  io.run_for(run_for);
  BusyPollRun out;
  out.frames = stack->counters().eth.rx_frames.value();
  out.hits = runner.counters().busy_poll_hits.value();
  // The start-up announcement's timer is seconds away: a handler ready now is the runner's
  // polling.
  out.spinning_at_end = io.poll_one() > 0;
  runner.stop();
  io.run_for(10ms);
  ::close(fd_peer);
  return out;
}

TEST(Runner, BusyPollingReadsAFrameWithinTheBudgetWithoutSleeping) {
  const auto r = busy_poll_run(2s, 30ms, 60ms);
  EXPECT_EQ(r.frames, 1U);
  EXPECT_EQ(r.hits, 1U);
  EXPECT_TRUE(r.spinning_at_end);  // the budget restarted with the frame
}

TEST(Runner, BusyPollingSleepsOnceTheBudgetRunsOut) {
  // 10 ms budget, frame at 60 ms: read by the reactor; 60 ms later the runner sleeps again.
  const auto r = busy_poll_run(10ms, 60ms, 120ms);
  EXPECT_EQ(r.frames, 1U);
  EXPECT_EQ(r.hits, 0U);
  EXPECT_FALSE(r.spinning_at_end);
}

TEST(Runner, WithoutBusyPollingTheRunnerSleepsAtOnce) {
  boost::asio::io_context io;
  auto stack = make_stack(1);
  EXPECT_EQ(Runner(io, *stack).busy_poll(), std::chrono::microseconds{0});  // the default
  const auto r = busy_poll_run(std::chrono::microseconds{0}, 20ms, 40ms);
  EXPECT_EQ(r.frames, 1U);
  EXPECT_EQ(r.hits, 0U);
  EXPECT_FALSE(r.spinning_at_end);
}

// A device whose receive() fails: logged once, no longer read.
class BrokenDevice final : public Device {
 public:
  explicit BrokenDevice(int fd) : fd_(fd) {}
  Medium medium() const override { return Medium::Ethernet; }
  std::size_t mtu() const override { return 1500; }
  Result<std::size_t> receive(Instant, FrameHandler&, std::size_t) override {
    ++receive_calls;
    return tl::unexpected(std::make_error_code(std::errc::no_such_device));
  }
  Result<void> transmit(Bytes, Instant) override { return {}; }
  int native_handle() const override { return fd_; }
  const DeviceCounters& counters() const override { return counters_; }
  int receive_calls = 0;

 private:
  int fd_;
  DeviceCounters counters_;
};

TEST(Runner, StopsReadingADeviceWhoseReceiveFails) {
  auto [fd_stack, fd_peer] = socketpair_fds();
  boost::asio::io_context io;
  BrokenDevice device(fd_stack);
  auto stack = make_stack(1);
  Runner runner(io, *stack);
  runner.attach(device, add_interface(*stack, kMacA, kIpA));
  std::array<std::byte, 60> junk{};
  ASSERT_EQ(::send(fd_peer, junk.data(), junk.size(), 0), 60);  // stays readable: never read
  runner.start();
  boost::asio::steady_timer deadline(io, 200ms);
  deadline.async_wait([&](const boost::system::error_code&) { runner.stop(); });
  io.run_for(kBound);
  EXPECT_EQ(device.receive_calls, 1);
  EXPECT_EQ(runner.counters().device_failed.value(), 1U);
  ::close(fd_stack);
  ::close(fd_peer);
}

TEST(Runner, KicksCoalesceIntoOnePoll) {
  TwoHosts hosts;
  hosts.runner_a.start();
  hosts.io.poll();  // the start-up poll
  const auto before = hosts.runner_a.counters().wakeups.value();
  hosts.runner_a.kick();
  hosts.runner_a.kick();
  hosts.runner_a.kick();
  hosts.io.poll();
  EXPECT_EQ(hosts.runner_a.counters().wakeups.value(), before + 1);
  hosts.stop();
}

TEST(Runner, ClockStartsAtZeroAndAdvances) {
  boost::asio::io_context io;
  auto stack = make_stack(1);
  Runner runner(io, *stack);
  const Instant first = runner.now();
  EXPECT_GE(first, Instant{});
  EXPECT_LT(first, Instant{} + 1s);
  std::this_thread::sleep_for(2ms);
  EXPECT_GE(runner.now() - first, 2ms);
  // The wall clock at the epoch is within a second of now, less the time since the epoch.
  const auto wall_now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  EXPECT_LT(std::chrono::abs(wall_now - runner.now().time_since_epoch() - runner.wall_offset()),
            1s);
}

TEST(Runner, AnnouncesTheAddressAtStartAndStopsCleanly) {
  TwoHosts hosts;
  hosts.start();
  // RFC 5227 §2.3: two announcements, two seconds apart; the runner's timer sends the second.
  boost::asio::steady_timer deadline(hosts.io, 2500ms);
  deadline.async_wait([&](const boost::system::error_code&) { hosts.stop(); });
  hosts.io.run_for(kBound);
  EXPECT_EQ(hosts.a->counters().arp.tx_announcements.value(), 2U);
  EXPECT_EQ(hosts.b->counters().arp.tx_announcements.value(), 2U);
}

}  // namespace
}  // namespace tapir::drivers
