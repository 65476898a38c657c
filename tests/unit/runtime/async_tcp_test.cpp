// drivers/runtime/async_tcp.hpp: AsyncTcpSocket and AsyncTcpAcceptor over two stacks joined by
// a MemoryWire, each driven by its own Runner on one io_context, in real time
// (tests/support/two_hosts.hpp). Asio's own
// composed operations (async_read, async_write, async_read_until) run on the adapters, and
// coroutines, callbacks and use_future all work. Every test is bounded by io_context::run_for.
#include "drivers/runtime/async_tcp.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "stack/stack.hpp"
#include "tests/support/two_hosts.hpp"

namespace tapir::drivers {
namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using boost::system::error_code;
using namespace std::chrono_literals;

constexpr auto kBound = 10s;  // no test runs its io_context longer than this
constexpr std::uint16_t kPort = 7;

using test::kIpB;
using test::TwoHosts;

// A listener on B.
AsyncTcpAcceptor listen(TwoHosts& hosts, std::uint16_t port = kPort) {
  auto listener = hosts.b->tcp_listen({Ipv4Address::any(), port});
  EXPECT_TRUE(listener) << listener.error().message();
  return AsyncTcpAcceptor(hosts.runner_b, std::move(*listener));
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// RFC 862 over TCP on B: every connection a coroutine echoing each byte until the peer's FIN.
// Once the clients are done and every session has ended, the runners stop, so the io_context
// runs out of work.
struct EchoServer {
  explicit EchoServer(TwoHosts& h) : hosts(h), acceptor(listen(h)) {
    boost::asio::co_spawn(hosts.io, serve(), boost::asio::detached);
  }
  // The clients have closed their connections: stop when the sessions have seen the FINs.
  void clients_done() {
    done = true;
    acceptor.close();
    maybe_stop();
  }

  awaitable<void> serve() {
    for (;;) {
      error_code error;
      AsyncTcpSocket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, error));
      if (error) co_return;
      boost::asio::co_spawn(acceptor.get_executor(), session(std::move(socket)),
                            boost::asio::detached);
    }
  }

  awaitable<void> session(AsyncTcpSocket socket) {
    ++sessions;
    std::array<char, 4096> buffer{};
    for (;;) {
      error_code error;
      const std::size_t n = co_await socket.async_read_some(boost::asio::buffer(buffer),
                                                            redirect_error(use_awaitable, error));
      if (error) break;  // eof
      co_await boost::asio::async_write(socket, boost::asio::buffer(buffer.data(), n),
                                        redirect_error(use_awaitable, error));
      if (error) break;
    }
    --sessions;
    maybe_stop();
  }

  void maybe_stop() {
    if (done && sessions == 0) hosts.stop();
  }

  TwoHosts& hosts;
  AsyncTcpAcceptor acceptor;
  int sessions = 0;
  bool done = false;
};

struct ClientResult {
  error_code connect_error, write_error, read_error;
  std::size_t written = 0, read = 0;
  std::string reply;
  bool done = false;
};

// Connects, writes `message` with async_write, reads as many bytes back with async_read.
awaitable<void> echo_client(Runner& runner, Ipv4Endpoint server, std::string message,
                            ClientResult& out) {
  AsyncTcpSocket socket(runner);
  co_await socket.async_connect(server, redirect_error(use_awaitable, out.connect_error));
  if (out.connect_error) co_return;
  out.written = co_await boost::asio::async_write(socket, boost::asio::buffer(message),
                                                  redirect_error(use_awaitable, out.write_error));
  out.reply.resize(message.size());
  out.read = co_await boost::asio::async_read(socket, boost::asio::buffer(out.reply),
                                              redirect_error(use_awaitable, out.read_error));
  out.done = true;
  socket.close();
}

