// PendingHandler: the completion handler of one asynchronous operation that is waiting, kept
// type-erased until the operation completes (async_socket.hpp keeps one per direction).
// BasicPendingHandler<Args...> is the same for any completion signature void(Args...):
// async_tcp.hpp keeps (boost::system::error_code, std::size_t) for reads and writes,
// (boost::system::error_code) for a connect and (boost::system::error_code, AsyncTcpSocket)
// for an accept; PendingHandler is BasicPendingHandler<std::error_code, std::size_t>.
//
// While it holds a handler it also holds outstanding work on the handler's executor, so
// io_context::run() does not return while a coroutine waits for a datagram. Completion never
// calls the handler inline: it is posted to its associated executor, as Asio requires of an
// initiating function. A handler up to kInlineSize bytes (those of use_awaitable, use_future and
// lambdas with a few captures) is kept inside the object; only a larger one is allocated.
#pragma once

#include <cstddef>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

#include "drivers/runtime/asio.hpp"

namespace tapir::drivers::detail {

// Posts handler(args...) to the handler's associated executor (io_executor if it has none).
template <class Handler, class IoExecutor, class... Args>
void post_handler(Handler&& handler, const IoExecutor& io_executor, Args&&... args) {
  auto executor = boost::asio::get_associated_executor(handler, io_executor);
  boost::asio::post(
      executor, [h = std::forward<Handler>(handler), ... a = std::forward<Args>(args)]() mutable {
        std::move(h)(std::move(a)...);
      });
}

// Posts handler(error, n), the completion of the datagram adapters.
template <class Handler, class IoExecutor>
void post_completion(Handler&& handler, const IoExecutor& io_executor, std::error_code error,
                     std::size_t n) {
  post_handler(std::forward<Handler>(handler), io_executor, error, n);
}

template <class... Args>
class BasicPendingHandler {
 public:
  static constexpr std::size_t kInlineSize = 192;

  BasicPendingHandler() = default;
  BasicPendingHandler(const BasicPendingHandler&) = delete;
  BasicPendingHandler& operator=(const BasicPendingHandler&) = delete;
  ~BasicPendingHandler() { reset(); }

  bool empty() const { return op_ == nullptr; }

  // Keeps `handler` (there must be none yet).
  template <class Handler, class IoExecutor>
  void emplace(Handler&& handler, const IoExecutor& io_executor) {
    using Op = Stored<std::decay_t<Handler>, IoExecutor>;
    if constexpr (sizeof(Op) <= kInlineSize && alignof(Op) <= alignof(std::max_align_t)) {
      op_ = ::new (static_cast<void*>(storage_))
          Op(std::forward<Handler>(handler), io_executor, false);
    } else {
      op_ = new Op(std::forward<Handler>(handler), io_executor, true);
    }
  }

  // Posts the handler with args and empties this. There must be a handler.
  void complete(Args... args) { std::exchange(op_, nullptr)->complete(std::move(args)...); }

  // Destroys the handler without calling it (a coroutine waiting on it is destroyed too).
  void reset() {
    if (op_ != nullptr) std::exchange(op_, nullptr)->destroy();
  }

 private:
  class Base {
   public:
    virtual void complete(Args... args) = 0;
    virtual void destroy() = 0;

   protected:
    ~Base() = default;
  };

  template <class Handler, class IoExecutor>
  class Stored final : public Base {
   public:
    Stored(Handler&& handler, const IoExecutor& io_executor, bool on_heap)
        : handler_(std::move(handler)),
          work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_, io_executor),
                                    boost::asio::execution::outstanding_work.tracked)),
          on_heap_(on_heap) {}
    Stored(const Handler& handler, const IoExecutor& io_executor, bool on_heap)
        : Stored(Handler(handler), io_executor, on_heap) {}

    void complete(Args... args) override {
      Handler handler(std::move(handler_));
      auto work(std::move(work_));
      destroy();
      // Posting through the tracked executor keeps the work counted until it runs.
      boost::asio::post(work, [h = std::move(handler), ... a = std::move(args)]() mutable {
        std::move(h)(std::move(a)...);
      });
    }
    void destroy() override {
      if (on_heap_) {
        delete this;
      } else {
        this->~Stored();
      }
    }

   private:
    using WorkExecutor = std::decay_t<decltype(boost::asio::prefer(
        std::declval<boost::asio::associated_executor_t<Handler, IoExecutor>>(),
        boost::asio::execution::outstanding_work.tracked))>;

    Handler handler_;
    WorkExecutor work_;
    bool on_heap_;
  };

  alignas(std::max_align_t) std::byte storage_[kInlineSize];
  Base* op_ = nullptr;
};

using PendingHandler = BasicPendingHandler<std::error_code, std::size_t>;

}  // namespace tapir::drivers::detail
