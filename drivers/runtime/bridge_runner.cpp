#include "drivers/runtime/bridge_runner.hpp"

#include <algorithm>
#include <poll.h>
#include <utility>

#include <fmt/core.h>

#include "drivers/runtime/log.hpp"

namespace tapir::drivers {
namespace {

// The timer is never armed further ahead than this (a far deadline is simply re-examined).
constexpr std::chrono::hours kMaxSleep{24};

// Whether fd has something to read now (Asio's reactor is edge-triggered: the runner waits
// only on a descriptor it has read dry). One poll(2) per wake-up, not per frame.
bool readable_now(int fd) {
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace

// Relayed copies go to the device behind their port, at the wake-up's instant.
class BridgeRunner::Sink final : public bridge::PortSink {
 public:
  explicit Sink(BridgeRunner& runner) : runner_(runner) {}
  void set_now(Instant now) { now_ = now; }

  void transmit(bridge::PortId port, Bytes frame) override;

 private:
  BridgeRunner& runner_;
  Instant now_{};
};

// Frames from one device go to the bridge as arriving on its port.
class BridgeRunner::Receiver final : public FrameHandler {
 public:
  Receiver(BridgeRunner& runner, bridge::PortId port) : runner_(runner), port_(port) {}
  void on_frame(Bytes frame, Instant now) override {
    runner_.bridge_.receive(port_, frame, now, *runner_.sink_);
  }

 private:
  BridgeRunner& runner_;
  bridge::PortId port_;
};

struct BridgeRunner::Port {
  Port(BridgeRunner& runner, Device& d, bridge::PortId p, std::string n, std::function<void()> s)
      : device(d), id(p), name(std::move(n)), on_sent(std::move(s)), receiver(runner, p) {}

  Device& device;
  bridge::PortId id;
  std::string name;
  std::function<void()> on_sent;
  Receiver receiver;
  std::optional<boost::asio::posix::stream_descriptor> descriptor;
  bool failed = false;
  bool watching = false;         // a wait or a posted read is outstanding
  bool sent = false;             // frames went to the device this wake-up (for on_sent)
  std::uint64_t generation = 0;  // bumped on release: outstanding handlers then do nothing
};

void BridgeRunner::Sink::transmit(bridge::PortId port, Bytes frame) {
  Port* p = port < runner_.by_port_.size() ? runner_.by_port_[port] : nullptr;
  if (p == nullptr) {
    runner_.counters_.tx_no_device.inc();
    return;
  }
  if (!p->device.transmit(frame, now_)) runner_.counters_.tx_failed.inc();
  p->sent = true;
}

// The stack's end of the host wire: sending on it wakes the bridge runner, which has no
// descriptor to wait on for that end.
class BridgeRunner::KickingDevice final : public Device {
 public:
  KickingDevice(Device& inner, BridgeRunner& runner) : inner_(inner), runner_(runner) {}
  Medium medium() const override { return inner_.medium(); }
  std::size_t mtu() const override { return inner_.mtu(); }
  Result<std::size_t> receive(Instant now, FrameHandler& handler, std::size_t max_frames) override {
    return inner_.receive(now, handler, max_frames);
  }
  Result<void> transmit(Bytes frame, Instant now) override {
    auto r = inner_.transmit(frame, now);
    runner_.kick();
    return r;
  }
  Instant next_deadline() const override { return inner_.next_deadline(); }
  const DeviceCounters& counters() const override { return inner_.counters(); }

 private:
  Device& inner_;
  BridgeRunner& runner_;
};

BridgeRunner::BridgeRunner(boost::asio::io_context& io, bridge::Bridge& bridge)
    : io_(io),
      bridge_(bridge),
      epoch_(std::chrono::steady_clock::now()),
      wall_offset_(std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())),
      sink_(std::make_unique<Sink>(*this)),
      timer_(io),
      log_(logger("drv")) {}

BridgeRunner::~BridgeRunner() {
  stop();
}

Instant BridgeRunner::now() const {
  if (clock_ != nullptr) return clock_->now();
  return Instant{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_)};
}

std::chrono::microseconds BridgeRunner::wall_offset() const {
  return clock_ != nullptr ? clock_->wall_offset() : wall_offset_;
}

void BridgeRunner::attach(Device& device, bridge::PortId port, std::string name,
                          std::function<void()> on_sent) {
  ports_.push_back(
      std::make_unique<Port>(*this, device, port, std::move(name), std::move(on_sent)));
  if (by_port_.size() <= port) by_port_.resize(std::size_t{port} + 1, nullptr);
  by_port_[port] = ports_.back().get();
  if (!running_) return;
  begin_watch(*ports_.back());
  kick();
}

struct BridgeRunner::HostWire {
  HostWire(BridgeRunner& runner, std::size_t mtu)
      : wire(MemoryWireConfig{.mtu = mtu}), stack_end(wire.b(), runner) {}
  MemoryWire wire;
  KickingDevice stack_end;
};

void BridgeRunner::attach_host(bridge::PortId port, std::string name, Runner& stack_runner,
                               InterfaceId iface, std::size_t mtu) {
  host_wires_.push_back(std::make_unique<HostWire>(*this, mtu));
  HostWire& host = *host_wires_.back();
  if (clock_ == nullptr) clock_ = &stack_runner;
  attach(host.wire.a(), port, std::move(name), [&stack_runner] { stack_runner.kick(); });
  stack_runner.attach(host.stack_end, iface);
}

std::string BridgeRunner::port_name(bridge::PortId port) const {
  if (port < by_port_.size() && by_port_[port] != nullptr) return by_port_[port]->name;
  return fmt::format("port{}", port);
}

const Device* BridgeRunner::device(bridge::PortId port) const {
  if (port < by_port_.size() && by_port_[port] != nullptr) return &by_port_[port]->device;
  return nullptr;
}

bool BridgeRunner::failed(bridge::PortId port) const {
  return port < by_port_.size() && by_port_[port] != nullptr && by_port_[port]->failed;
}

void BridgeRunner::begin_watch(Port& port) {
  if (port.failed || port.device.native_handle() < 0) return;
  try {
    port.descriptor.emplace(io_, port.device.native_handle());
  } catch (const boost::system::system_error& e) {
    fail(port, e.code());
    return;
  }
  watch(port, true);
}

void BridgeRunner::start() {
  if (running_) return;
  running_ = true;
  for (auto& port : ports_)
    begin_watch(*port);
  kick();
}

void BridgeRunner::stop() {
  running_ = false;
  ++timer_generation_;
  timer_armed_ = false;
  timer_.cancel();
  for (auto& port : ports_)
    release(*port);
}

void BridgeRunner::release(Port& port) {
  ++port.generation;
  port.watching = false;
  if (!port.descriptor) return;
  (void)port.descriptor->release();  // the device owns the descriptor
  port.descriptor.reset();
}

void BridgeRunner::kick() {
  if (kick_posted_ || !running_) return;
  kick_posted_ = true;
  boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    kick_posted_ = false;
    if (running_) service(nullptr);
  });
}

