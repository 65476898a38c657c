// tapir-httpd's server (apps/httpd/http_server.hpp) and tapir-get's client
// (apps/get/http_client.hpp) over two in-process stacks joined by a memory wire, in real time
// (tests/support/two_hosts.hpp): A fetches from B. Files come from the document root of
// http_fixture.hpp. Every test is bounded by io_context::run_for.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "apps/get/http_client.hpp"
#include "apps/http/file_server.hpp"
#include "apps/httpd/http_server.hpp"
#include "tests/support/two_hosts.hpp"
#include "tests/unit/apps/http_fixture.hpp"

namespace tapir::apps {
namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using namespace std::chrono_literals;
using test::kIpB;
using test::TwoHosts;

constexpr auto kBound = 20s;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + i / 997) & 0xff);
  return s;
}

class MemorySink final : public BodySink {
 public:
  bool begin(const http::ResponseHead&, std::optional<std::uint64_t> length) override {
    began = true;
    expected = length;
    return true;
  }
  bool write(std::string_view data) override {
    body.append(data);
    return !fail_writes;
  }
  bool end() override {
    ended = true;
    return true;
  }
  std::string error() const override { return "memory: full"; }

  bool began = false, ended = false, fail_writes = false;
  std::optional<std::uint64_t> expected;
  std::string body;
};

// B serves the fixture's document root on port 80; A runs clients.
class HttpOverTcp : public http::DocumentRootFixture {
 protected:
  void SetUp() override {
    DocumentRootFixture::SetUp();
    write(www_ / "big.bin", big_);
  }

  void serve(TwoHosts& hosts, HttpServerOptions options = {}) {
    options.on_request = [this](const RequestLog& log) { log_.push_back(log); };
    files_.emplace(*http::DocumentRoot::open(www_));
    auto listener = hosts.b->tcp_listen({Ipv4Address::any(), 80});
    ASSERT_TRUE(listener);
    server_ = std::make_unique<HttpServer>(hosts.runner_b, std::move(*listener), *files_,
                                           std::move(options));
    server_->start();
  }

  // Runs one GET from A to `url` to the end; the server is stopped after it.
  GetOutcome get(TwoHosts& hosts, const std::string& url, MemorySink& sink,
                 std::chrono::steady_clock::duration timeout = 10s) {
    HttpGet client(hosts.runner_a, *http::Url::parse(url), sink, timeout);
    boost::asio::co_spawn(
        hosts.io,
        [&]() -> awaitable<void> {
          co_await client.run();
          finish(hosts);
        },
        boost::asio::detached);
    hosts.start();
    hosts.io.run_for(kBound);
    return client.outcome();
  }

  // Stops the server, then the runners once its connections have ended.
  void finish(TwoHosts& hosts) {
    if (server_) server_->stop();
    boost::asio::co_spawn(
        hosts.io,
        [&]() -> awaitable<void> {
          while (server_ && server_->open_connections() > 0)
            co_await boost::asio::post(hosts.io, use_awaitable);
          hosts.stop();
        },
        boost::asio::detached);
  }

  const std::string big_ = pattern(3 * 1024 * 1024 + 5);
  std::optional<http::FileServer> files_;
  std::unique_ptr<HttpServer> server_;
  std::vector<RequestLog> log_;
};

TEST_F(HttpOverTcp, GetsAFile) {
  TwoHosts hosts;
  serve(hosts);
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2/hello.txt", sink);
  EXPECT_EQ(out.status, GetStatus::Ok) << out.message;
  EXPECT_EQ(out.message, "");
  EXPECT_EQ(sink.body, "hello\n");
  EXPECT_EQ(sink.expected, 6U);
  EXPECT_TRUE(sink.ended);
  ASSERT_TRUE(out.head);
  EXPECT_EQ(out.head->fields.get("Server"), "tapir-httpd");
  ASSERT_EQ(log_.size(), 1U);
  EXPECT_EQ(log_[0].client.address, test::kIpA);
  EXPECT_EQ(log_[0].method, "GET");
  EXPECT_EQ(log_[0].target, "/hello.txt");
  EXPECT_EQ(log_[0].status, 200U);
  EXPECT_EQ(log_[0].bytes, 6U);
  EXPECT_EQ(format_request_log(log_[0]).substr(0, 9), "10.0.0.1:");
}

TEST_F(HttpOverTcp, StreamsALargeFileIntact) {
  TwoHosts hosts;
  serve(hosts);
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2/big.bin", sink);
  EXPECT_EQ(out.status, GetStatus::Ok) << out.message;
  EXPECT_EQ(out.body_bytes, big_.size());
  EXPECT_TRUE(sink.body == big_);
  EXPECT_EQ(server_->totals().bytes, big_.size());
}