TEST(AsyncTcpSocket, EchoRoundTripWithAsioComposedOperations) {
  TwoHosts hosts;
  EchoServer server(hosts);
  ClientResult result;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        co_await echo_client(hosts.runner_a, {kIpB, kPort}, "hello, tapir over TCP", result);
        server.clients_done();
      },
      boost::asio::detached);
  hosts.start();
  const auto started = std::chrono::steady_clock::now();
  hosts.io.run_for(kBound);
  // The io_context ran out of work: the session saw the FIN, nothing was left waiting.
  EXPECT_LT(std::chrono::steady_clock::now() - started, kBound);
  EXPECT_EQ(server.sessions, 0);
  ASSERT_TRUE(result.done) << result.connect_error.message();
  EXPECT_FALSE(result.write_error);
  EXPECT_FALSE(result.read_error);
  EXPECT_EQ(result.written, 21U);
  EXPECT_EQ(result.reply, "hello, tapir over TCP");
}

TEST(AsyncTcpSocket, LargeTransferArrivesIntactBothWays) {
  // Far more than the send and receive buffers: async_write and async_read loop over many
  // partial operations, and the windows open and close.
  TwoHosts hosts;
  EchoServer server(hosts);
  const std::string message = pattern(2 * 1024 * 1024 + 17);
  ClientResult result;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        // Write and read at once, or the echo's buffers fill up and both sides stall.
        AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, kPort},
                                      redirect_error(use_awaitable, result.connect_error));
        if (result.connect_error) co_return;
        boost::asio::co_spawn(
            socket.get_executor(),
            [&]() -> awaitable<void> {
              result.written = co_await boost::asio::async_write(
                  socket, boost::asio::buffer(message),
                  redirect_error(use_awaitable, result.write_error));
            },
            boost::asio::detached);
        result.reply.resize(message.size());
        result.read =
            co_await boost::asio::async_read(socket, boost::asio::buffer(result.reply),
                                             redirect_error(use_awaitable, result.read_error));
        result.done = true;
        socket.close();
        server.clients_done();
      },
      boost::asio::detached);
  hosts.start();
  const auto started = std::chrono::steady_clock::now();
  hosts.io.run_for(kBound);
  EXPECT_LT(std::chrono::steady_clock::now() - started, kBound);
  ASSERT_TRUE(result.done) << result.connect_error.message() << " " << result.read_error.message();
  EXPECT_FALSE(result.write_error);
  EXPECT_EQ(result.written, message.size());
  EXPECT_EQ(result.read, message.size());
  EXPECT_TRUE(result.reply == message);
}

TEST(AsyncTcpSocket, ManyConnectionsAtOnce) {
  TwoHosts hosts;
  EchoServer server(hosts);
  constexpr int kClients = 20;
  std::vector<ClientResult> results(kClients);
  int finished = 0;
  for (int i = 0; i < kClients; ++i) {
    boost::asio::co_spawn(
        hosts.io,
        [&, i]() -> awaitable<void> {
          co_await echo_client(hosts.runner_a, {kIpB, kPort},
                               "client " + std::to_string(i) + " " +
                                   pattern(3000 + 100 * static_cast<std::size_t>(i)),
                               results[static_cast<std::size_t>(i)]);
          if (++finished == kClients) server.clients_done();
        },
        boost::asio::detached);
  }
  hosts.start();
  const auto started = std::chrono::steady_clock::now();
  hosts.io.run_for(kBound);
  EXPECT_LT(std::chrono::steady_clock::now() - started, kBound);
  EXPECT_EQ(finished, kClients);
  for (int i = 0; i < kClients; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    EXPECT_TRUE(r.done) << i;
    EXPECT_EQ(r.reply.rfind("client " + std::to_string(i) + " ", 0), 0U) << i;
    EXPECT_EQ(r.read, r.written) << i;
  }
}

