// Runner: drives a sans-IO Stack from a Boost.Asio io_context, on the thread that runs it.
//
//   boost::asio::io_context io;
//   drivers::Runner runner(io, *stack);
//   runner.attach(tap, eth0);      // the device behind stack interface eth0
//   runner.start();
//   io.run();
//
// For each attached device with a descriptor (native_handle() >= 0) the runner waits for it to
// become readable, hands up to kBatch frames to Stack::receive(), then calls Stack::poll() and
// waits again. One steady_timer is armed for the earliest of Stack::next_deadline() and every
// device's next_deadline() (devices that hold frames: the fault decorator, the memory wire);
// when it expires the runner receives from the devices that are due and polls the stack. Frames
// the stack sends go straight to the device behind their interface; a device that cannot take a
// frame drops and counts it (Device::transmit never blocks), so the runner ignores the result
// beyond counting it.
//
// Time is std::chrono::steady_clock since the runner was made (or since its group's epoch),
// as a tapir::Instant (now()).
// Apps that change a socket from outside a stack call (async_socket.hpp does this after every
// send) call kick(), which posts one poll; repeated kicks before it runs coalesce.
// When frames woke the app (a waker fired: Stack::wakers_fired() grew), the poll after them
// waits until the app's handlers have run (kAppHops rounds of posted handlers), so the ACKs
// those frames made due leave with the app's answer: an echo with its ACK, a FIN with the ACK
// of the peer's FIN. Reads and kicks meanwhile only receive; that poll covers them all.
//
// Busy polling (set_busy_poll(), off by default): once a descriptor is read dry the runner keeps
// asking it, with poll(2) and a zero timeout, for up to the budget before it goes to sleep in
// the reactor, as Linux's SO_BUSY_POLL spins on a socket's queue. Each ask is a posted handler,
// so the app's handlers, timers and other descriptors run in between; the budget restarts with
// every frame. A frame that arrives meanwhile is read without the wake-up from sleep, which on
// an idle machine costs tens of microseconds (docs/performance.md), at the price of a CPU kept
// busy for the budget after each burst: a budget longer than the gaps between frames keeps it
// busy for as long as traffic flows.
//
// Per frame the runner neither allocates nor formats a log line. A device whose receive()
// fails is logged once (logger "drv") and no longer read; frames are still sent to it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <spdlog/logger.h>

#include "drivers/device/device.hpp"
#include "drivers/runtime/asio.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/time.hpp"
#include "stack/stack.hpp"

namespace tapir::drivers {

// The runner's own drops and events (`drv.*`).
struct RunnerCounters {
  Counter tx_no_device;    // the stack sent on an interface with no device attached: dropped
  Counter tx_failed;       // a device's transmit() returned an error (the device counts why)
  Counter device_failed;   // devices no longer read after receive() failed
  Counter wakeups;         // times the runner ran the stack (descriptor, timer or kick)
  Counter busy_poll_hits;  // descriptor reads that busy polling found ready (no sleep before)

  template <class F>
  void for_each_counter(F&& f) const {
    f("drv.tx_no_device", tx_no_device);
    f("drv.tx_failed", tx_failed);
    f("drv.device_failed", device_failed);
    f("drv.wakeups", wakeups);
    f("drv.busy_poll_hits", busy_poll_hits);
  }
};

class Runner {
 public:
  // Frames taken from one device per wake-up before the stack is polled and others get a turn.
  static constexpr std::size_t kBatch = 64;

