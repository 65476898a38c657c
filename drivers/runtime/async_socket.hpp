// Asio-style asynchronous adapters over the stack's non-blocking socket handles, so programs
// over the userspace stack read like programs over Asio's own sockets:
//
//   drivers::AsyncUdpSocket socket(runner, std::move(udp));   // udp: bound with bind()
//   auto [error, n] = co_await socket.async_receive_from(boost::asio::buffer(buf), from,
//                                                        boost::asio::use_awaitable);
//   co_await socket.async_send_to(boost::asio::buffer(buf.data(), n), from,
//                                 boost::asio::use_awaitable);
//
// Every operation is an initiating function (boost::asio::async_initiate) completing with
// (std::error_code, std::size_t), so it takes any completion token: a callback, use_awaitable
// (a C++20 coroutine; the result is a std::tuple<std::error_code, std::size_t>, nothing is
// thrown), use_future (a std::future of that tuple, set on Asio's system executor, so wait for
// it from another thread than the io_context's), or a composed operation's intermediate
// handler. The handler is never called from inside the initiating function: it is posted to its
// associated executor.
//
// How it works: the operation is first tried at once (the socket is non-blocking). If the socket
// says std::errc::operation_would_block, the handler is kept and the socket's read or write
// waker, which the stack calls at the end of Stack::receive() or Stack::poll(), posts a retry to
// the io_context (a waker never calls back into the stack). After a datagram is queued the
// runner is kicked, so it goes out on this turn of the io_context rather than at the next
// deadline.
//
// One receive and one send may be outstanding at a time; a second of the same kind completes
// with std::errc::connection_already_in_progress (EALREADY). cancel() completes a pending
// operation with boost::asio::error::operation_aborted, as a std::error_code (equal to
// std::errc::operation_canceled); so do close() and destroying the adapter. Not thread-safe: use it
// on the thread that runs the io_context, like the Runner.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <system_error>
#include <utility>

#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/pending_handler.hpp"
#include "drivers/runtime/runner.hpp"
#include "stack/base/bytes.hpp"
#include "stack/base/datagram_queue.hpp"
#include "stack/base/endpoint.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/socket/icmp_socket.hpp"
#include "stack/socket/udp_socket.hpp"

namespace tapir::drivers {

// boost::asio::error::operation_aborted as a std::error_code: what cancelled operations get.
inline std::error_code operation_aborted_error() {
  return std::error_code(boost::system::error_code(boost::asio::error::operation_aborted));
}

namespace detail {

inline void store_received(Ipv4Endpoint& out, const DatagramInfo& info) {
  out = info.remote;
}
inline void store_received(DatagramInfo& out, const DatagramInfo& info) {
  out = info;
}

// What AsyncUdpSocket and AsyncIcmpSocket share. Socket is UdpSocket or IcmpSocket, Peer what
// a send goes to, From what a receive reports about the datagram.
template <class Socket, class Peer, class From>
class AsyncDatagramSocket {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  AsyncDatagramSocket(Runner& runner, Socket socket) : runner_(runner), socket_(std::move(socket)) {
    socket_.set_read_waker(waker(&AsyncDatagramSocket::on_readable, read_wake_posted_));
    socket_.set_write_waker(waker(&AsyncDatagramSocket::on_writable, write_wake_posted_));
  }
  AsyncDatagramSocket(const AsyncDatagramSocket&) = delete;
  AsyncDatagramSocket& operator=(const AsyncDatagramSocket&) = delete;
  ~AsyncDatagramSocket() {
    cancel();
    socket_.set_read_waker({});
    socket_.set_write_waker({});
  }

  executor_type get_executor() const { return runner_.io_context().get_executor(); }
  // The socket handle itself (bind, connect, local_endpoint, ...).
  Socket& socket() { return socket_; }
  const Socket& socket() const { return socket_; }

  // Receives one datagram into `buffer`; completes with the bytes copied (a longer datagram is
  // cut, the rest discarded, as recvfrom without MSG_TRUNC) and fills `from`, which must stay
  // valid until completion.
  template <class CompletionToken>
  auto async_receive_from(boost::asio::mutable_buffer buffer, From& from, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(std::error_code, std::size_t)>(
        [this](auto&& handler, boost::asio::mutable_buffer b, From* f) {
          this->start_receive(std::forward<decltype(handler)>(handler), b, f);
        },
        token, buffer, &from);
  }

  // Queues one datagram of `buffer`'s bytes (which must stay valid until completion) to `to`;
  // completes with its length once the stack has taken it.
  template <class CompletionToken>
  auto async_send_to(boost::asio::const_buffer buffer, Peer to, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(std::error_code, std::size_t)>(
        [this](auto&& handler, boost::asio::const_buffer b, Peer p) {
          this->start_send(std::forward<decltype(handler)>(handler), b, p);
        },
        token, buffer, to);
  }

  // Completes the pending receive and send, if any, with operation_aborted. Like Asio's own
  // cancel(), it does not stop operations started afterwards: a loop that may be between two
  // operations when it is cancelled should also check a flag of its own, or use close().
  void cancel() {
    if (!read_op_.empty()) read_op_.complete(operation_aborted_error(), 0);
    if (!write_op_.empty()) write_op_.complete(operation_aborted_error(), 0);
  }
  // cancel(), then closes the socket: later operations complete with bad_file_descriptor.
  void close() {
    cancel();
    socket_.close();
  }
  bool is_open() const { return socket_.is_open(); }

