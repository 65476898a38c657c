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
// Exit status, with one line "tapir-get: <what happened>" on stderr for every failure:
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
#include <unistd.h>
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
#include "apps/common/idle_timer.hpp"
#include "apps/http/chunked.hpp"
#include "apps/http/message.hpp"
#include "apps/http/request.hpp"
#include "apps/http/response.hpp"
#include "apps/http/url.hpp"
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
using apps::IdleTimer;
using drivers::AsyncTcpSocket;
using namespace std::chrono_literals;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::string_view kUserAgent = "tapir-get/0.1";

enum Exit : int {
  kOk = 0,
  kHttpStatus = 1,
  kUsage = 2,
  kNetwork = 3,
  kOutput = 4,
  kInterrupted = 130,
};

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

struct GetOptions {
  Url url;
  std::string output;  // empty: stdout
  std::chrono::seconds timeout{20};
};

class Getter {
 public:
  Getter(drivers::TapHost& host, const GetOptions& options)
      : host_(host),
        options_(options),
        socket_(host.runner()),
        idle_(host.runner().io_context().get_executor(), options.timeout,
              [this] { socket_.abort(); }),
        progress_(::isatty(STDERR_FILENO) == 1) {}

  int exit_code() const { return exit_code_; }

  // SIGINT, SIGTERM.
  void interrupt() {
    interrupted_ = true;
    socket_.abort();
  }

  awaitable<void> run() {
    exit_code_ = co_await fetch();
    progress_.finish();
    if (!message_.empty()) fmt::print(stderr, "tapir-get: {}\n", message_);
    idle_.cancel();
    socket_.close();
    // After the poll the close kicked, so the FIN (or RST) goes out before the runner stops.
    co_await boost::asio::post(host_.runner().io_context(), use_awaitable);
    host_.stop();
  }

 private:
  std::string where() const { return fmt::format("{}:{}", options_.url.host, options_.url.port); }

  // The message for a failed operation, and the exit status.
  int failed(std::string_view doing, const error_code& error) {
    if (interrupted_) {
      message_ = "interrupted";
      return kInterrupted;
    }
    if (idle_.expired()) {
      message_ =
          fmt::format("{} {}: timed out after {} s", doing, where(), options_.timeout.count());
    } else {
      message_ = fmt::format("{} {}: {}", doing, where(), error.message());
    }
    return kNetwork;
  }

  awaitable<int> fetch() {
    error_code error;
    co_await socket_.async_connect({options_.url.host, options_.url.port},
                                   redirect_error(use_awaitable, error));
    if (error) co_return failed("cannot connect to", error);
    idle_.touch();
    spdlog::debug("tapir-get: connected to {}", where());

    Fields fields;
    fields.add("Host", options_.url.authority);
    fields.add("User-Agent", std::string(kUserAgent));
    fields.add("Accept", "*/*");
    fields.add("Connection", "close");
    const std::string request = serialize_request("GET", options_.url.target, fields);
    co_await boost::asio::async_write(socket_, boost::asio::buffer(request),
                                      redirect_error(use_awaitable, error));
    if (error) co_return failed("cannot send the request to", error);
    idle_.touch();

    // The head, after any interim (1xx) ones.
    ResponseHead head;
    for (;;) {
      std::optional<std::size_t> end;
      while (!(end = find_head_end(in_))) {
        if (in_.size() > kMaxHead) {
          message_ =
              fmt::format("bad answer from {}: a response head over {} bytes", where(), kMaxHead);
          co_return kNetwork;
        }
        if (!co_await read_more(error)) {
          if (error == boost::asio::error::eof) {
            message_ = fmt::format("{} closed the connection without an answer", where());
            co_return kNetwork;
          }
          co_return failed("no answer from", error);
        }
      }
      auto parsed = ResponseHead::parse(std::string_view(in_).substr(0, *end));
      in_.erase(0, *end);
      if (!parsed) {
        message_ = fmt::format("bad answer from {}: {}", where(), parsed.error());
        co_return kNetwork;
      }
      head = std::move(*parsed);
      if (!head.informational() || head.status == 101) break;
    }
    spdlog::debug("tapir-get: {}", head.status_text());

    if (!head.success()) {
      message_ = fmt::format("HTTP {}", head.status_text());
      if (head.redirect()) {
        const auto location = head.fields.get("Location");
        message_ += fmt::format(", to {} (redirects are not followed)", location.value_or("?"));
      }
      co_return kHttpStatus;
    }
    auto framing = response_framing(head, "GET");
    if (!framing) {
      message_ = fmt::format("bad answer from {}: {}", where(), framing.error());
      co_return kNetwork;
    }
    co_return co_await receive_body(*framing);
  }