void BridgeRunner::service(Port* ready) {
  counters_.wakeups.inc();
  const Instant t = now();
  sink_->set_now(t);
  bool ready_has_more = false;
  if (ready != nullptr && !ready->failed) ready_has_more = pump(*ready, t);
  for (auto& port : ports_)
    if (port.get() != ready && !port->failed && port->device.next_deadline() <= t) pump(*port, t);
  // IEEE 802.1Q-2018 §8.8.3: entries not refreshed within the ageing time are removed.
  bridge_.poll(t);
  if (ready != nullptr) watch(*ready, ready_has_more);
  arm_timer();
  for (auto& port : ports_)
    if (std::exchange(port->sent, false) && port->on_sent) port->on_sent();
}

bool BridgeRunner::pump(Port& port, Instant now) {
  auto received = port.device.receive(now, port.receiver, kBatch);
  if (!received) {
    fail(port, received.error());
    return false;
  }
  return *received >= kBatch;
}

void BridgeRunner::fail(Port& port, const std::error_code& error) {
  if (port.failed) return;
  port.failed = true;
  counters_.device_failed.inc();
  // Its learnt entries go with it: frames for those addresses are flooded again, not sent
  // to a port that is gone.
  bridge_.flush_port(port.id);
  log_->error("bridge port {} ({}): device failed: {}; no longer reading it", port.id, port.name,
              error.message());
  release(port);
}

void BridgeRunner::watch(Port& port, bool maybe_more) {
  if (!running_ || port.failed || !port.descriptor || port.watching) return;
  port.watching = true;
  const std::uint64_t generation = port.generation;
  auto alive = std::weak_ptr<int>(alive_);
  if (maybe_more || readable_now(port.descriptor->native_handle())) {
    // Not drained yet: read again after whatever else is queued (the other ports' turn).
    boost::asio::post(io_, [this, &port, alive, generation] {
      if (alive.expired() || generation != port.generation) return;
      on_readable(port);
    });
    return;
  }
  port.descriptor->async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this, &port, alive, generation](const boost::system::error_code& ec) {
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

void BridgeRunner::on_readable(Port& port) {
  port.watching = false;
  if (running_) service(&port);
}

void BridgeRunner::arm_timer() {
  if (!running_) return;
  Instant due = bridge_.next_deadline();
  for (const auto& port : ports_)
    if (!port->failed) due = std::min(due, port->device.next_deadline());
  // A timer already armed for no later than `due` stays: when it fires early the deadline is
  // looked at again. So a deadline that moves later with every frame (the oldest entry's
  // ageing, refreshed) re-arms nothing per frame, and nothing waits only to be cancelled.
  if (due == kNever) return;
  const Instant t = now();
  due = std::clamp(due, t, t + kMaxSleep);
  const auto at = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(due - t);
  // (now() and steady_clock::now() are read apart: 1 ms of slack for the same deadline.)
  if (timer_armed_ && timer_at_ <= at + std::chrono::milliseconds(1)) return;
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