 private:
  static bool would_block(const std::error_code& e) {
    return e == std::errc::operation_would_block || e == std::errc::resource_unavailable_try_again;
  }
  static std::error_code busy() {
    return std::make_error_code(std::errc::connection_already_in_progress);
  }

  // A waker that posts `on_ready` to the io_context once, however often it is called first.
  Waker waker(void (AsyncDatagramSocket::*on_ready)(), bool& posted) {
    return [this, on_ready, &posted, alive = std::weak_ptr<int>(alive_)] {
      if (alive.expired() || posted) return;
      posted = true;
      boost::asio::post(runner_.io_context(), [this, on_ready, &posted, alive] {
        if (alive.expired()) return;
        posted = false;
        (this->*on_ready)();
      });
    };
  }

  template <class Handler>
  void start_receive(Handler&& handler, boost::asio::mutable_buffer buffer, From* from) {
    if (!read_op_.empty()) {
      post_completion(std::forward<Handler>(handler), get_executor(), busy(), 0);
      return;
    }
    std::error_code error;
    std::size_t n = 0;
    if (!try_receive(buffer, *from, error, n)) {
      read_buffer_ = buffer;
      read_from_ = from;
      read_op_.emplace(std::forward<Handler>(handler), get_executor());
      return;
    }
    post_completion(std::forward<Handler>(handler), get_executor(), error, n);
  }

  template <class Handler>
  void start_send(Handler&& handler, boost::asio::const_buffer buffer, Peer to) {
    if (!write_op_.empty()) {
      post_completion(std::forward<Handler>(handler), get_executor(), busy(), 0);
      return;
    }
    std::error_code error;
    std::size_t n = 0;
    if (!try_send(buffer, to, error, n)) {
      write_buffer_ = buffer;
      write_to_ = to;
      write_op_.emplace(std::forward<Handler>(handler), get_executor());
      return;
    }
    post_completion(std::forward<Handler>(handler), get_executor(), error, n);
  }

  // False if the socket would block; otherwise the result is in error and n.
  bool try_receive(boost::asio::mutable_buffer buffer, From& from, std::error_code& error,
                   std::size_t& n) {
    auto r = socket_.recv_from(BytesMut(static_cast<std::byte*>(buffer.data()), buffer.size()));
    if (!r) {
      if (would_block(r.error())) return false;
      error = r.error();
      return true;
    }
    store_received(from, *r);
    n = std::min<std::size_t>(r->len, buffer.size());
    return true;
  }

  bool try_send(boost::asio::const_buffer buffer, const Peer& to, std::error_code& error,
                std::size_t& n) {
    auto r =
        socket_.send_to(Bytes(static_cast<const std::byte*>(buffer.data()), buffer.size()), to);
    if (!r) {
      if (would_block(r.error())) return false;
      error = r.error();
      return true;
    }
    n = *r;
    runner_.kick();
    return true;
  }

  void on_readable() {
    if (read_op_.empty()) return;
    std::error_code error;
    std::size_t n = 0;
    if (try_receive(read_buffer_, *read_from_, error, n)) read_op_.complete(error, n);
  }

  void on_writable() {
    if (write_op_.empty()) return;
    std::error_code error;
    std::size_t n = 0;
    if (try_send(write_buffer_, write_to_, error, n)) write_op_.complete(error, n);
  }

  Runner& runner_;
  Socket socket_;
  PendingHandler read_op_;
  PendingHandler write_op_;
  boost::asio::mutable_buffer read_buffer_;
  From* read_from_ = nullptr;
  boost::asio::const_buffer write_buffer_;
  Peer write_to_{};
  bool read_wake_posted_ = false;
  bool write_wake_posted_ = false;
  // Posted wakers hold a weak_ptr to this and do nothing once the adapter is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace detail

// A UDP socket (stack/socket/udp_socket.hpp) with async_receive_from(buffer, Ipv4Endpoint&
// from, token) and async_send_to(buffer, Ipv4Endpoint to, token). Bind it (socket().bind())
// before receiving; sending binds an ephemeral port if needed.
class AsyncUdpSocket final
    : public detail::AsyncDatagramSocket<UdpSocket, Ipv4Endpoint, Ipv4Endpoint> {
 public:
  AsyncUdpSocket(Runner& runner, UdpSocket socket)
      : AsyncDatagramSocket(runner, std::move(socket)) {}
};

// An ICMP echo socket (stack/socket/icmp_socket.hpp) with async_receive_from(buffer,
// DatagramInfo& info, token), completing with whole ICMP messages (echo replies, and errors
// quoting this socket's requests; info.remote.address is the sender, info.ttl the arrival TTL),
// and async_send_to(buffer, Ipv4Address to, token) taking a whole echo request.
class AsyncIcmpSocket final
    : public detail::AsyncDatagramSocket<IcmpSocket, Ipv4Address, DatagramInfo> {
 public:
  AsyncIcmpSocket(Runner& runner, IcmpSocket socket)
      : AsyncDatagramSocket(runner, std::move(socket)) {}
};

}  // namespace tapir::drivers
