// Asio-style asynchronous TCP over the stack's non-blocking handles (stack/socket/
// tcp_socket.hpp), so a TCP program over the userspace stack reads like one over Asio's own
// sockets, and Asio's composed operations work on it:
//
//   drivers::AsyncTcpAcceptor acceptor(runner, std::move(*stack.tcp_listen({any, 7})));
//   drivers::AsyncTcpSocket peer = co_await acceptor.async_accept(use_awaitable);
//   boost::system::error_code error;
//   std::size_t n = co_await peer.async_read_some(boost::asio::buffer(buf),
//                                                 redirect_error(use_awaitable, error));
//   co_await boost::asio::async_write(peer, boost::asio::buffer(buf, n), use_awaitable);
//
//   drivers::AsyncTcpSocket client(runner);
//   co_await client.async_connect({server_address, 80}, use_awaitable);
//   co_await boost::asio::async_read_until(client, boost::asio::dynamic_buffer(s), "\r\n\r\n",
//                                          use_awaitable);
//
// AsyncTcpSocket meets Asio's AsyncReadStream and AsyncWriteStream requirements
// (get_executor(), async_read_some and async_write_some over any buffer sequence), so
// boost::asio::async_read, async_write and async_read_until work on it. For that its
// operations complete with boost::system::error_code, not std::error_code as the UDP and ICMP
// adapters do: Boost 1.74's composed operations call their intermediate handlers with a
// boost::system::error_code, which cannot be made from a std::error_code in this Boost (that
// came in 1.77). Signatures: void(error_code, std::size_t) for reads and writes,
// void(error_code) for a connect, void(error_code, AsyncTcpSocket) for an accept. With
// use_awaitable an error is therefore thrown as boost::system::system_error, as with Asio's
// own sockets; boost::asio::redirect_error(use_awaitable, error) gets it as a value instead.
//
// Errors are Asio's: the stack's std::error_codes (tcp_socket.hpp, errno values) become
// system-category codes, equal to boost::asio::error::connection_refused, connection_reset,
// broken_pipe, timed_out, ... (to_boost_error()). The peer's FIN is boost::asio::error::eof
// on a read (recv() returning 0), as on Asio's sockets, so async_read with transfer_all ends
// with eof when the peer closes early; every read after it says eof again. Cancelled
// operations get boost::asio::error::operation_aborted; a second read (or write, or accept,
// or connect) while one of its kind is pending gets boost::asio::error::already_started.
// A read or write of zero bytes completes at once with 0, as Asio's do.
//
// How it works, as in async_socket.hpp: each operation is tried at once (the handle is
// non-blocking); on operation_would_block the handler is kept and the handle's read or write
// waker, which the stack calls at the end of Stack::receive() or poll(), posts a retry to the
// io_context. The handler is never called from inside the initiating function. After every
// call that gives the stack something to send (connect, write, close, shutdown, and a read,
// which may open the receive window) the runner is kicked, so it goes out on this turn of the
// io_context rather than at the next deadline. Not thread-safe: use it on the thread that runs
// the io_context. The Runner (and so the Stack) must outlive the adapters.
//
// A waiting operation's handler is kept in the adapter, not in the io_context as Asio's own
// sockets keep theirs. So a coroutine that owns its AsyncTcpSocket (a session taking it by
// value) and waits on it is kept alive by that socket alone: end such coroutines (close,
// abort or cancel the socket, or let the peer's FIN end them) before the io_context goes, or
// they are never destroyed. The apps do so at SIGINT and SIGTERM (apps/common/connection_set.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <system_error>
#include <utility>

#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/pending_handler.hpp"
#include "drivers/runtime/runner.hpp"
#include "stack/base/bytes.hpp"
#include "stack/base/endpoint.hpp"
#include "stack/socket/tcp_socket.hpp"
#include "stack/stack.hpp"

namespace tapir::drivers {

// The stack's std::error_code as Asio's boost::system::error_code: errno values (the generic
// or system category) become system-category codes, so they compare equal to
// boost::asio::error::* exactly as the errors of Asio's own sockets do; a code of another
// category keeps its value, name and message (through a boost category that forwards to it).
boost::system::error_code to_boost_error(const std::error_code& error);

class AsyncTcpAcceptor;

class AsyncTcpSocket {
 public:
  using executor_type = boost::asio::io_context::executor_type;
  // The most buffers of a sequence one read or write uses (Asio's own limit is 64); the rest
  // wait for the next call, as with a short read or write.
  static constexpr std::size_t kMaxBuffers = 16;