TEST_F(HttpOverTcp, StreamsALargeFileIntactOverALossyWire) {
  const auto faults = *drivers::FaultSpec::parse("loss=2%,dup=1%,reorder=3%,seed=11");
  std::printf("faults: loss=2%%,dup=1%%,reorder=3%%,seed=11\n");
  TwoHosts hosts(faults);
  serve(hosts);
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2/big.bin", sink);
  EXPECT_EQ(out.status, GetStatus::Ok) << out.message;
  EXPECT_TRUE(sink.body == big_);
  EXPECT_GT(hosts.faulty_a->fault_counters().dropped.value(), 0U);
}

TEST_F(HttpOverTcp, NotFoundIsAnHttpStatusWithNoBodyWritten) {
  TwoHosts hosts;
  serve(hosts);
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2/missing", sink);
  EXPECT_EQ(out.status, GetStatus::HttpStatus);
  EXPECT_EQ(out.message, "HTTP 404 Not Found");
  EXPECT_FALSE(sink.began);  // an output file would not even be made
}

TEST_F(HttpOverTcp, RedirectIsReportedNotFollowed) {
  TwoHosts hosts;
  serve(hosts);
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2/sub", sink);
  EXPECT_EQ(out.status, GetStatus::HttpStatus);
  EXPECT_EQ(out.message, "HTTP 301 Moved Permanently, to /sub/ (redirects are not followed)");
}

TEST_F(HttpOverTcp, EscapesAreRefused) {
  TwoHosts hosts;
  serve(hosts);
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2/%2e%2e/outside/secret.txt", sink);
  EXPECT_EQ(out.message, "HTTP 400 Bad Request");
}

TEST_F(HttpOverTcp, ConnectionRefusedIsANetworkFailure) {
  TwoHosts hosts;  // nothing listens on B
  MemorySink sink;
  auto out = get(hosts, "http://10.0.0.2:8080/", sink);
  EXPECT_EQ(out.status, GetStatus::Network);
  EXPECT_EQ(out.message, "cannot connect to 10.0.0.2:8080: Connection refused");
}

TEST_F(HttpOverTcp, ASilentServerTimesOut) {
  // B listens but never accepts: the handshake completes in its stack, no answer comes.
  TwoHosts hosts;
  auto listener = hosts.b->tcp_listen({Ipv4Address::any(), 80});
  ASSERT_TRUE(listener);
  MemorySink sink;
  const auto started = std::chrono::steady_clock::now();
  auto out = get(hosts, "http://10.0.0.2/", sink, 1s);
  EXPECT_EQ(out.status, GetStatus::Network);
  EXPECT_EQ(out.message, "no answer from 10.0.0.2:80: timed out after 1 s");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(HttpOverTcp, AFailingSinkIsAnOutputFailure) {
  TwoHosts hosts;
  serve(hosts);
  MemorySink sink;
  sink.fail_writes = true;
  auto out = get(hosts, "http://10.0.0.2/big.bin", sink);
  EXPECT_EQ(out.status, GetStatus::Output);
  EXPECT_EQ(out.message, "memory: full");
}

TEST_F(HttpOverTcp, ManyClientsAtOnce) {
  TwoHosts hosts;
  serve(hosts);
  constexpr int kClients = 24;
  std::vector<std::unique_ptr<MemorySink>> sinks;
  std::vector<std::unique_ptr<HttpGet>> clients;
  int done = 0;
  for (int i = 0; i < kClients; ++i) {
    sinks.push_back(std::make_unique<MemorySink>());
    const std::string url = i % 2 == 0 ? "http://10.0.0.2/big.bin" : "http://10.0.0.2/sub/";
    clients.push_back(
        std::make_unique<HttpGet>(hosts.runner_a, *http::Url::parse(url), *sinks.back(), 10s));
  }
  for (auto& c : clients) {
    boost::asio::co_spawn(
        hosts.io,
        [&, client = c.get()]() -> awaitable<void> {
          co_await client->run();
          if (++done == kClients) finish(hosts);
        },
        boost::asio::detached);
  }
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_EQ(done, kClients);
  for (int i = 0; i < kClients; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    EXPECT_EQ(clients[idx]->outcome().status, GetStatus::Ok)
        << i << clients[idx]->outcome().message;
    EXPECT_TRUE(sinks[idx]->body == (i % 2 == 0 ? big_ : std::string("sub"))) << i;
  }
  EXPECT_EQ(server_->totals().connections, static_cast<std::uint64_t>(kClients));
  EXPECT_EQ(server_->totals().requests, static_cast<std::uint64_t>(kClients));
}

TEST_F(HttpOverTcp, KeepAliveAndPipelinedRequestsOnOneConnection) {
  TwoHosts hosts;
  serve(hosts);
  std::string answer;
  boost::system::error_code read_error;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        drivers::AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, 80}, use_awaitable);
        // Three requests in one write; the last asks to close.
        const std::string requests =
            "GET /hello.txt HTTP/1.1\r\nHost: b\r\n\r\n"
            "HEAD /sub/ HTTP/1.1\r\nHost: b\r\n\r\n"
            "GET /nope HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
        co_await boost::asio::async_write(socket, boost::asio::buffer(requests), use_awaitable);
        co_await boost::asio::async_read(socket, boost::asio::dynamic_buffer(answer),
                                         redirect_error(use_awaitable, read_error));
        finish(hosts);
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  EXPECT_EQ(read_error, boost::asio::error::eof);  // the server closed after the third
  // The answers in order, each head parsed from where the previous message ended.
  std::string_view rest = answer;
  std::vector<unsigned> statuses;
  std::vector<std::string> bodies;
  for (const bool head_only : {false, true, false}) {
    auto end = http::find_head_end(rest);
    ASSERT_TRUE(end) << rest;
    auto head = http::ResponseHead::parse(rest.substr(0, *end));
    ASSERT_TRUE(head);
    rest.remove_prefix(*end);
    statuses.push_back(head->status);
    const auto length =
        head_only ? 0 : std::stoul(std::string(*head->fields.get("Content-Length")));
    bodies.emplace_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  EXPECT_EQ(rest, "");
  EXPECT_EQ(statuses, (std::vector<unsigned>{200, 200, 404}));
  EXPECT_EQ(bodies[0], "hello\n");
  EXPECT_EQ(server_->totals().connections, 1U);
  EXPECT_EQ(server_->totals().requests, 3U);
}

