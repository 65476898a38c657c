// TcpSocket and TcpListener: handles to the TCP connections and listeners of a Stack (RFC 9293).
// Non-blocking, like UdpSocket: an operation that cannot complete now returns
// std::errc::operation_would_block and the socket's read or write waker says when to try again.
// Errors are std::error_code values of the generic category, with Linux's errno meanings:
//   bad_file_descriptor        the handle is closed or stale
//   address_in_use             bind/listen: the port is taken
//   address_not_available      bind/listen: not an address of this stack
//   network_unreachable        connect: no route to the destination
//   already_connected          connect on a socket already connecting or connected
//   not_connected              send/recv before the connection is established
//   broken_pipe                send after shutdown_send() or after the peer reset
//   connection_refused         connect: the peer answered the SYN with a RST
//   connection_reset           the peer reset an established connection
//   timed_out                  retransmissions, the user timeout or keep-alive gave up
//   too_many_files_open        no free connection slot (max_tcp_connections)
// An error the connection closed with is reported by every later call (as Linux's SO_ERROR is
// by recv and send), except recv(), which first returns the data that arrived before it.
//
// A connection outlives its handle: close() sends the FIN after the queued data and lets the
// stack finish the close (FIN-WAIT, TIME-WAIT) on its own; abort() resets at once. As in Linux,
// close() with unread received data resets instead (RFC 9293 §3.10.4 leaves it open; RFC 2525
// §2.17 recommends it).
//
// The handle owns the socket: destroying it closes it. Moving is allowed; copying is not. The
// Stack must outlive its handles (they hold a plain pointer to it).
#pragma once

#include <cstddef>
#include <system_error>

#include "stack/base/bytes.hpp"
#include "stack/base/endpoint.hpp"
#include "stack/base/error.hpp"
#include "stack/socket/socket_handle.hpp"
#include "stack/socket/socket_id.hpp"
#include "stack/tcp/connection.hpp"

namespace tapir {

class Stack;

class TcpSocket : public SocketHandle<TcpSocket> {
 public:
  TcpSocket() = default;
  TcpSocket(TcpSocket&&) noexcept = default;
  TcpSocket& operator=(TcpSocket&&) noexcept = default;
  ~TcpSocket() { close(); }

  // Optional before connect(): the local address (any, or one of the stack's) and port (0:
  // ephemeral).
  Result<void> bind(Ipv4Endpoint local);
  // Starts the active open (RFC 9293 §3.10.1) and returns at once: the SYN goes out on the next
  // poll(). When the handshake ends the write waker fires: state() is Established, or error()
  // says why not (connection_refused, timed_out, host_unreachable).
  Result<void> connect(Ipv4Endpoint remote);

  // Queues as much of data as fits in the send buffer; returns how much (> 0), or
  // operation_would_block when the buffer is full (or the handshake is not done yet).
  Result<std::size_t> send(Bytes data);
  // Takes up to out.size() received bytes; 0 means the peer's FIN: no more data will come.
  // operation_would_block when nothing is there yet.
  Result<std::size_t> recv(BytesMut out);
  // RFC 9293 §3.10.4 for the send side (shutdown(SHUT_WR)): a FIN follows the queued data.
  Result<void> shutdown_send();

  // Graceful close and release of the handle (see the header comment).
  void close();
  // RFC 9293 §3.10.5: a RST now (if synchronized), the connection is gone; releases the handle.
  void abort();

  // The connection's state; Closed for a closed handle.
  tcp::State state() const;
  // The error the connection closed with, or empty.
  std::error_code error() const;
  Result<Ipv4Endpoint> local_endpoint() const;
  Result<Ipv4Endpoint> remote_endpoint() const;

  // recv() would not say operation_would_block: data, the FIN or an error is there.
  bool readable() const;
  // send() would not say operation_would_block: space, or an error to report.
  bool writable() const;
  // Bytes sent or queued but not yet acknowledged by the peer.
  std::size_t unacknowledged() const;

  // Nagle's algorithm off (TCP_NODELAY) or on; off means each send() goes out at once.
  Result<void> set_no_delay(bool on);
  // RFC 1122 §4.2.3.6 keep-alive (SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT).
  Result<void> set_keep_alive(const tcp::KeepAliveConfig& keep_alive);
  // Buffer sizes (SO_RCVBUF, SO_SNDBUF) in bytes, before connect() only; already_connected
  // after it. 0 keeps the stack's default.
  Result<void> set_buffer_sizes(std::size_t recv_bytes, std::size_t send_bytes);

  void set_read_waker(Waker waker);
  void set_write_waker(Waker waker);

  // The connection, for statistics and tests; nullptr for a closed or stale handle.
  const tcp::Connection* connection() const;

 private:
  friend class Stack;
  friend class TcpListener;
  TcpSocket(Stack* stack, SocketId id) : SocketHandle(stack, id) {}
};

class TcpListener : public SocketHandle<TcpListener> {
 public:
  TcpListener() = default;
  TcpListener(TcpListener&&) noexcept = default;
  TcpListener& operator=(TcpListener&&) noexcept = default;
  ~TcpListener() { close(); }

  // Takes the oldest established connection from the accept queue, or operation_would_block.
  Result<TcpSocket> accept();
  bool readable() const;  // accept() would succeed
  Result<Ipv4Endpoint> local_endpoint() const;
  // Fires when a connection is ready to accept.
  void set_read_waker(Waker waker);
  // Stops listening. Connections not yet accepted are reset; accepted ones are not affected.
  void close();

 private:
  friend class Stack;
  TcpListener(Stack* stack, SocketId id) : SocketHandle(stack, id) {}
};

}  // namespace tapir
