// tapir-get: fetch one URL with HTTP/1.1 GET over a userspace TCP/IP stack (an active open
// through drivers::AsyncTcpSocket::async_connect), like a small wget or curl.
//
//   sudo tapir-get --tap tap1 --ip 10.0.1.2/24 http://10.0.1.1:8000/file.bin -o file.bin
//   (with python3 -m http.server 8000 --bind 10.0.1.1 on the kernel's side)
//
// The URL is http://HOST[:PORT][/PATH] with HOST an IPv4 address: the stack has no DNS
// resolver, so a name is refused with a message saying so (apps/http/url.hpp). The body goes to
// FILE with -o (created only once a 2xx answer has come), else to stdout. A progress bar is
// drawn on stderr only when stderr is a terminal. The request says "Connection: close", so the
// body ends with Content-Length, the chunked coding's last chunk, or the server's FIN.
// Redirects are not followed: a 3xx is reported with its Location.
//
// --timeout SECONDS (default 20) bounds the connect and any wait for the server afterwards
// without progress; it is then reset.
//
// The client itself is apps/get/http_client.hpp. Exit status, with one line
// "tapir-get: <what happened>" on stderr for every failure:
//   0  a 2xx answer, its whole body written
//   1  the server answered with another status (3xx, 4xx, 5xx): "HTTP 404 Not Found"
//   2  a bad command line or URL, or the device could not be set up
//   3  the network or the server failed: connection refused, timed out, reset, a malformed
//      answer, a body cut short
//   4  the output could not be written
//   130 interrupted by SIGINT or SIGTERM
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <tl/expected.hpp>

#include "apps/common/common_options.hpp"
#include "apps/get/http_client.hpp"
#include "apps/http/url.hpp"
#include "drivers/runtime/tap_host.hpp"

namespace {

using namespace tapir;
using apps::GetStatus;
using apps::http::Url;
using namespace std::chrono_literals;

// "1.23 MiB"
std::string human(double bytes) {
  static constexpr std::array<std::string_view, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < kUnits.size()) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} {}", bytes, kUnits[unit])
                   : fmt::format("{:.2f} {}", bytes, kUnits[unit]);
}

// A one-line progress bar on stderr, redrawn at most ten times a second; nothing at all unless
// stderr is a terminal.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}

  void start(std::optional<std::uint64_t> total) {
    total_ = total;
    started_ = std::chrono::steady_clock::now();
    drawn_ = {};
  }
  void update(std::uint64_t bytes, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - drawn_ < 100ms) return;
    drawn_ = now;
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
    std::string line;
    if (total_ && *total_ > 0) {
      constexpr std::size_t kWidth = 30;
      const double fraction =
          std::min(1.0, static_cast<double>(bytes) / static_cast<double>(*total_));
      const auto filled = static_cast<std::size_t>(fraction * kWidth);
      line = fmt::format(
          "{:3.0f}% [{}{}{}] {} / {}  {}/s", fraction * 100, std::string(filled, '='),
          filled < kWidth ? ">" : "", std::string(kWidth - std::min(kWidth, filled + 1), ' '),
          human(static_cast<double>(bytes)), human(static_cast<double>(*total_)), human(rate));
    } else {
      line = fmt::format("{}  {}/s", human(static_cast<double>(bytes)), human(rate));
    }
    fmt::print(stderr, "\r{:<78}", line);
    std::fflush(stderr);
    shown_ = true;
  }
  // Ends the bar's line (before a message or at the end).
  void finish() {
    if (shown_) fmt::print(stderr, "\n");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::optional<std::uint64_t> total_;
  std::chrono::steady_clock::time_point started_{}, drawn_{};
};

// The body to a file (made only once a 2xx answer has come) or to stdout, with the progress bar.
class OutputSink final : public apps::BodySink {
 public:
  explicit OutputSink(std::string path)
      : path_(std::move(path)), progress_(::isatty(STDERR_FILENO) == 1) {}
  ~OutputSink() {
    if (out_ != nullptr && out_ != stdout) std::fclose(out_);
  }
  OutputSink(const OutputSink&) = delete;
  OutputSink& operator=(const OutputSink&) = delete;