TEST(AsyncTcpSocket, PeerCloseEndsAsyncReadWithEof) {
  // Asio's transfer_all reads until the buffer is full; the peer's FIN first ends it with eof
  // and the bytes that did arrive.
  TwoHosts hosts;
  auto acceptor = listen(hosts);
  error_code read_error, second_error;
  std::size_t n = 0, second = 99;
  bool done = false;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket peer = co_await acceptor.async_accept(use_awaitable);
        co_await boost::asio::async_write(peer, boost::asio::buffer(std::string_view("short")),
                                          use_awaitable);
        peer.close();  // FIN after the data
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, kPort}, use_awaitable);
        std::array<char, 64> buffer{};
        n = co_await boost::asio::async_read(socket, boost::asio::buffer(buffer),
                                             redirect_error(use_awaitable, read_error));
        EXPECT_EQ(std::string_view(buffer.data(), n), "short");
        second = co_await socket.async_read_some(boost::asio::buffer(buffer),
                                                 redirect_error(use_awaitable, second_error));
        done = true;
        hosts.stop();
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(done);
  EXPECT_EQ(n, 5U);
  EXPECT_EQ(read_error, boost::asio::error::eof);
  EXPECT_EQ(second_error, boost::asio::error::eof);  // and again on every later read
  EXPECT_EQ(second, 0U);
}

TEST(AsyncTcpSocket, AsyncReadUntilWithADynamicBuffer) {
  TwoHosts hosts;
  auto acceptor = listen(hosts);
  std::string head;
  std::size_t until = 0;
  bool done = false;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket peer = co_await acceptor.async_accept(use_awaitable);
        // In three pieces, the delimiter split across two of them.
        for (std::string_view piece : {"GET / HTTP/1.1\r\nHo", "st: a\r\n\r", "\nbody"}) {
          co_await boost::asio::async_write(peer, boost::asio::buffer(piece), use_awaitable);
          co_await boost::asio::steady_timer(peer.get_executor(), 5ms).async_wait(use_awaitable);
        }
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, kPort}, use_awaitable);
        until = co_await boost::asio::async_read_until(socket, boost::asio::dynamic_buffer(head),
                                                       "\r\n\r\n", use_awaitable);
        done = true;
        hosts.stop();
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(done);
  EXPECT_EQ(until, 27U);
  EXPECT_EQ(head.substr(0, until), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(AsyncTcpSocket, ScatterGatherBufferSequences) {
  TwoHosts hosts;
  EchoServer server(hosts);
  std::array<char, 3> r1{};
  std::array<char, 4> r2{};
  std::size_t got = 0;
  bool done = false;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, kPort}, use_awaitable);
        const std::array<boost::asio::const_buffer, 3> out = {
            boost::asio::buffer(std::string_view("ab")), boost::asio::buffer(std::string_view("")),
            boost::asio::buffer(std::string_view("cdefg"))};
        co_await boost::asio::async_write(socket, out, use_awaitable);
        const std::array<boost::asio::mutable_buffer, 2> in = {boost::asio::buffer(r1),
                                                               boost::asio::buffer(r2)};
        got = co_await boost::asio::async_read(socket, in, use_awaitable);
        done = true;
        socket.close();
        server.clients_done();
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(done);
  EXPECT_EQ(got, 7U);
  EXPECT_EQ(std::string_view(r1.data(), r1.size()), "abc");
  EXPECT_EQ(std::string_view(r2.data(), r2.size()), "defg");
}

TEST(AsyncTcpSocket, ConnectToAClosedPortIsRefused) {
  TwoHosts hosts;  // B listens nowhere: its stack answers the SYN with a RST
  error_code error;
  bool done = false;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, 9999}, redirect_error(use_awaitable, error));
        done = true;
        hosts.stop();
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(done);
  EXPECT_EQ(error, boost::asio::error::connection_refused) << error.message();
  EXPECT_EQ(error, boost::system::errc::connection_refused);
}

TEST(AsyncTcpSocket, UseAwaitableThrowsAsAsioDoes) {
  TwoHosts hosts;
  bool threw = false;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket socket(hosts.runner_a);
        try {
          co_await socket.async_connect({kIpB, 9999}, use_awaitable);
        } catch (const boost::system::system_error& e) {
          threw = e.code() == boost::asio::error::connection_refused;
        }
        hosts.stop();
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  EXPECT_TRUE(threw);
}