  awaitable<int> receive_body(const BodyFraming& framing) {
    if (!open_output()) co_return kOutput;
    using Kind = BodyFraming::Kind;
    progress_.start(framing.kind == Kind::Length ? std::optional(framing.length) : std::nullopt);
    error_code error;
    ChunkedDecoder decoder;
    for (;;) {
      // Use what is in in_ ...
      if (framing.kind == Kind::Length) {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(framing.length - body_, in_.size()));
        if (!write_out(std::string_view(in_).substr(0, n))) co_return kOutput;
        in_.erase(0, n);
        if (body_ == framing.length) break;
      } else if (framing.kind == Kind::Chunked) {
        std::string_view rest = in_;
        while (!rest.empty() && !decoder.done()) {
          auto step = decoder.next(rest);
          if (!step) {
            message_ = fmt::format("bad answer from {}: {}", where(), step.error());
            co_return kNetwork;
          }
          if (!write_out(step->data)) co_return kOutput;
          rest.remove_prefix(step->consumed);
        }
        in_.clear();
        if (decoder.done()) break;
      } else if (framing.kind == Kind::UntilClose) {
        if (!write_out(in_)) co_return kOutput;
        in_.clear();
      } else {
        break;
      }
      progress_.update(body_);
      // ... then read more.
      if (!co_await read_more(error)) {
        if (error == boost::asio::error::eof) {
          if (framing.kind == Kind::UntilClose) break;  // the FIN ends the body
          progress_.finish();
          message_ =
              framing.kind == Kind::Length
                  ? fmt::format("{} closed the connection after {} of {} bytes", where(), body_,
                                framing.length)
                  : fmt::format("{} closed the connection inside the chunked body, after {} bytes",
                                where(), body_);
          co_return kNetwork;
        }
        progress_.finish();
        co_return failed(fmt::format("after {} bytes, from", body_), error);
      }
    }
    progress_.update(body_, true);
    progress_.finish();
    if (!close_output()) co_return kOutput;
    spdlog::debug("tapir-get: {} bytes", body_);
    co_return kOk;
  }

  awaitable<bool> read_more(error_code& error) {
    const auto old = in_.size();
    in_.resize(old + kReadChunk);
    const std::size_t n = co_await socket_.async_read_some(
        boost::asio::buffer(in_.data() + old, kReadChunk), redirect_error(use_awaitable, error));
    in_.resize(old + n);
    if (error) co_return false;
    idle_.touch();
    co_return true;
  }

  bool open_output() {
    if (options_.output.empty()) {
      out_ = stdout;
      return true;
    }
    out_ = std::fopen(options_.output.c_str(), "wb");
    if (out_ == nullptr) {
      message_ = fmt::format("{}: {}", options_.output, std::strerror(errno));
      return false;
    }
    return true;
  }

  bool write_out(std::string_view data) {
    if (data.empty()) return true;
    if (std::fwrite(data.data(), 1, data.size(), out_) != data.size()) {
      progress_.finish();
      message_ = fmt::format("{}: {}", options_.output.empty() ? "stdout" : options_.output,
                             std::strerror(errno));
      return false;
    }
    body_ += data.size();
    return true;
  }

  bool close_output() {
    const bool flushed = std::fflush(out_) == 0;
    const bool closed = out_ == stdout || std::fclose(out_) == 0;
    out_ = nullptr;
    if (!flushed || !closed) {
      message_ = fmt::format("{}: {}", options_.output.empty() ? "stdout" : options_.output,
                             std::strerror(errno));
      return false;
    }
    return true;
  }

  drivers::TapHost& host_;
  GetOptions options_;
  AsyncTcpSocket socket_;
  IdleTimer idle_;
  Progress progress_;
  std::string in_;  // received and not yet used
  std::FILE* out_ = nullptr;
  std::uint64_t body_ = 0;  // body bytes written
  std::string message_;     // the one line for stderr, if any
  int exit_code_ = kNetwork;
  bool interrupted_ = false;
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
    return kUsage;
  }

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-get");
  if (!host) return kUsage;
  Getter getter(*host, *get);
  boost::asio::co_spawn(io, getter.run(), boost::asio::detached);
  host->start([&] { getter.interrupt(); });
  spdlog::debug("tapir-get: {}, GET {}", host->summary(), url);
  io.run();
  return getter.exit_code();
}
