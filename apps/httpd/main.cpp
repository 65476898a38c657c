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
// Files are streamed in 64 KiB pieces, so a 100 MB file never sits in memory (the server itself
// is apps/httpd/http_server.hpp). Limits: a request head of at most 8 KiB (414 or 431 past it),
// 100 header fields, request bodies read and dropped up to 1 MiB (413 past it), and
// --idle-timeout seconds (default 30) without progress on a connection, after which it is
// reset. SIGINT or SIGTERM stops accepting and resets the open connections.
//
// One log line per request, at info: client address:port, method, target, status, body bytes
// sent:
//   10.0.0.1:40312 GET /index.html 200 1234
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <tl/expected.hpp>

#include "apps/common/common_options.hpp"
#include "apps/http/file_server.hpp"
#include "apps/http/path.hpp"
#include "apps/httpd/http_server.hpp"
#include "drivers/runtime/tap_host.hpp"

namespace {

using namespace tapir;

struct HttpdOptions {
  std::string root;
  std::uint16_t port = 80;
  std::chrono::seconds idle_timeout{30};
};

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
  auto document_root = apps::http::DocumentRoot::open(httpd->root);
  if (!document_root) {
    fmt::print(stderr, "tapir-httpd: {}\n", document_root.error());
    return 2;
  }
  const apps::http::FileServer files(std::move(*document_root));

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-httpd");
  if (!host) return 2;
  auto listener = host->stack().tcp_listen({Ipv4Address::any(), httpd->port});
  if (!listener) {
    fmt::print(stderr, "tapir-httpd: cannot listen on TCP port {}: {}\n", httpd->port,
               listener.error().message());
    return 2;
  }
  apps::HttpServerOptions server_options;
  server_options.idle_timeout = httpd->idle_timeout;
  apps::HttpServer server(host->runner(), std::move(*listener), files, server_options);
  server.start();

  host->start([&] {
    server.stop();
    // After the poll the aborts kicked (posted before this), so their resets go out first.
    boost::asio::post(io, [&] { host->stop(); });
  });
  spdlog::info("tapir-httpd: {}, serving {} on TCP port {}", host->summary(),
               files.root().path().string(), httpd->port);
  io.run();
  const auto& totals = server.totals();
  spdlog::info("tapir-httpd: {} connections, {} requests, {} body bytes sent", totals.connections,
               totals.requests, totals.bytes);
  host->log_counters();
  return 0;
}
