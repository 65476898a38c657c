// What UdpSocket and IcmpSocket (and the TCP handles to come) share: the stack and the
// {slot, generation} they name, moved but never copied, and closed when replaced. Derived
// closes itself in its destructor and provides close().
#pragma once

#include <utility>

#include "stack/socket/socket_id.hpp"

namespace tapir {

class Stack;

template <class Derived>
class SocketHandle {
 public:
  bool is_open() const { return stack_ != nullptr; }
  SocketId id() const { return id_; }

 protected:
  SocketHandle() = default;
  SocketHandle(Stack* stack, SocketId id) : stack_(stack), id_(id) {}
  SocketHandle(SocketHandle&& o) noexcept
      : stack_(std::exchange(o.stack_, nullptr)), id_(std::exchange(o.id_, {})) {}
  SocketHandle& operator=(SocketHandle&& o) noexcept {
    if (this != &o) {
      static_cast<Derived*>(this)->close();
      stack_ = std::exchange(o.stack_, nullptr);
      id_ = std::exchange(o.id_, {});
    }
    return *this;
  }
  SocketHandle(const SocketHandle&) = delete;
  SocketHandle& operator=(const SocketHandle&) = delete;
  ~SocketHandle() = default;

  Stack* stack_ = nullptr;
  SocketId id_;
};

}  // namespace tapir
