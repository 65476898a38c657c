// HttpServer: tapir-httpd's server, one C++20 coroutine per connection over
// drivers::AsyncTcpSocket, answering with http::FileServer (apps/http/file_server.hpp). A
// library so that tests can run it over two in-process stacks; main.cpp adds the command line.
//
//   HttpServer server(runner, std::move(*stack.tcp_listen({any, 80})), file_server, {});
//   server.start();        // accepts until stop()
//   ...
//   server.stop();         // closes the listener, resets the open connections
//
// Per connection: read a request head (at most 8 KiB: 414 or 431 past it; 400 and the like
// for a malformed one, then close), read and drop its body if it has one (up to 1 MiB; 413 and
// close past it), answer, and go on with the next request while the connection persists (RFC
// 9112 §9.3; pipelined requests are answered in order, from the bytes already received). A
// file is streamed: read in 64 KiB pieces into one buffer per connection, each written with
// async_write before the next is read, so a large file never sits in memory and a slow client
// holds back only its own connection. (The reads are blocking reads of a regular file on the
// io_context's thread, which the page cache makes short.) A connection without progress for
// idle_timeout is reset. After a response with "Connection: close" comes our FIN; what the
// client still sends is read and dropped until its FIN, for at most `linger` (a lingering
// close, as Apache and nginx do), so that a reset does not destroy the response in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "apps/common/connection_set.hpp"
#include "apps/http/file_server.hpp"
#include "drivers/runtime/async_tcp.hpp"
#include "drivers/runtime/runner.hpp"
#include "stack/base/endpoint.hpp"
#include "stack/socket/tcp_socket.hpp"

namespace tapir::apps {

// What one request came to, for the log line.
struct RequestLog {
  Ipv4Endpoint client;
  std::string method;  // "-" when the request could not be parsed
  std::string target;  // "-" likewise
  unsigned status = 0;
  std::uint64_t bytes = 0;  // body bytes sent
};

struct HttpServerOptions {
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(30);
  std::chrono::steady_clock::duration linger = std::chrono::seconds(2);
  // Called after each response; the default logs it at info, as
  //   10.0.0.1:40312 GET /index.html 200 1234
  std::function<void(const RequestLog&)> on_request;
};

struct HttpServerTotals {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;
  std::uint64_t bytes = 0;  // body bytes sent
};

class HttpServer {
 public:
  // The FileServer must outlive the server; so must the runner.
  HttpServer(drivers::Runner& runner, TcpListener listener, const http::FileServer& files,
             HttpServerOptions options);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer() { stop(); }

  // Starts the accept loop.
  void start();
  // Stops accepting and resets every open connection; their coroutines end soon after (on the
  // io_context), so it can run out of work.
  void stop();

  const HttpServerTotals& totals() const { return totals_; }
  std::size_t open_connections() const { return connections_.size(); }

 private:
  class Connection;

  drivers::AsyncTcpAcceptor acceptor_;
  const http::FileServer& files_;
  HttpServerOptions options_;
  HttpServerTotals totals_;
  ConnectionSet connections_;
};

// "10.0.0.1:40312 GET /index.html 200 1234"
std::string format_request_log(const RequestLog& log);

}  // namespace tapir::apps