TEST_F(HttpOverTcp, RequestBodiesAreDroppedAndTheConnectionGoesOn) {
  TwoHosts hosts;
  serve(hosts);
  std::string answer;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        drivers::AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, 80}, use_awaitable);
        const std::string requests =
            "POST /x HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\n\r\nhello"
            "POST /y HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            "GET /hello.txt HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
        co_await boost::asio::async_write(socket, boost::asio::buffer(requests), use_awaitable);
        boost::system::error_code ignored;
        co_await boost::asio::async_read(socket, boost::asio::dynamic_buffer(answer),
                                         redirect_error(use_awaitable, ignored));
        finish(hosts);
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  ASSERT_EQ(log_.size(), 3U);
  EXPECT_EQ(log_[0].status, 405U);
  EXPECT_EQ(log_[1].status, 405U);
  EXPECT_EQ(log_[2].status, 200U);
  EXPECT_NE(answer.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(answer.substr(answer.size() - 6), "hello\n");
}

TEST_F(HttpOverTcp, MalformedRequestGets400AndTheConnectionCloses) {
  TwoHosts hosts;
  serve(hosts);
  std::string answer;
  boost::system::error_code read_error;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        drivers::AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, 80}, use_awaitable);
        co_await boost::asio::async_write(
            socket, boost::asio::buffer(std::string_view("BAD\r\n\r\n")), use_awaitable);
        co_await boost::asio::async_read(socket, boost::asio::dynamic_buffer(answer),
                                         redirect_error(use_awaitable, read_error));
        finish(hosts);
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  EXPECT_EQ(read_error, boost::asio::error::eof);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0U);
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
  ASSERT_EQ(log_.size(), 1U);
  EXPECT_EQ(log_[0].method, "-");
}

TEST_F(HttpOverTcp, AnIdleConnectionIsReset) {
  TwoHosts hosts;
  HttpServerOptions options;
  options.idle_timeout = 200ms;
  serve(hosts, options);
  boost::system::error_code read_error;
  std::chrono::steady_clock::duration waited{};
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        drivers::AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, 80}, use_awaitable);
        const auto started = std::chrono::steady_clock::now();
        std::array<char, 16> buffer{};
        co_await socket.async_read_some(boost::asio::buffer(buffer),
                                        redirect_error(use_awaitable, read_error));
        waited = std::chrono::steady_clock::now() - started;
        finish(hosts);
      },
      boost::asio::detached);
  hosts.start();
  hosts.io.run_for(kBound);
  EXPECT_EQ(read_error, boost::asio::error::connection_reset) << read_error.message();
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
}

TEST_F(HttpOverTcp, StopResetsOpenConnections) {
  TwoHosts hosts;
  serve(hosts);
  boost::system::error_code read_error;
  boost::asio::co_spawn(
      hosts.io,
      [&]() -> awaitable<void> {
        drivers::AsyncTcpSocket socket(hosts.runner_a);
        co_await socket.async_connect({kIpB, 80}, use_awaitable);
        // Once the server has the connection, stop it while this waits for an answer.
        boost::asio::post(hosts.io, [&] { server_->stop(); });
        std::array<char, 16> buffer{};
        co_await socket.async_read_some(boost::asio::buffer(buffer),
                                        redirect_error(use_awaitable, read_error));
        finish(hosts);
      },
      boost::asio::detached);
  hosts.start();
  const auto started = std::chrono::steady_clock::now();
  hosts.io.run_for(kBound);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);  // ran out of work
  EXPECT_EQ(read_error, boost::asio::error::connection_reset) << read_error.message();
  EXPECT_EQ(server_->open_connections(), 0U);
}

}  // namespace
}  // namespace tapir::apps
