#include "drivers/runtime/async_tcp.hpp"

#include <map>
#include <mutex>
#include <string>

namespace tapir::drivers {
namespace {

// A boost category that forwards to a std one, for codes of categories other than errno's.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"  // boost's base has a protected one
class StdCategory final : public boost::system::error_category {
 public:
  explicit StdCategory(const std::error_category& category) : category_(category) {}
  const char* name() const noexcept override { return category_.name(); }
  std::string message(int value) const override { return category_.message(value); }

 private:
  const std::error_category& category_;
};
#pragma GCC diagnostic pop

const boost::system::error_category& boost_category(const std::error_category& category) {
  static std::mutex mutex;
  static std::map<const std::error_category*, std::unique_ptr<StdCategory>> categories;
  const std::lock_guard lock(mutex);
  auto& entry = categories[&category];
  if (!entry) entry = std::make_unique<StdCategory>(category);
  return *entry;
}

bool would_block(const std::error_code& e) {
  return e == std::errc::operation_would_block || e == std::errc::resource_unavailable_try_again;
}

}  // namespace

boost::system::error_code to_boost_error(const std::error_code& error) {
  if (!error) return {};
  if (error.category() == std::generic_category() || error.category() == std::system_category())
    return {error.value(), boost::system::system_category()};
  return {error.value(), boost_category(error.category())};
}

// AsyncTcpSocket.

void AsyncTcpSocket::set_wakers() {
  socket_.set_read_waker(waker(&AsyncTcpSocket::on_readable, read_wake_posted_));
  socket_.set_write_waker(waker(&AsyncTcpSocket::on_writable, write_wake_posted_));
}

void AsyncTcpSocket::clear_wakers() {
  socket_.set_read_waker({});
  socket_.set_write_waker({});
}

Waker AsyncTcpSocket::waker(void (AsyncTcpSocket::*on_ready)(), bool& posted) {
  return [this, on_ready, &posted, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired() || posted) return;
    posted = true;
    boost::asio::post(runner_->io_context(), [this, on_ready, &posted, alive] {
      if (alive.expired()) return;
      posted = false;
      (this->*on_ready)();
    });
  };
}

boost::system::error_code AsyncTcpSocket::shutdown_send() {
  auto r = socket_.shutdown_send();
  runner_->kick();
  return r ? boost::system::error_code() : to_boost_error(r.error());
}

void AsyncTcpSocket::cancel() {
  const boost::system::error_code aborted = boost::asio::error::operation_aborted;
  if (!connect_op_.empty()) connect_op_.complete(aborted);
  if (!read_op_.empty()) read_op_.complete(aborted, 0);
  if (!write_op_.empty()) write_op_.complete(aborted, 0);
}

void AsyncTcpSocket::close() {
  cancel();
  if (!socket_.is_open()) return;
  clear_wakers();
  socket_.close();
  runner_->kick();  // the FIN (or RST) goes out now
}

void AsyncTcpSocket::abort() {
  cancel();
  if (!socket_.is_open()) return;
  clear_wakers();
  socket_.abort();
  runner_->kick();
}

boost::system::error_code AsyncTcpSocket::begin_connect(Ipv4Endpoint remote) {
  if (!socket_.is_open()) {
    auto s = runner_->stack().tcp_socket();
    if (!s) return to_boost_error(s.error());
    socket_ = std::move(*s);
    set_wakers();
  }
  auto r = socket_.connect(remote);
  if (!r) return to_boost_error(r.error());
  runner_->kick();  // the SYN goes out now
  return {};
}

bool AsyncTcpSocket::connect_done(boost::system::error_code& error) const {
  if (auto e = socket_.error()) {
    error = to_boost_error(e);
    return true;
  }
  switch (socket_.state()) {
    case tcp::State::SynSent:
    case tcp::State::SynReceived:
      return false;
    case tcp::State::Closed:
    case tcp::State::Listen:
      error = boost::asio::error::not_connected;  // closed with no error given
      return true;
    default:
      error = {};  // established (the peer may even have sent its FIN already)
      return true;
  }
}

