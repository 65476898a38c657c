#include "drivers/runtime/runner.hpp"

#include <algorithm>
#include <poll.h>
#include <utility>

#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/log.hpp"

namespace tapir::drivers {
namespace {

// The timer is never armed further ahead than this (a far deadline is simply re-examined).
constexpr std::chrono::hours kMaxSleep{24};

// Whether fd has something to read now. Asio's reactor watches descriptors edge-triggered, so
// the runner only waits on a descriptor it has read dry; a decorator may return fewer than
// kBatch frames while its inner descriptor still holds more (the fault model's losses), so this
// asks the kernel. One poll(2) per wake-up, not per frame.
bool readable_now(int fd) {
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace

// Frames from the stack go to the device behind their interface, at the wake-up's instant.
class Runner::Sink final : public FrameSink {
 public:
  explicit Sink(Runner& runner) : runner_(runner) {}
  void set_now(Instant now) { now_ = now; }
  Instant now() const { return now_; }

  void transmit(InterfaceId iface, Bytes frame) override {
    Device* device = iface < runner_.by_iface_.size() ? runner_.by_iface_[iface] : nullptr;
    if (device == nullptr) {
      runner_.counters_.tx_no_device.inc();
      return;
    }
    if (!device->transmit(frame, now_)) runner_.counters_.tx_failed.inc();
    if (device->native_handle() < 0) runner_.sent_in_process_ = true;
  }
  void transmit_offloaded(InterfaceId iface, Bytes frame, const FrameInfo& info) override {
    Device* device = iface < runner_.by_iface_.size() ? runner_.by_iface_[iface] : nullptr;
    if (device == nullptr) {
      runner_.counters_.tx_no_device.inc();
      return;
    }
    if (!device->transmit_offloaded(frame, now_, info)) runner_.counters_.tx_failed.inc();
    if (device->native_handle() < 0) runner_.sent_in_process_ = true;
  }

 private:
  Runner& runner_;
  Instant now_{};
};

// Frames from one device go to the stack as arriving on its interface.
class Runner::Receiver final : public FrameHandler {
 public:
  Receiver(Runner& runner, InterfaceId iface) : runner_(runner), iface_(iface) {}
  void on_frame(Bytes frame, Instant now) override {
    runner_.stack_.receive(iface_, frame, now, *runner_.sink_);
  }
  void on_offloaded_frame(Bytes frame, Instant now, const FrameInfo& info) override {
    runner_.stack_.receive(iface_, frame, now, *runner_.sink_, info);
  }

 private:
  Runner& runner_;
  InterfaceId iface_;
};

struct Runner::Port {
  Port(Runner& runner, Device& d, InterfaceId i, std::function<void(Instant)> tick)
      : device(d), iface(i), on_tick(std::move(tick)), receiver(runner, i) {}

  Device& device;
  InterfaceId iface;
  std::function<void(Instant)> on_tick;
  Receiver receiver;
  std::optional<boost::asio::posix::stream_descriptor> descriptor;
  bool failed = false;
  bool watching = false;         // a wait or a posted read is outstanding
  std::uint64_t generation = 0;  // bumped on release: outstanding handlers then do nothing
};

Runner::Runner(boost::asio::io_context& io, Stack& stack)
    : Runner(io, stack, std::make_shared<Group>(Group{std::chrono::steady_clock::now(), {}})) {}

Runner::Runner(boost::asio::io_context& io, Stack& stack, Runner& peer)
    : Runner(io, stack, peer.group_) {}

Runner::Runner(boost::asio::io_context& io, Stack& stack, std::shared_ptr<Group> group)
    : io_(io),
      stack_(stack),
      epoch_(group->epoch),
      // The wall clock at the epoch: now, less the time since the epoch.
      wall_offset_(std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch() -
          (std::chrono::steady_clock::now() - epoch_))),
      group_(std::move(group)),
      sink_(std::make_unique<Sink>(*this)),
      timer_(io),
      log_(logger("drv")) {
  group_->members.push_back(this);
}

Runner::~Runner() {
  stop();
  std::erase(group_->members, this);
}

Instant Runner::now() const {
  return Instant{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_)};
}

void Runner::attach(Device& device, InterfaceId iface, std::function<void(Instant)> on_tick) {
  ports_.push_back(std::make_unique<Port>(*this, device, iface, std::move(on_tick)));
  if (by_iface_.size() <= iface) by_iface_.resize(std::size_t{iface} + 1, nullptr);
  by_iface_[iface] = &device;
  if (!running_) return;
  Port& port = *ports_.back();
  if (device.native_handle() >= 0) {
    try {
      port.descriptor.emplace(io_, device.native_handle());
    } catch (const boost::system::system_error& e) {
      fail(port, e.code());
      return;
    }
    watch(port, true);
  }
  kick();
}

void Runner::start() {
  if (running_) return;
  running_ = true;
  for (auto& port : ports_) {
    if (port->failed || port->device.native_handle() < 0) continue;
    try {
      port->descriptor.emplace(io_, port->device.native_handle());
    } catch (const boost::system::system_error& e) {
      fail(*port, e.code());
      continue;
    }
    watch(*port, true);
  }
  kick();
}

void Runner::stop() {
  running_ = false;
  ++timer_generation_;
  timer_armed_ = false;
  timer_.cancel();
  for (auto& port : ports_)
    release(*port);
}

void Runner::release(Port& port) {
  ++port.generation;
  port.watching = false;
  if (!port.descriptor) return;
  // The device owns the descriptor: release() cancels the wait and hands it back unclosed.
  (void)port.descriptor->release();
  port.descriptor.reset();
}

void Runner::kick() {
  if (kick_posted_ || !running_) return;
  kick_posted_ = true;
  boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    kick_posted_ = false;
    if (running_) service(nullptr);
  });
}