TEST(AsyncTcpSocket, PeerAbortResetsTheConnection) {
  TwoHosts hosts;
  auto acceptor = listen(hosts);
  error_code error;
  bool done = false;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket peer = co_await acceptor.async_accept(use_awaitable);
        peer.abort();
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, kPort}, use_awaitable);
        std::array<char, 16> buffer{};
        co_await socket.async_read_some(boost::asio::buffer(buffer),
                                        redirect_error(use_awaitable, error));
        done = true;
        hosts.stop();
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_TRUE(done);
  EXPECT_EQ(error, boost::asio::error::connection_reset) << error.message();
}

TEST(AsyncTcpSocket, CallbacksAreNeverCalledInsideTheInitiatingFunction) {
  TwoHosts hosts;
  auto acceptor = listen(hosts);
  AsyncTcpSocket socket(hosts.runner_a);
  int connects = 0, reads = 0, accepts = 0;
  error_code connect_error, read_error;
  AsyncTcpSocket accepted(hosts.runner_b);
  acceptor.async_accept(accepted, [&](error_code e) {
    EXPECT_FALSE(e);
    ++accepts;
  });
  socket.async_connect({kIpB, kPort}, [&](error_code e) {
    connect_error = e;
    ++connects;
  });
  EXPECT_EQ(connects, 0);
  EXPECT_EQ(accepts, 0);
  hosts.start();
  for (int i = 0; i < 1000 && (connects == 0 || accepts == 0); ++i)
    hosts.io.run_one_for(10ms);
  EXPECT_EQ(connects, 1);
  EXPECT_EQ(accepts, 1);
  EXPECT_FALSE(connect_error);
  EXPECT_TRUE(accepted.is_open());
  std::array<char, 8> buffer{};
  socket.async_read_some(boost::asio::buffer(buffer), [&](error_code e, std::size_t) {
    read_error = e;
    ++reads;
  });
  hosts.io.poll();
  EXPECT_EQ(reads, 0);  // nothing arrived: it waits
  socket.cancel();
  EXPECT_EQ(reads, 0);  // never called from inside cancel()
  hosts.io.poll();
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(read_error, boost::asio::error::operation_aborted);
  hosts.stop();
}

TEST(AsyncTcpSocket, ASecondReadWhileOneIsPendingIsRefusedAndZeroBytesCompleteAtOnce) {
  TwoHosts hosts;
  auto acceptor = listen(hosts);
  AsyncTcpSocket socket(hosts.runner_a);
  AsyncTcpSocket accepted(hosts.runner_b);
  acceptor.async_accept(accepted, [](error_code) {});
  bool connected = false;
  socket.async_connect({kIpB, kPort}, [&](error_code e) { connected = !e; });
  hosts.start();
  for (int i = 0; i < 1000 && (!connected || !accepted.is_open()); ++i)
    hosts.io.run_one_for(10ms);
  ASSERT_TRUE(connected);
  std::array<char, 8> buffer{};
  error_code first, second, empty;
  std::size_t empty_n = 99;
  socket.async_read_some(boost::asio::buffer(buffer),
                         [&](error_code e, std::size_t) { first = e; });
  socket.async_read_some(boost::asio::buffer(buffer),
                         [&](error_code e, std::size_t) { second = e; });
  accepted.async_read_some(boost::asio::mutable_buffer(), [&](error_code e, std::size_t n) {
    empty = e;
    empty_n = n;
  });
  hosts.io.poll();
  EXPECT_EQ(second, boost::asio::error::already_started);
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty_n, 0U);
  socket.close();
  hosts.io.poll();
  EXPECT_EQ(first, boost::asio::error::operation_aborted);
  hosts.stop();
}