  bool begin(const apps::http::ResponseHead&, std::optional<std::uint64_t> length) override {
    progress_.start(length);
    if (path_.empty()) {
      out_ = stdout;
      return true;
    }
    out_ = std::fopen(path_.c_str(), "wb");
    return out_ != nullptr || fail();
  }
  bool write(std::string_view data) override {
    if (std::fwrite(data.data(), 1, data.size(), out_) != data.size()) return fail();
    written_ += data.size();
    progress_.update(written_);
    return true;
  }
  bool end() override {
    progress_.update(written_, true);
    progress_.finish();
    const bool flushed = std::fflush(out_) == 0;
    const bool closed = out_ == stdout || std::fclose(out_) == 0;
    out_ = nullptr;
    return (flushed && closed) || fail();
  }
  std::string error() const override { return error_; }
  // Ends the bar's line before a message.
  void interrupted() { progress_.finish(); }

 private:
  bool fail() {
    progress_.finish();
    error_ = fmt::format("{}: {}", path_.empty() ? "stdout" : path_, std::strerror(errno));
    return false;
  }

  std::string path_;
  Progress progress_;
  std::FILE* out_ = nullptr;
  std::uint64_t written_ = 0;
  std::string error_;
};

struct GetOptions {
  apps::http::Url url;
  std::string output;  // empty: stdout
  std::chrono::seconds timeout{20};
};

tl::expected<GetOptions, std::string> finish(const std::string& url, const std::string& output,
                                             const std::string& timeout) {
  GetOptions out;
  auto parsed = Url::parse(url);
  if (!parsed) return tl::unexpected(fmt::format("URL: \"{}\": {}", url, parsed.error()));
  out.url = std::move(*parsed);
  out.output = output;
  if (!timeout.empty()) {
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(timeout.data(), timeout.data() + timeout.size(), v);
    if (ec != std::errc{} || end != timeout.data() + timeout.size() || v < 1 || v > 86400)
      return tl::unexpected(
          fmt::format("--timeout: \"{}\": not a number of seconds in 1..86400", timeout));
    out.timeout = std::chrono::seconds(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tapir-get: fetch a URL with HTTP/1.1 over a userspace TCP/IP stack"};
  apps::RawCommonOptions raw;
  apps::add_common_options(app, raw);
  std::string url, output, timeout;
  app.add_option("URL", url, "http://A.B.C.D[:PORT][/PATH] (an IPv4 address: there is no DNS)")
      ->required();
  app.add_option("-o,--output", output, "write the body to FILE (default: stdout)")
      ->type_name("FILE");
  app.add_option("--timeout", timeout,
                 "seconds to wait for the connection or any progress (default 20)")
      ->type_name("SECONDS");
  int exit_code = 0;
  auto options = apps::parse_common(app, raw, "tapir-get", argc, argv, exit_code);
  if (!options) return exit_code;
  auto get = finish(url, output, timeout);
  if (!get) {
    fmt::print(stderr, "tapir-get: {}\n", get.error());
    return static_cast<int>(GetStatus::Usage);
  }

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-get");
  if (!host) return static_cast<int>(GetStatus::Usage);
  OutputSink sink(get->output);
  apps::HttpGet client(host->runner(), get->url, sink, get->timeout);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        co_await client.run();
        // After the poll the close kicked, so the FIN (or RST) goes out before the runner stops.
        co_await boost::asio::post(io, boost::asio::use_awaitable);
        host->stop();
      },
      boost::asio::detached);
  host->start([&] { client.interrupt(); });
  spdlog::debug("tapir-get: {}, GET {}", host->summary(), url);
  io.run();
  const auto& outcome = client.outcome();
  sink.interrupted();
  if (!outcome.message.empty()) fmt::print(stderr, "tapir-get: {}\n", outcome.message);
  return static_cast<int>(outcome.status);
}