void Runner::service(Port* ready) {
  counters_.wakeups.inc();
  const Instant t = now();
  sink_->set_now(t);
  bool ready_has_more = false;
  const std::uint64_t woken = stack_.wakers_fired();
  if (ready != nullptr && !ready->failed) ready_has_more = pump(*ready, t);
  for (auto& port : ports_)
    if (port.get() != ready && !port->failed && port->device.next_deadline() <= t) pump(*port, t);
  if (poll_deferred_ || (ready != nullptr && stack_.wakers_fired() != woken)) {
    // The frames woke the app. Poll after its handlers have run, so the ACKs and window updates
    // the frames made due leave with the app's answer (an echo, a response, a FIN) instead of
    // in frames of their own; kicks and reads meanwhile join that poll, and its service arms
    // the timer.
    if (!poll_deferred_) {
      poll_deferred_ = true;
      kick_posted_ = true;
      poll_after(kAppHops);
    }
    if (ready != nullptr) watch(*ready, ready_has_more);
  } else {
    stack_.poll(t, *sink_);
    if (ready != nullptr) watch(*ready, ready_has_more);
    arm_timer();
  }
  // Frames put on an in-process wire: the runner at its other end has no descriptor to wake it.
  if (std::exchange(sent_in_process_, false))
    for (Runner* other : group_->members)
      if (other != this) other->kick();
}

void Runner::poll_after(unsigned hops) {
  boost::asio::post(io_, [this, hops, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    if (hops > 1) {
      poll_after(hops - 1);
      return;
    }
    kick_posted_ = false;
    poll_deferred_ = false;
    if (running_) service(nullptr);
  });
}

bool Runner::pump(Port& port, Instant now) {
  // An in-process device may send frames it held (the fault model's delayed ones) as it goes.
  if (port.device.native_handle() < 0) sent_in_process_ = true;
  if (port.on_tick) port.on_tick(now);
  auto received = port.device.receive(now, port.receiver, kBatch);
  if (!received) {
    fail(port, received.error());
    return false;
  }
  return *received >= kBatch;
}

void Runner::fail(Port& port, const std::error_code& error) {
  if (port.failed) return;
  port.failed = true;
  counters_.device_failed.inc();
  log_->error("interface {}: device failed: {}; no longer reading it", port.iface, error.message());
  release(port);
}

void Runner::watch(Port& port, bool maybe_more) {
  if (!running_ || port.failed || !port.descriptor || port.watching) return;
  port.watching = true;
  const std::uint64_t generation = port.generation;
  auto alive = std::weak_ptr<int>(alive_);
  if (maybe_more || readable_now(port.descriptor->native_handle())) {
    // Not drained yet: read again after whatever else is queued, without waiting.
    boost::asio::post(io_, [this, &port, alive, generation] {
      if (alive.expired() || generation != port.generation) return;
      on_readable(port);
    });
    return;
  }
  if (busy_poll_.count() > 0) {
    spin(port, std::chrono::steady_clock::now() + busy_poll_);
    return;
  }
  wait_readable(port);
}

void Runner::spin(Port& port, std::chrono::steady_clock::time_point until) {
  boost::asio::post(
      io_, [this, &port, until, alive = std::weak_ptr<int>(alive_), generation = port.generation] {
        if (alive.expired() || generation != port.generation || !running_) return;
        if (readable_now(port.descriptor->native_handle())) {
          counters_.busy_poll_hits.inc();
          on_readable(port);
        } else if (std::chrono::steady_clock::now() < until) {
          spin(port, until);
        } else {
          wait_readable(port);
        }
      });
}

void Runner::wait_readable(Port& port) {
  const std::uint64_t generation = port.generation;
  port.descriptor->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [this, &port, alive = std::weak_ptr<int>(alive_),
                               generation](const boost::system::error_code& ec) {
                                if (alive.expired() || generation != port.generation) return;
                                if (ec == boost::asio::error::operation_aborted) return;
                                if (ec) {
                                  port.watching = false;
                                  fail(port, std::error_code(ec));
                                  return;
                                }
                                on_readable(port);
                              });
}

void Runner::on_readable(Port& port) {
  port.watching = false;
  if (running_) service(&port);
}

void Runner::arm_timer() {
  if (!running_) return;
  Instant due = stack_.next_deadline();
  for (const auto& port : ports_)
    if (!port->failed) due = std::min(due, port->device.next_deadline());
  if (due == kNever) {
    if (timer_armed_) {
      ++timer_generation_;
      timer_armed_ = false;
      timer_.cancel();
    }
    return;
  }
  const Instant t = now();
  // Instant::min() ("at once") and far deadlines are brought into a range the clock holds.
  due = std::clamp(due, t, t + kMaxSleep);
  const auto at = epoch_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               due.time_since_epoch());
  if (timer_armed_ && at == timer_at_) return;
  timer_at_ = at;
  timer_armed_ = true;
  const std::uint64_t generation = ++timer_generation_;
  timer_.expires_at(at);
  timer_.async_wait(
      [this, alive = std::weak_ptr<int>(alive_), generation](const boost::system::error_code&) {
        if (alive.expired() || generation != timer_generation_) return;
        timer_armed_ = false;
        if (running_) service(nullptr);
      });
}

}  // namespace tapir::drivers