  // Not open yet: async_connect() opens a socket on the runner's stack.
  explicit AsyncTcpSocket(Runner& runner) : runner_(&runner) {}
  // Adopts a handle (accepted, or made with Stack::tcp_socket() and perhaps bound).
  AsyncTcpSocket(Runner& runner, TcpSocket socket) : runner_(&runner), socket_(std::move(socket)) {
    set_wakers();
  }
  // Moving completes the source's pending operations with operation_aborted first; the
  // connection moves along unharmed.
  AsyncTcpSocket(AsyncTcpSocket&& o) noexcept : runner_(o.runner_) {
    o.cancel();
    o.clear_wakers();
    socket_ = std::move(o.socket_);
    set_wakers();
  }
  AsyncTcpSocket& operator=(AsyncTcpSocket&& o) noexcept {
    if (this != &o) {
      close();
      o.cancel();
      o.clear_wakers();
      runner_ = o.runner_;
      socket_ = std::move(o.socket_);
      set_wakers();
    }
    return *this;
  }
  AsyncTcpSocket(const AsyncTcpSocket&) = delete;
  AsyncTcpSocket& operator=(const AsyncTcpSocket&) = delete;
  // Cancels what is pending and closes gracefully (the FIN follows the queued data).
  ~AsyncTcpSocket() { close(); }

  executor_type get_executor() const { return runner_->io_context().get_executor(); }
  Runner& runner() const { return *runner_; }
  // The handle itself (bind, state, error, endpoints, options such as set_no_delay).
  TcpSocket& socket() { return socket_; }
  const TcpSocket& socket() const { return socket_; }
  bool is_open() const { return socket_.is_open(); }

  // RFC 9293 §3.10.1 active open to `remote`; completes once the handshake is done, or with
  // connection_refused, timed_out (after the stack's SYN retries), network_unreachable,
  // host_unreachable, ... Opens a socket on the stack first if this one is not open (bind it
  // beforehand through socket() for a chosen local port).
  template <class CompletionToken>
  auto async_connect(Ipv4Endpoint remote, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
        [this](auto&& handler, Ipv4Endpoint r) {
          this->start_connect(std::forward<decltype(handler)>(handler), r);
        },
        token, remote);
  }

  // Reads what has arrived, at least one byte, into `buffers`; eof once the peer's FIN is in.
  template <class MutableBufferSequence, class CompletionToken>
  auto async_read_some(const MutableBufferSequence& buffers, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, std::size_t)>(
        [this](auto&& handler, const MutableBufferSequence& b) {
          this->start_read(std::forward<decltype(handler)>(handler), b);
        },
        token, buffers);
  }

  // Queues as much of `buffers` as the send buffer takes, at least one byte; the buffers must
  // stay valid until completion.
  template <class ConstBufferSequence, class CompletionToken>
  auto async_write_some(const ConstBufferSequence& buffers, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, std::size_t)>(
        [this](auto&& handler, const ConstBufferSequence& b) {
          this->start_write(std::forward<decltype(handler)>(handler), b);
        },
        token, buffers);
  }

  // shutdown(SHUT_WR): a FIN follows the queued data; reading goes on.
  boost::system::error_code shutdown_send();
  // Completes every pending operation with operation_aborted. Like Asio's cancel(), it does not
  // stop operations started afterwards.
  void cancel();
  // cancel(), then the graceful close (TcpSocket::close(): FIN after the queued data; a reset
  // instead if received data was left unread). Later operations fail with bad_descriptor.
  void close();
  // cancel(), then RFC 9293 §3.10.5 ABORT: a RST at once.
  void abort();

 private:
  friend class AsyncTcpAcceptor;
  using ReadOp = detail::BasicPendingHandler<boost::system::error_code, std::size_t>;
  using ConnectOp = detail::BasicPendingHandler<boost::system::error_code>;
  // A buffer sequence flattened into at most kMaxBuffers spans.
  template <class Buffer>
  struct Buffers {
    std::array<Buffer, kMaxBuffers> items{};
    std::size_t count = 0;
    std::size_t total = 0;
  };

  template <class Buffer, class Sequence>
  static Buffers<Buffer> flatten(const Sequence& sequence) {
    Buffers<Buffer> out;
    for (auto it = boost::asio::buffer_sequence_begin(sequence);
         it != boost::asio::buffer_sequence_end(sequence) && out.count < kMaxBuffers; ++it) {
      const Buffer b(*it);
      if (b.size() == 0) continue;
      out.items[out.count++] = b;
      out.total += b.size();
    }
    return out;
  }

  static boost::system::error_code busy() { return boost::asio::error::already_started; }
  static boost::system::error_code bad_descriptor() { return boost::asio::error::bad_descriptor; }

  void set_wakers();
  void clear_wakers();
  // A waker that posts `on_ready` to the io_context once, however often it is called first.
  Waker waker(void (AsyncTcpSocket::*on_ready)(), bool& posted);
  void on_readable();
  void on_writable();

  template <class Handler>
  void start_connect(Handler&& handler, Ipv4Endpoint remote) {
    if (!connect_op_.empty()) {
      detail::post_handler(std::forward<Handler>(handler), get_executor(), busy());
      return;
    }
    auto error = begin_connect(remote);
    if (error || connect_done(error)) {
      detail::post_handler(std::forward<Handler>(handler), get_executor(), error);
      return;
    }
    connect_op_.emplace(std::forward<Handler>(handler), get_executor());
  }

  template <class Handler, class Sequence>
  void start_read(Handler&& handler, const Sequence& sequence) {
    if (!read_op_.empty()) {
      detail::post_handler(std::forward<Handler>(handler), get_executor(), busy(), std::size_t{0});
      return;
    }
    read_buffers_ = flatten<boost::asio::mutable_buffer>(sequence);
    boost::system::error_code error;
    std::size_t n = 0;
    if (!try_read(error, n)) {
      read_op_.emplace(std::forward<Handler>(handler), get_executor());
      return;
    }
    detail::post_handler(std::forward<Handler>(handler), get_executor(), error, n);
  }

  template <class Handler, class Sequence>
  void start_write(Handler&& handler, const Sequence& sequence) {
    if (!write_op_.empty()) {
      detail::post_handler(std::forward<Handler>(handler), get_executor(), busy(), std::size_t{0});
      return;
    }
    write_buffers_ = flatten<boost::asio::const_buffer>(sequence);
    boost::system::error_code error;
    std::size_t n = 0;
    if (!try_write(error, n)) {
      write_op_.emplace(std::forward<Handler>(handler), get_executor());
      return;
    }
    detail::post_handler(std::forward<Handler>(handler), get_executor(), error, n);
  }

  // Opens the socket if needed and starts the handshake; an error if that failed at once.
  boost::system::error_code begin_connect(Ipv4Endpoint remote);
  // Whether the handshake has ended (error: empty if it succeeded).
  bool connect_done(boost::system::error_code& error) const;
  // False if the socket would block; otherwise the result is in error and n.
  bool try_read(boost::system::error_code& error, std::size_t& n);
  bool try_write(boost::system::error_code& error, std::size_t& n);

  Runner* runner_;
  TcpSocket socket_;
  ReadOp read_op_;
  ReadOp write_op_;
  ConnectOp connect_op_;
  Buffers<boost::asio::mutable_buffer> read_buffers_;
  Buffers<boost::asio::const_buffer> write_buffers_;
  bool read_wake_posted_ = false;
  bool write_wake_posted_ = false;
  // Posted wakers hold a weak_ptr to this and do nothing once the adapter is gone (or moved
  // from: a moved-to adapter has its own).
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// A listener (TcpListener) with async_accept, completing with each established connection as
// an AsyncTcpSocket on the same runner:
//   async_accept(token)                    void(error_code, AsyncTcpSocket)
//   async_accept(AsyncTcpSocket& peer, token)   void(error_code); peer is replaced
// One accept may be pending at a time. cancel() and close() complete it with
// operation_aborted.
class AsyncTcpAcceptor {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  AsyncTcpAcceptor(Runner& runner, TcpListener listener);
  AsyncTcpAcceptor(const AsyncTcpAcceptor&) = delete;
  AsyncTcpAcceptor& operator=(const AsyncTcpAcceptor&) = delete;
  ~AsyncTcpAcceptor();