  // Neither is owned; both must outlive the runner.
  Runner(boost::asio::io_context& io, Stack& stack);
  // Joins `peer`'s group, for runners whose devices are joined inside the process (the two ends
  // of a MemoryWire): they share one epoch, so they tell the same time as the wire expects, and
  // a runner that sent frames on a device without a descriptor kicks the others, since nothing
  // else would wake them to receive those frames. Same io_context; the peer may go first.
  Runner(boost::asio::io_context& io, Stack& stack, Runner& peer);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // `device` (not owned; it must outlive the runner) is the one behind stack interface `iface`.
  // on_tick, if given, is called with the current time just before each receive() from this
  // device: the hook for a decorator with work of its own to do on time, e.g.
  //   runner.attach(faulty, eth0, [&faulty](Instant now) { (void)faulty.poll(now); });
  // (FaultyDevice::receive() also sends its held frames; the hook is only needed where a
  // send error must not surface as a receive() error.) May be called before or after start().
  void attach(Device& device, InterfaceId iface, std::function<void(Instant)> on_tick = {});

  // Starts waiting on the devices and polls the stack once (it may have announcements due).
  void start();
  // Cancels every wait; pending handlers return without touching the stack. Descriptors are
  // released, never closed: the devices own them. The io_context then runs out of the runner's
  // work. start() may be called again.
  void stop();
  bool running() const { return running_; }

  // steady_clock since the epoch (construction, or the group's), in the stack's time.
  Instant now() const;
  // The system_clock reading at the runner's epoch (Instant zero), for PcapDevice timestamps.
  std::chrono::microseconds wall_offset() const { return wall_offset_; }
  // Posts one poll of the stack (and a re-arm of the timer); coalesces repeated calls.
  void kick();
  // How long to keep polling a drained descriptor before sleeping (see the top of this file);
  // zero (the default) sleeps at once. Takes effect at the next wait.
  void set_busy_poll(std::chrono::microseconds budget) { busy_poll_ = budget; }
  std::chrono::microseconds busy_poll() const { return busy_poll_; }

  boost::asio::io_context& io_context() const { return io_; }
  Stack& stack() const { return stack_; }
  const RunnerCounters& counters() const { return counters_; }

 private:
  struct Port;
  class Sink;
  class Receiver;
  // Runners sharing an epoch and waking each other (the peer constructor).
  struct Group {
    std::chrono::steady_clock::time_point epoch;
    std::vector<Runner*> members;
  };

  Runner(boost::asio::io_context& io, Stack& stack, std::shared_ptr<Group> group);

  // Runs the stack for one wake-up: receives from `ready` (a descriptor said so, may be null)
  // and from every device that is due, polls, re-arms the timer.
  void service(Port* ready);
  // How many handlers deep the app's answer to a waker lies: the socket's readiness handler,
  // the operation's completion (which resumes a coroutine), and for a connection just
  // accepted, the accept's completion and the new coroutine's first read (async_tcp.hpp).
  static constexpr unsigned kAppHops = 4;
  // Services the stack (as kick() does) once `hops` rounds of posted handlers have run.
  void poll_after(unsigned hops);
  // Hands the device's ready frames to the stack; true if it may have more right now.
  bool pump(Port& port, Instant now);
  void fail(Port& port, const std::error_code& error);
  void watch(Port& port, bool maybe_more);
  // One busy-poll ask of a drained descriptor: read it, ask again later, or go to sleep.
  void spin(Port& port, std::chrono::steady_clock::time_point until);
  void wait_readable(Port& port);
  void on_readable(Port& port);
  void arm_timer();
  void release(Port& port);

  boost::asio::io_context& io_;
  Stack& stack_;
  std::chrono::steady_clock::time_point epoch_;
  std::chrono::microseconds wall_offset_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<Device*> by_iface_;  // the sink's map from InterfaceId to device
  std::shared_ptr<Group> group_;
  bool sent_in_process_ = false;  // this wake-up sent on a device without a descriptor
  std::unique_ptr<Sink> sink_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point timer_at_{};
  std::uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;
  bool kick_posted_ = false;
  bool poll_deferred_ = false;  // a poll_after() is on its way: services until then only receive
  bool running_ = false;
  std::chrono::microseconds busy_poll_{0};
  RunnerCounters counters_;
  std::shared_ptr<spdlog::logger> log_;
  // Handlers hold a weak_ptr to this and do nothing once it is gone (the runner was destroyed
  // while the io_context still had them queued).
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tapir::drivers
