// tapir-httpd: a static-file HTTP/1.1 server on a userspace TCP/IP stack.
//
//   sudo tapir-httpd --tap tap0 --ip 10.0.0.2/24 --root /srv/www [--port 80]
//   curl -v http://10.0.0.2/
//
// It serves the regular files under --root for GET and HEAD (apps/http/file_server.hpp: any
// other method gets 405; no path leaves the root, "..", encoded ".." and symlinks out of it
// included; a directory gives its index.html, and without its trailing slash a 301 to it; no
// listings), with keep-alive (RFC 9112 §9.3: HTTP/1.1 persists unless "Connection: close",
// HTTP/1.0 only with "keep-alive") and pipelining (requests are answered in order). Each
// connection is its own C++20 coroutine over drivers::AsyncTcpSocket, so many clients are
// served at once, up to the stack's connection table.
//
// Files are streamed: read in 64 KiB pieces into one buffer per connection, each piece
// written with async_write before the next is read, so a 100 MB file never sits in memory and
// a slow client holds back only its own connection. (The reads are ordinary blocking reads of
// a regular file on the io_context's thread, which the page cache makes short.)
//
// Limits: a request head of at most 8 KiB (414 or 431 past it), 100 header fields, request
// bodies (which GET and HEAD do not need) read and dropped up to 1 MiB (413 and close past
// it), and --idle-timeout seconds (default 30) without progress on a connection, after which
// it is reset. A response with "Connection: close" is followed by our FIN; the rest of what
// the client sends is read and dropped for up to 2 s (a lingering close, as Apache and nginx
// do), so our reset does not destroy the response in flight.
//
// One log line per request, at info: client address:port, method, target, status, body bytes
// sent:
//   10.0.0.1:40312 GET /index.html 200 1234
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/common/common_options.hpp"
#include "apps/common/connection_set.hpp"
#include "apps/common/idle_timer.hpp"
#include "apps/http/chunked.hpp"
#include "apps/http/file_server.hpp"
#include "apps/http/message.hpp"
#include "apps/http/request.hpp"
#include "apps/http/response.hpp"
#include "drivers/runtime/async_tcp.hpp"
#include "drivers/runtime/tap_host.hpp"
#include "stack/base/format.hpp"

namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using boost::system::error_code;
using namespace tapir;
using namespace tapir::apps::http;
using apps::ConnectionSet;
using apps::IdleTimer;
using drivers::AsyncTcpAcceptor;
using drivers::AsyncTcpSocket;
using namespace std::chrono_literals;

constexpr std::size_t kReadChunk = 16384;      // bytes asked for per read of the request
constexpr std::size_t kFileChunk = 64 * 1024;  // bytes per read of a file
constexpr std::uint64_t kMaxDiscardedBody = 1024 * 1024;
constexpr auto kLingerTime = 2s;

struct HttpdOptions {
  std::string root;
  std::uint16_t port = 80;
  std::chrono::seconds idle_timeout{30};
};

struct Totals {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;
  std::uint64_t bytes = 0;
};

std::string now_date() {
  return http_date(static_cast<std::int64_t>(std::time(nullptr)));
}

// One client connection: read a request, answer it, again until either side ends it.
class Connection {
 public:
  Connection(AsyncTcpSocket socket, const FileServer& server, const HttpdOptions& options,
             Totals& totals)
      : socket_(std::move(socket)),
        server_(server),
        totals_(totals),
        peer_(socket_.socket().remote_endpoint().value_or(Ipv4Endpoint{})),
        idle_(socket_.get_executor(), options.idle_timeout, [this] { socket_.abort(); }),
        file_buffer_(kFileChunk) {}

  AsyncTcpSocket& socket() { return socket_; }

  awaitable<void> run() {
    ++totals_.connections;
    spdlog::debug("tapir-httpd: {}:{} connected", peer_.address, peer_.port);
    for (;;) {
      // The head of the next request (part of it may have come with the previous one).
      const auto end = co_await read_head();
      if (!end) break;  // the client closed, went quiet, or reset
      if (*end == 0) {
        // The head grew past the limit without ending.
        const auto problem = head_too_large(in_);
        co_await answer_error(problem.status, "-", "-", problem.why);
        break;
      }
      auto request = parse_request(std::string_view(in_).substr(0, *end));
      in_.erase(0, *end);
      if (!request) {
        co_await answer_error(request.error().status, "-", "-", request.error().why);
        break;
      }
      // Bodies are not used (GET, HEAD), but are read and dropped to keep the connection in
      // step; a large one is refused.
      const auto dropped = co_await drop_body(request->body);
      if (dropped == Drop::Failed) break;
      if (dropped == Drop::TooLarge || dropped == Drop::Malformed) {
        const bool large = dropped == Drop::TooLarge;
        co_await answer_error(large ? Status::PayloadTooLarge : Status::BadRequest, request->method,
                              request->target,
                              large ? "the request body is too large" : "a malformed chunked body");
        break;
      }
      Reply reply = server_.respond(*request, now_date());
      if (!co_await send(reply, request->method, request->target)) break;
      if (!reply.keep_alive) {
        co_await linger();
        break;
      }
    }
    idle_.cancel();
    socket_.close();
    spdlog::debug("tapir-httpd: {}:{} closed", peer_.address, peer_.port);
  }

