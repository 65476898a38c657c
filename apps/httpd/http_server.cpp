#include "apps/httpd/http_server.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/common/idle_timer.hpp"
#include "apps/http/chunked.hpp"
#include "apps/http/message.hpp"
#include "apps/http/request.hpp"
#include "apps/http/response.hpp"
#include "stack/base/format.hpp"

namespace tapir::apps {
namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using boost::system::error_code;
using drivers::AsyncTcpSocket;
using namespace http;

constexpr std::size_t kReadChunk = 16384;      // bytes asked for per read of the request
constexpr std::size_t kFileChunk = 64 * 1024;  // bytes per read of a file
constexpr std::uint64_t kMaxDiscardedBody = 1024 * 1024;

std::string now_date() {
  return http_date(static_cast<std::int64_t>(std::time(nullptr)));
}

}  // namespace

// One client connection: read a request, answer it, again until either side ends it.
class HttpServer::Connection {
 public:
  Connection(AsyncTcpSocket socket, const FileServer& server, const HttpServerOptions& options,
             HttpServerTotals& totals)
      : socket_(std::move(socket)),
        server_(server),
        options_(options),
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
    const RequestLog log{peer_, std::string(method), std::string(target), reply.status(), sent};
    if (options_.on_request) {
      options_.on_request(log);
    } else {
      spdlog::info("{}", format_request_log(log));
    }
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
    IdleTimer limit(socket_.get_executor(), options_.linger, [this] { socket_.cancel(); });
    error_code error;
    while (!error && !limit.expired()) {
      co_await socket_.async_read_some(boost::asio::buffer(file_buffer_),
                                       redirect_error(use_awaitable, error));
    }
  }

  AsyncTcpSocket socket_;
  const FileServer& server_;
  const HttpServerOptions& options_;
  HttpServerTotals& totals_;
  Ipv4Endpoint peer_;
  IdleTimer idle_;
  std::string in_;  // received and not yet used
  std::vector<char> file_buffer_;
};

std::string format_request_log(const RequestLog& log) {
  return fmt::format("{}:{} {} {} {} {}", log.client.address, log.client.port, log.method,
                     log.target, log.status, log.bytes);
}

HttpServer::HttpServer(drivers::Runner& runner, TcpListener listener, const FileServer& files,
                       HttpServerOptions options)
    : acceptor_(runner, std::move(listener)), files_(files), options_(std::move(options)) {}

void HttpServer::start() {
  auto accept_loop = [this]() -> awaitable<void> {
    for (;;) {
      error_code error;
      AsyncTcpSocket socket = co_await acceptor_.async_accept(redirect_error(use_awaitable, error));
      if (error == boost::asio::error::operation_aborted) co_return;
      if (!acceptor_.is_open()) {
        socket.abort();  // accepted as the service stopped: reset like the others
        co_return;
      }
      if (error) {
        spdlog::warn("tapir-httpd: accept: {}", error.message());
        continue;
      }
      auto connection = std::make_unique<Connection>(std::move(socket), files_, options_, totals_);
      auto serve = [](std::unique_ptr<Connection> c, ConnectionSet& set) -> awaitable<void> {
        auto registered = set.add(c->socket());
        co_await c->run();
      };
      boost::asio::co_spawn(acceptor_.get_executor(), serve(std::move(connection), connections_),
                            boost::asio::detached);
    }
  };
  boost::asio::co_spawn(acceptor_.get_executor(), accept_loop, boost::asio::detached);
}

void HttpServer::stop() {
  acceptor_.close();
  connections_.abort_all();
}

}  // namespace tapir::apps
