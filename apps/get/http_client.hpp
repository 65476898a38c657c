// HttpGet: tapir-get's client, one GET over drivers::AsyncTcpSocket (an active open) as a
// C++20 coroutine. A library so that tests can run it over two in-process stacks; main.cpp
// adds the command line, the output file and the progress bar.
//
//   HttpGet get(runner, *Url::parse("http://10.0.0.2/x"), output, std::chrono::seconds(20));
//   co_spawn(io, get.run(), detached);     // get.outcome() once it has ended
//
// The request says "Connection: close"; the body ends with its Content-Length, the chunked
// coding's last chunk, or the server's FIN (RFC 9112 §6.3); interim 1xx answers are skipped.
// Redirects are not followed. `timeout` bounds the connect and every wait for the server
// afterwards without progress; the connection is then reset.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "apps/common/idle_timer.hpp"
#include "apps/http/response.hpp"
#include "apps/http/url.hpp"
#include "drivers/runtime/async_tcp.hpp"
#include "drivers/runtime/runner.hpp"

namespace tapir::apps {

// Where the body goes. begin() is called once a 2xx head has come (so an output file is made
// only then), write() for each piece of the body, end() after the last. A false return stops
// the transfer: the sink's error() says why.
class BodySink {
 public:
  virtual bool begin(const http::ResponseHead& head, std::optional<std::uint64_t> length) = 0;
  virtual bool write(std::string_view data) = 0;
  virtual bool end() = 0;
  virtual std::string error() const = 0;

 protected:
  ~BodySink() = default;
};

// tapir-get's exit statuses.
enum class GetStatus : int {
  Ok = 0,          // a 2xx answer, its whole body written
  HttpStatus = 1,  // the server answered with another status
  Usage = 2,       // (the command line; not from HttpGet)
  Network = 3,     // refused, timed out, reset, a malformed answer, a body cut short
  Output = 4,      // the sink failed
  Interrupted = 130,
};

struct GetOutcome {
  GetStatus status = GetStatus::Network;
  std::string message;                     // one line for stderr; empty on success
  std::optional<http::ResponseHead> head;  // the final head, if one came
  std::uint64_t body_bytes = 0;            // written to the sink
};

class HttpGet {
 public:
  // The runner must outlive this; so must the sink.
  HttpGet(drivers::Runner& runner, http::Url url, BodySink& sink,
          std::chrono::steady_clock::duration timeout);
  HttpGet(const HttpGet&) = delete;
  HttpGet& operator=(const HttpGet&) = delete;

  // The whole GET; closes the connection at the end. Run it once.
  boost::asio::awaitable<void> run();
  // Stops the transfer (SIGINT): run() ends with GetStatus::Interrupted.
  void interrupt();

  const GetOutcome& outcome() const { return outcome_; }

 private:
  boost::asio::awaitable<GetOutcome> fetch();
  boost::asio::awaitable<GetOutcome> receive_body(const http::BodyFraming& framing, GetOutcome out);
  boost::asio::awaitable<bool> read_more(boost::system::error_code& error);
  GetOutcome failed(std::string_view doing, const boost::system::error_code& error) const;
  GetOutcome fail(GetStatus status, std::string message) const;
  std::string where() const;

  http::Url url_;
  BodySink& sink_;
  std::chrono::steady_clock::duration timeout_;
  drivers::AsyncTcpSocket socket_;
  IdleTimer idle_;
  std::string in_;  // received and not yet used
  GetOutcome outcome_;
  bool interrupted_ = false;
};

}  // namespace tapir::apps
