#include "apps/get/http_client.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/http/chunked.hpp"
#include "apps/http/message.hpp"
#include "apps/http/request.hpp"
#include "stack/base/format.hpp"

namespace tapir::apps {
namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using boost::system::error_code;
using namespace http;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::string_view kUserAgent = "tapir-get/0.1";

}  // namespace

HttpGet::HttpGet(drivers::Runner& runner, Url url, BodySink& sink,
                 std::chrono::steady_clock::duration timeout)
    : url_(std::move(url)),
      sink_(sink),
      timeout_(timeout),
      socket_(runner),
      idle_(runner.io_context().get_executor(), timeout, [this] { socket_.abort(); }) {}

void HttpGet::interrupt() {
  interrupted_ = true;
  socket_.abort();
}

awaitable<void> HttpGet::run() {
  outcome_ = co_await fetch();
  idle_.cancel();
  socket_.close();
}

std::string HttpGet::where() const {
  return fmt::format("{}:{}", url_.host, url_.port);
}

GetOutcome HttpGet::fail(GetStatus status, std::string message) const {
  GetOutcome out;
  out.status = status;
  out.message = std::move(message);
  return out;
}

GetOutcome HttpGet::failed(std::string_view doing, const error_code& error) const {
  if (interrupted_) return fail(GetStatus::Interrupted, "interrupted");
  if (idle_.expired()) {
    return fail(GetStatus::Network,
                fmt::format("{} {}: timed out after {} s", doing, where(),
                            std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()));
  }
  return fail(GetStatus::Network, fmt::format("{} {}: {}", doing, where(), error.message()));
}

awaitable<GetOutcome> HttpGet::fetch() {
  error_code error;
  co_await socket_.async_connect({url_.host, url_.port}, redirect_error(use_awaitable, error));
  if (error) co_return failed("cannot connect to", error);
  idle_.touch();
  spdlog::debug("tapir-get: connected to {}", where());

  Fields fields;
  fields.add("Host", url_.authority);
  fields.add("User-Agent", std::string(kUserAgent));
  fields.add("Accept", "*/*");
  fields.add("Connection", "close");
  const std::string request = serialize_request("GET", url_.target, fields);
  co_await boost::asio::async_write(socket_, boost::asio::buffer(request),
                                    redirect_error(use_awaitable, error));
  if (error) co_return failed("cannot send the request to", error);
  idle_.touch();

  // The head, after any interim (1xx) ones.
  ResponseHead head;
  for (;;) {
    std::optional<std::size_t> end;
    while (!(end = find_head_end(in_))) {
      if (in_.size() > kMaxHead)
        co_return fail(
            GetStatus::Network,
            fmt::format("bad answer from {}: a response head over {} bytes", where(), kMaxHead));
      if (!co_await read_more(error)) {
        if (error == boost::asio::error::eof && !interrupted_)
          co_return fail(GetStatus::Network,
                         fmt::format("{} closed the connection without an answer", where()));
        co_return failed("no answer from", error);
      }
    }
    auto parsed = ResponseHead::parse(std::string_view(in_).substr(0, *end));
    in_.erase(0, *end);
    if (!parsed)
      co_return fail(GetStatus::Network,
                     fmt::format("bad answer from {}: {}", where(), parsed.error()));
    head = std::move(*parsed);
    if (!head.informational() || head.status == 101) break;
  }
  spdlog::debug("tapir-get: {}", head.status_text());

  GetOutcome out;
  out.head = head;
  if (!head.success()) {
    out.status = GetStatus::HttpStatus;
    out.message = fmt::format("HTTP {}", head.status_text());
    if (head.redirect()) {
      const auto location = head.fields.get("Location");
      out.message += fmt::format(", to {} (redirects are not followed)", location.value_or("?"));
    }
    co_return out;
  }
  auto framing = response_framing(head, "GET");
  if (!framing)
    co_return fail(GetStatus::Network,
                   fmt::format("bad answer from {}: {}", where(), framing.error()));
  co_return co_await receive_body(*framing, std::move(out));
}

awaitable<GetOutcome> HttpGet::receive_body(const BodyFraming& framing, GetOutcome out) {
  using Kind = BodyFraming::Kind;
  auto sink_failed = [&] {
    out.status = GetStatus::Output;
    out.message = sink_.error();
    return out;
  };
  auto write = [&](std::string_view data) {
    if (data.empty()) return true;
    if (!sink_.write(data)) return false;
    out.body_bytes += data.size();
    return true;
  };
  if (!sink_.begin(*out.head,
                   framing.kind == Kind::Length ? std::optional(framing.length) : std::nullopt))
    co_return sink_failed();
  error_code error;
  ChunkedDecoder decoder;
  for (;;) {
    // Use what is in in_ ...
    if (framing.kind == Kind::Length) {
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(framing.length - out.body_bytes, in_.size()));
      if (!write(std::string_view(in_).substr(0, n))) co_return sink_failed();
      in_.erase(0, n);
      if (out.body_bytes == framing.length) break;
    } else if (framing.kind == Kind::Chunked) {
      std::string_view rest = in_;
      while (!rest.empty() && !decoder.done()) {
        auto step = decoder.next(rest);
        if (!step)
          co_return fail(GetStatus::Network,
                         fmt::format("bad answer from {}: {}", where(), step.error()));
        if (!write(step->data)) co_return sink_failed();
        rest.remove_prefix(step->consumed);
      }
      in_.clear();
      if (decoder.done()) break;
    } else if (framing.kind == Kind::UntilClose) {
      if (!write(in_)) co_return sink_failed();
      in_.clear();
    } else {
      break;
    }
    // ... then read more.
    if (!co_await read_more(error)) {
      if (error == boost::asio::error::eof && !interrupted_) {
        if (framing.kind == Kind::UntilClose) break;  // the FIN ends the body
        co_return fail(
            GetStatus::Network,
            framing.kind == Kind::Length
                ? fmt::format("{} closed the connection after {} of {} bytes", where(),
                              out.body_bytes, framing.length)
                : fmt::format("{} closed the connection inside the chunked body, after {} bytes",
                              where(), out.body_bytes));
      }
      co_return failed(fmt::format("after {} bytes, from", out.body_bytes), error);
    }
  }
  if (!sink_.end()) co_return sink_failed();
  spdlog::debug("tapir-get: {} bytes", out.body_bytes);
  out.status = GetStatus::Ok;
  co_return out;
}

awaitable<bool> HttpGet::read_more(error_code& error) {
  const auto old = in_.size();
  in_.resize(old + kReadChunk);
  const std::size_t n = co_await socket_.async_read_some(
      boost::asio::buffer(in_.data() + old, kReadChunk), redirect_error(use_awaitable, error));
  in_.resize(old + n);
  if (error) co_return false;
  idle_.touch();
  co_return true;
}

}  // namespace tapir::apps
