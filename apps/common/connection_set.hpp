// ConnectionSet: the TCP connections an app has open, so that at SIGINT or SIGTERM it can end
// them all and let io_context::run() return. Each connection's coroutine registers its socket
// for as long as it runs:
//
//   awaitable<void> session(AsyncTcpSocket socket, ConnectionSet& connections) {
//     auto registered = connections.add(socket);   // removed again when the coroutine ends
//     ...
//   }
//   ...
//   host->start([&] { acceptor.close(); connections.abort_all(); post(stop) });
//
// abort_all() resets every connection (a RST, so each peer learns at once that the service is
// gone, rather than retransmitting to a process that no longer answers); each pending operation
// completes with operation_aborted and every later one fails, so the coroutines end.
#pragma once

#include <cstddef>
#include <unordered_set>
#include <utility>
#include <vector>

#include "drivers/runtime/async_tcp.hpp"

namespace tapir::apps {

class ConnectionSet {
 public:
  // Keeps a socket in the set until destroyed.
  class Registration {
   public:
    Registration(ConnectionSet& set, drivers::AsyncTcpSocket& socket)
        : set_(&set), socket_(&socket) {
      set_->sockets_.insert(socket_);
    }
    Registration(Registration&& o) noexcept
        : set_(std::exchange(o.set_, nullptr)), socket_(o.socket_) {}
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    Registration& operator=(Registration&&) = delete;
    ~Registration() {
      if (set_ != nullptr) set_->sockets_.erase(socket_);
    }

   private:
    ConnectionSet* set_;
    drivers::AsyncTcpSocket* socket_;
  };

  [[nodiscard]] Registration add(drivers::AsyncTcpSocket& socket) { return {*this, socket}; }

  // Resets every connection in the set (see the top of this file).
  void abort_all() {
    const std::vector<drivers::AsyncTcpSocket*> sockets(sockets_.begin(), sockets_.end());
    for (auto* s : sockets)
      s->abort();
  }

  std::size_t size() const { return sockets_.size(); }

 private:
  std::unordered_set<drivers::AsyncTcpSocket*> sockets_;
};

}  // namespace tapir::apps