TEST(AsyncTcpSocket, DestroyingItAbortsThePendingRead) {
  TwoHosts hosts;
  auto acceptor = listen(hosts);
  auto socket = std::make_unique<AsyncTcpSocket>(hosts.runner_a);
  AsyncTcpSocket accepted(hosts.runner_b);
  acceptor.async_accept(accepted, [](error_code) {});
  bool connected = false;
  socket->async_connect({kIpB, kPort}, [&](error_code e) { connected = !e; });
  hosts.start();
  for (int i = 0; i < 1000 && !connected; ++i)
    hosts.io.run_one_for(10ms);
  ASSERT_TRUE(connected);
  std::array<char, 8> buffer{};
  error_code got;
  int calls = 0;
  socket->async_read_some(boost::asio::buffer(buffer), [&](error_code e, std::size_t) {
    got = e;
    ++calls;
  });
  socket.reset();
  hosts.io.poll();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, boost::asio::error::operation_aborted);
  hosts.stop();
}

TEST(AsyncTcpSocket, UseFutureWorksForSingleOperations) {
  // use_future's promise is set on Asio's system executor, another thread, while this one runs
  // the io_context. (Not with the composed operations: their intermediate steps would run on
  // that thread too, and the adapters are not thread-safe.)
  TwoHosts hosts;
  EchoServer server(hosts);
  AsyncTcpSocket socket(hosts.runner_a);
  auto connected = socket.async_connect({kIpB, kPort}, boost::asio::use_future);
  hosts.start();
  auto wait = [&](auto& future) {
    for (int i = 0; i < 1000 && future.wait_for(0s) != std::future_status::ready; ++i)
      hosts.io.run_one_for(10ms);
    return future.wait_for(0s) == std::future_status::ready;
  };
  ASSERT_TRUE(wait(connected));
  EXPECT_NO_THROW(connected.get());
  auto written = socket.async_write_some(boost::asio::buffer(std::string_view("ping")),
                                         boost::asio::use_future);
  ASSERT_TRUE(wait(written));
  EXPECT_EQ(written.get(), 4U);
  std::array<char, 4> buffer{};
  auto echoed = socket.async_read_some(boost::asio::buffer(buffer), boost::asio::use_future);
  ASSERT_TRUE(wait(echoed));
  EXPECT_GE(echoed.get(), 1U);
  EXPECT_EQ(buffer[0], 'p');
  socket.close();
  server.clients_done();
  hosts.io.run_for(kBound);  // until the session has seen the FIN and ended
  EXPECT_EQ(server.sessions, 0);
}

TEST(ToBoostError, ErrnoCodesBecomeAsiosOwn) {
  EXPECT_EQ(to_boost_error(std::make_error_code(std::errc::connection_refused)),
            boost::asio::error::connection_refused);
  EXPECT_EQ(to_boost_error(std::make_error_code(std::errc::connection_reset)),
            boost::asio::error::connection_reset);
  EXPECT_EQ(to_boost_error(std::make_error_code(std::errc::broken_pipe)),
            boost::asio::error::broken_pipe);
  EXPECT_EQ(to_boost_error(std::make_error_code(std::errc::timed_out)),
            boost::asio::error::timed_out);
  EXPECT_EQ(to_boost_error(std::make_error_code(std::errc::network_unreachable)),
            boost::asio::error::network_unreachable);
  EXPECT_EQ(to_boost_error(std::make_error_code(std::errc::timed_out)),
            boost::system::errc::timed_out);
  EXPECT_FALSE(to_boost_error(std::error_code()));
}

TEST(ToBoostError, OtherCategoriesKeepTheirMessage) {
  const std::error_code e = make_error_code(Errc::no_buffer_space);
  const auto b = to_boost_error(e);
  EXPECT_TRUE(b);
  EXPECT_EQ(b.value(), e.value());
  EXPECT_EQ(b.message(), e.message());
  EXPECT_STREQ(b.category().name(), e.category().name());
  EXPECT_EQ(to_boost_error(e).category(), b.category());  // one category per std category
}

}  // namespace
}  // namespace tapir::drivers