 private:
  enum class Drop : std::uint8_t { Done, TooLarge, Malformed, Failed };

  // Reads until in_ holds a whole head: its length; 0 if it grew past the limit first; nullopt
  // if the connection ended (a clean end between requests is not an error).
  awaitable<std::optional<std::size_t>> read_head() {
    const RequestLimits limits;
    for (;;) {
      if (auto end = find_head_end(in_)) {
        if (*end <= limits.max_head_bytes) co_return end;
        co_return std::size_t{0};
      }
      if (in_.size() >= limits.max_head_bytes) co_return std::size_t{0};
      if (!co_await read_more()) co_return std::nullopt;
    }
  }

  // Appends what arrives to in_; false when the connection ended.
  awaitable<bool> read_more() {
    const auto old = in_.size();
    in_.resize(old + kReadChunk);
    error_code error;
    const std::size_t n = co_await socket_.async_read_some(
        boost::asio::buffer(in_.data() + old, kReadChunk), redirect_error(use_awaitable, error));
    in_.resize(old + n);
    if (error) {
      if (error != boost::asio::error::eof && !idle_.expired())
        spdlog::debug("tapir-httpd: {}:{}: {}", peer_.address, peer_.port, error.message());
      if (idle_.expired())
        spdlog::debug("tapir-httpd: {}:{}: idle for {} s, reset", peer_.address, peer_.port,
                      std::chrono::duration_cast<std::chrono::seconds>(idle_.timeout()).count());
      co_return false;
    }
    idle_.touch();
    co_return true;
  }

  awaitable<Drop> drop_body(const BodyFraming& body) {
    if (body.kind == BodyFraming::Kind::Length) {
      if (body.length > kMaxDiscardedBody) co_return Drop::TooLarge;
      auto left = body.length;
      for (;;) {
        const auto n = std::min<std::uint64_t>(left, in_.size());
        in_.erase(0, static_cast<std::size_t>(n));
        left -= n;
        if (left == 0) co_return Drop::Done;
        if (!co_await read_more()) co_return Drop::Failed;
      }
    }
    if (body.kind == BodyFraming::Kind::Chunked) {
      ChunkedDecoder decoder;
      for (;;) {
        while (!in_.empty() && !decoder.done()) {
          auto step = decoder.next(in_);
          if (!step) co_return Drop::Malformed;
          in_.erase(0, step->consumed);
        }
        if (decoder.done()) co_return Drop::Done;
        if (decoder.body_bytes() > kMaxDiscardedBody) co_return Drop::TooLarge;
        if (!co_await read_more()) co_return Drop::Failed;
      }
    }
    co_return Drop::Done;
  }

  awaitable<void> answer_error(Status status, std::string_view method, std::string_view target,
                               std::string_view why) {
    spdlog::debug("tapir-httpd: {}:{}: {}", peer_.address, peer_.port, why);
    Reply reply = FileServer::error(status, now_date(), method == "HEAD");
    if (co_await send(reply, method, target)) co_await linger();
  }

  // Sends the head and the body; logs the request. False if the connection failed.
  awaitable<bool> send(Reply& reply, std::string_view method, std::string_view target) {
    ++totals_.requests;
    const std::string head = reply.head.serialize();
    std::uint64_t sent = 0;
    error_code error;
    if (!reply.send_body || !reply.file.is_open()) {
      // The head and the generated body (if any) in one gather write.
      const std::size_t body = reply.send_body ? reply.body.size() : 0;
      const std::array<boost::asio::const_buffer, 2> buffers{
          boost::asio::buffer(head), boost::asio::buffer(reply.body.data(), body)};
      co_await boost::asio::async_write(socket_, buffers, redirect_error(use_awaitable, error));
      if (!error) sent = body;
    } else {
      co_await write(boost::asio::buffer(head), error);
      while (!error && sent < reply.body_length) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kFileChunk, reply.body_length - sent));
        auto n = reply.file.read(file_buffer_.data(), want);
        if (!n || *n == 0) {
          // The file shrank (or failed) under us: the Content-Length cannot be kept, so the
          // connection must end here (RFC 9112 §6.3: the client sees it incomplete).
          spdlog::warn("tapir-httpd: {}: {} after {} of {} bytes", target,
                       n ? "file shrank" : n.error().message(), sent, reply.body_length);
          error = boost::asio::error::eof;
          break;
        }
        co_await write(boost::asio::buffer(file_buffer_.data(), *n), error);
        if (!error) sent += *n;
      }
      reply.file.reset();
    }
    totals_.bytes += sent;
    spdlog::info("{}:{} {} {} {} {}", peer_.address, peer_.port, method, target, reply.status(),
                 sent);
    co_return !error;
  }

  awaitable<void> write(boost::asio::const_buffer buffer, error_code& error) {
    co_await boost::asio::async_write(socket_, buffer, redirect_error(use_awaitable, error));
    if (!error) idle_.touch();
  }

  // After our last response: the FIN, then what the client still sends is read and dropped
  // until its FIN, for at most kLingerTime.
  awaitable<void> linger() {
    (void)socket_.shutdown_send();
    IdleTimer limit(socket_.get_executor(), kLingerTime, [this] { socket_.cancel(); });
    error_code error;
    while (!error && !limit.expired()) {
      co_await socket_.async_read_some(boost::asio::buffer(file_buffer_),
                                       redirect_error(use_awaitable, error));
    }
  }

  AsyncTcpSocket socket_;
  const FileServer& server_;
  Totals& totals_;
  Ipv4Endpoint peer_;
  IdleTimer idle_;
  std::string in_;  // received and not yet used
  std::vector<char> file_buffer_;
};