bool AsyncTcpSocket::try_read(boost::system::error_code& error, std::size_t& n) {
  n = 0;
  error = {};
  if (read_buffers_.total == 0) return true;  // a read of nothing: 0 at once
  for (std::size_t i = 0; i < read_buffers_.count; ++i) {
    const auto& b = read_buffers_.items[i];
    auto r = socket_.recv(BytesMut(static_cast<std::byte*>(b.data()), b.size()));
    if (!r) {
      if (n > 0) break;  // report what was read; the error (or blocking) comes next time
      if (would_block(r.error())) return false;
      error = to_boost_error(r.error());
      return true;
    }
    if (*r == 0) {
      // The peer's FIN: eof now, or after the bytes read before it.
      if (n == 0) error = boost::asio::error::eof;
      break;
    }
    n += *r;
    if (*r < b.size()) break;
  }
  runner_->kick();  // reading may open the receive window: a window update is due
  return true;
}

bool AsyncTcpSocket::try_write(boost::system::error_code& error, std::size_t& n) {
  n = 0;
  error = {};
  if (write_buffers_.total == 0) return true;
  for (std::size_t i = 0; i < write_buffers_.count; ++i) {
    const auto& b = write_buffers_.items[i];
    auto r = socket_.send(Bytes(static_cast<const std::byte*>(b.data()), b.size()));
    if (!r) {
      if (n > 0) break;
      if (would_block(r.error())) return false;
      error = to_boost_error(r.error());
      return true;
    }
    n += *r;
    if (*r < b.size()) break;
  }
  runner_->kick();  // the data goes out on this turn
  return true;
}

void AsyncTcpSocket::on_readable() {
  if (read_op_.empty()) return;
  boost::system::error_code error;
  std::size_t n = 0;
  if (try_read(error, n)) read_op_.complete(error, n);
}

void AsyncTcpSocket::on_writable() {
  if (!connect_op_.empty()) {
    boost::system::error_code error;
    if (connect_done(error)) connect_op_.complete(error);
  }
  if (write_op_.empty()) return;
  boost::system::error_code error;
  std::size_t n = 0;
  if (try_write(error, n)) write_op_.complete(error, n);
}

// AsyncTcpAcceptor.

AsyncTcpAcceptor::AsyncTcpAcceptor(Runner& runner, TcpListener listener)
    : runner_(runner), listener_(std::move(listener)) {
  listener_.set_read_waker([this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired() || wake_posted_) return;
    wake_posted_ = true;
    boost::asio::post(runner_.io_context(), [this, alive] {
      if (alive.expired()) return;
      wake_posted_ = false;
      on_readable();
    });
  });
}

AsyncTcpAcceptor::~AsyncTcpAcceptor() {
  cancel();
  listener_.set_read_waker({});
}

void AsyncTcpAcceptor::cancel() {
  if (!accept_op_.empty())
    accept_op_.complete(boost::asio::error::operation_aborted, AsyncTcpSocket(runner_));
}

void AsyncTcpAcceptor::close() {
  cancel();
  if (!listener_.is_open()) return;
  listener_.set_read_waker({});
  listener_.close();
  runner_.kick();  // the resets of connections not accepted go out now
}

bool AsyncTcpAcceptor::try_accept(boost::system::error_code& error, AsyncTcpSocket& socket) {
  auto r = listener_.accept();
  if (!r) {
    if (would_block(r.error())) return false;
    error = to_boost_error(r.error());
    return true;
  }
  socket = AsyncTcpSocket(runner_, std::move(*r));
  return true;
}

void AsyncTcpAcceptor::on_readable() {
  if (accept_op_.empty()) return;
  boost::system::error_code error;
  AsyncTcpSocket socket(runner_);
  if (try_accept(error, socket)) accept_op_.complete(error, std::move(socket));
}

}  // namespace tapir::drivers