  executor_type get_executor() const { return runner_.io_context().get_executor(); }
  TcpListener& listener() { return listener_; }
  const TcpListener& listener() const { return listener_; }
  bool is_open() const { return listener_.is_open(); }

  template <class CompletionToken>
  auto async_accept(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, AsyncTcpSocket)>(
        [this](auto&& handler) { this->start_accept(std::forward<decltype(handler)>(handler)); },
        token);
  }

  template <class CompletionToken>
  auto async_accept(AsyncTcpSocket& peer, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
        [this](auto&& handler, AsyncTcpSocket* p) {
          // The wrapper keeps the handler's executor (a coroutine's, a strand).
          auto executor = boost::asio::get_associated_executor(handler, get_executor());
          this->start_accept(boost::asio::bind_executor(
              executor, [h = std::forward<decltype(handler)>(handler), p](
                            boost::system::error_code error, AsyncTcpSocket socket) mutable {
                if (!error) *p = std::move(socket);
                std::move(h)(error);
              }));
        },
        token, &peer);
  }

  // Completes a pending accept with operation_aborted.
  void cancel();
  // cancel(), then stops listening (connections not yet accepted are reset).
  void close();

 private:
  using AcceptOp = detail::BasicPendingHandler<boost::system::error_code, AsyncTcpSocket>;

  template <class Handler>
  void start_accept(Handler&& handler) {
    if (!accept_op_.empty()) {
      detail::post_handler(std::forward<Handler>(handler), get_executor(),
                           boost::system::error_code(boost::asio::error::already_started),
                           AsyncTcpSocket(runner_));
      return;
    }
    boost::system::error_code error;
    AsyncTcpSocket socket(runner_);
    if (!try_accept(error, socket)) {
      accept_op_.emplace(std::forward<Handler>(handler), get_executor());
      return;
    }
    detail::post_handler(std::forward<Handler>(handler), get_executor(), error, std::move(socket));
  }

  bool try_accept(boost::system::error_code& error, AsyncTcpSocket& socket);
  void on_readable();

  Runner& runner_;
  TcpListener listener_;
  AcceptOp accept_op_;
  bool wake_posted_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tapir::drivers
