// IdleTimer: calls on_expiry once nothing has happened for `timeout` (the app calls touch()
// after each operation that made progress), e.g. to abort a connection whose peer went quiet.
// touch() only notes the time; the one steady_timer re-arms itself for the time that is left
// when it fires, so a busy connection costs no timer operation per read or write.
//
//   IdleTimer idle(socket.get_executor(), 30s, [&] { socket.abort(); });
//   ... co_await socket.async_read_some(...); idle.touch(); ...
//   if (idle.expired()) -> report "timed out"
//
// Destroying it (or cancel()) stops it; on_expiry is never called after that.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "drivers/runtime/asio.hpp"

namespace tapir::apps {

class IdleTimer {
 public:
  using Clock = std::chrono::steady_clock;

  template <class Executor>
  IdleTimer(const Executor& executor, Clock::duration timeout, std::function<void()> on_expiry)
      : timer_(executor), timeout_(timeout), on_expiry_(std::move(on_expiry)) {
    touch();
    arm(last_ + timeout_);
  }
  IdleTimer(const IdleTimer&) = delete;
  IdleTimer& operator=(const IdleTimer&) = delete;
  ~IdleTimer() { cancel(); }

  void touch() { last_ = Clock::now(); }
  void cancel() {
    alive_.reset();
    timer_.cancel();
  }
  bool expired() const { return expired_; }
  Clock::duration timeout() const { return timeout_; }

 private:
  void arm(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code e) {
      if (e || alive.expired()) return;
      const auto due = last_ + timeout_;
      if (Clock::now() < due) {
        arm(due);  // there was activity since: wait for what is left
        return;
      }
      expired_ = true;
      if (on_expiry_) on_expiry_();
    });
  }

  boost::asio::steady_timer timer_;
  Clock::duration timeout_;
  std::function<void()> on_expiry_;
  Clock::time_point last_{};
  bool expired_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tapir::apps