awaitable<void> serve(std::unique_ptr<Connection> connection, ConnectionSet& connections) {
  auto registered = connections.add(connection->socket());
  co_await connection->run();
}

awaitable<void> accept_loop(AsyncTcpAcceptor& acceptor, const FileServer& server,
                            const HttpdOptions& options, Totals& totals,
                            ConnectionSet& connections) {
  for (;;) {
    error_code error;
    AsyncTcpSocket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, error));
    if (error == boost::asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (error) {
      spdlog::warn("tapir-httpd: accept: {}", error.message());
      continue;
    }
    auto connection = std::make_unique<Connection>(std::move(socket), server, options, totals);
    boost::asio::co_spawn(acceptor.get_executor(), serve(std::move(connection), connections),
                          boost::asio::detached);
  }
}

tl::expected<HttpdOptions, std::string> finish(const std::string& root, const std::string& port,
                                               const std::string& idle) {
  auto number = [](std::string_view text) -> std::optional<unsigned long> {
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
  };
  HttpdOptions out;
  out.root = root;
  if (!port.empty()) {
    auto p = number(port);
    if (!p || *p < 1 || *p > 65535)
      return tl::unexpected(fmt::format("--port: \"{}\": not a port in 1..65535", port));
    out.port = static_cast<std::uint16_t>(*p);
  }
  if (!idle.empty()) {
    auto s = number(idle);
    if (!s || *s < 1 || *s > 86400)
      return tl::unexpected(
          fmt::format("--idle-timeout: \"{}\": not a number of seconds in 1..86400", idle));
    out.idle_timeout = std::chrono::seconds(*s);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tapir-httpd: a static-file HTTP/1.1 server on a userspace TCP/IP stack"};
  apps::RawCommonOptions raw;
  apps::add_common_options(app, raw);
  std::string root, port, idle;
  app.add_option("--root", root, "the directory to serve (required)")->type_name("DIR")->required();
  app.add_option("--port", port, "the TCP port to listen on (default 80)")->type_name("PORT");
  app.add_option("--idle-timeout", idle,
                 "reset a connection after this many seconds without progress (default 30)")
      ->type_name("SECONDS");
  int exit_code = 0;
  auto options = apps::parse_common(app, raw, "tapir-httpd", argc, argv, exit_code);
  if (!options) return exit_code;
  auto httpd = finish(root, port, idle);
  if (!httpd) {
    fmt::print(stderr, "tapir-httpd: {}\n", httpd.error());
    return 2;
  }
  auto document_root = DocumentRoot::open(httpd->root);
  if (!document_root) {
    fmt::print(stderr, "tapir-httpd: {}\n", document_root.error());
    return 2;
  }
  const FileServer server(std::move(*document_root));

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-httpd");
  if (!host) return 2;
  auto listener = host->stack().tcp_listen({Ipv4Address::any(), httpd->port});
  if (!listener) {
    fmt::print(stderr, "tapir-httpd: cannot listen on TCP port {}: {}\n", httpd->port,
               listener.error().message());
    return 2;
  }
  AsyncTcpAcceptor acceptor(host->runner(), std::move(*listener));
  ConnectionSet connections;
  Totals totals;
  boost::asio::co_spawn(io, accept_loop(acceptor, server, *httpd, totals, connections),
                        boost::asio::detached);

  host->start([&] {
    acceptor.close();
    connections.abort_all();
    // After the poll the aborts kicked (posted before this), so their resets go out first.
    boost::asio::post(io, [&] { host->stop(); });
  });
  spdlog::info("tapir-httpd: {}, serving {} on TCP port {}", host->summary(),
               server.root().path().string(), httpd->port);
  io.run();
  spdlog::info("tapir-httpd: {} connections, {} requests, {} body bytes sent", totals.connections,
               totals.requests, totals.bytes);
  host->log_counters();
  return 0;
}
