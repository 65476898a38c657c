#include "drivers/runtime/tap_host.hpp"

#include <algorithm>
#include <csignal>
#include <random>
#include <sched.h>
#include <string>
#include <utility>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "drivers/runtime/log.hpp"
#include "stack/base/format.hpp"

namespace tapir::drivers {
namespace {

std::uint64_t random_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

// The CPUs in `set` as a list of ranges, "0-3,6".
std::string cpu_list(const cpu_set_t& set) {
  constexpr std::size_t kCpus = CPU_SETSIZE;
  std::string out;
  for (std::size_t cpu = 0; cpu < kCpus; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    std::size_t last = cpu;
    while (last + 1 < kCpus && CPU_ISSET(last + 1, &set))
      ++last;
    if (!out.empty()) out += ',';
    out += last == cpu ? fmt::format("{}", cpu) : fmt::format("{}-{}", cpu, last);
    cpu = last;
  }
  return out;
}

// Pins the process to `cpu`, or says in one line why it cannot be.
std::string pin_to_cpu(unsigned cpu) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    return fmt::format("--cpu {}: sched_getaffinity: {}", cpu,
                       std::error_code(errno, std::system_category()).message());
  if (cpu >= std::size_t{CPU_SETSIZE} || !CPU_ISSET(cpu, &allowed))
    return fmt::format("--cpu {}: not a CPU this process may run on ({})", cpu, cpu_list(allowed));
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(0, sizeof one, &one) != 0)
    return fmt::format("--cpu {}: sched_setaffinity: {}", cpu,
                       std::error_code(errno, std::system_category()).message());
  return {};
}

}  // namespace

TapHost::TapHost(boost::asio::io_context& io, const TapHostConfig& config)
    : io_(io), config_(config), tracer_(logger("eth")), signals_(io) {}

TapHost::~TapHost() {
  if (stack_) stack_->set_tracer(nullptr);
}

std::unique_ptr<TapHost> TapHost::open(boost::asio::io_context& io, const TapHostConfig& config,
                                       std::string_view program) {
  auto error = [program](std::string_view line) {
    fmt::print(stderr, "{}: {}\n", program, line);
    return nullptr;
  };
  configure_logging(config.log_level);
  if (config.vlan && config.device.medium != Medium::Ethernet)
    return error("--vlan: a TUN device carries no VLAN tags: use --tap");

  if (config.cpu)
    if (auto why = pin_to_cpu(*config.cpu); !why.empty()) return error(why);

  std::unique_ptr<TapHost> host(new TapHost(io, config));
  const bool faults = config.faults != FaultSpec{};
  // The kernel's offloads (TSO, checksums) unless --no-offload; not under --faults, whose
  // decorator drops, duplicates and corrupts frames one at a time as they are on the wire.
  TapConfig device = config.device;
  device.offload = config.offload && !faults;
  auto tap = TapDevice::open(device);
  if (!tap) return error(TapDevice::explain(tap.error(), config.device));
  host->tap_ = std::move(*tap);
  host->outer_ = host->tap_.get();
  if (config.mtu > host->tap_->mtu())
    logger("drv")->warn("--mtu {} is above {}'s MTU {}: longer frames will be dropped", config.mtu,
                        host->tap_->name(), host->tap_->mtu());

  if (faults) host->outer_ = &host->faulty_.emplace(*host->tap_, config.faults);

  StackConfig stack_config;
  stack_config.seed = faults ? config.faults.seed : random_seed();
  stack_config.max_mtu = std::max(stack_config.max_mtu, config.mtu);
  if (auto why = Stack::validate(stack_config); !why.empty()) return error(why);
  auto stack = Stack::create(stack_config);
  if (!stack) return error(fmt::format("cannot create the stack: {}", stack.error().message()));
  host->stack_ = std::move(*stack);
  host->runner_ = std::make_unique<Runner>(io, *host->stack_);
  host->runner_->set_busy_poll(config.busy_poll);

  if (!config.pcap.empty()) {
    auto pcap = PcapDevice::open(*host->outer_, config.pcap, host->runner_->wall_offset());
    if (!pcap) return error(fmt::format("--pcap: {}: {}", config.pcap, pcap.error().message()));
    host->outer_ = &host->pcap_.emplace(std::move(*pcap));
  }

  auto iface = host->stack_->add_interface(
      {.medium = host->outer_->medium(),
       .mac = config.mac,
       .mtu = config.mtu,
       .address = config.address,
       .vlan = config.vlan,
       .pcp = config.vlan_pcp,
       // TCP frames up to 64 KiB for the kernel to cut.
       .gso_max_size = host->outer_->offloads() ? std::size_t{65535 + 14} : 0});
  if (!iface)
    return error(fmt::format("cannot add the interface {}: {}", config.address.to_string(),
                             iface.error().message()));
  host->iface_ = *iface;
  if (config.gateway) {
    if (auto r = host->stack_->set_default_gateway(*config.gateway); !r)
      return error(
          fmt::format("--gateway {}: {}", config.gateway->to_string(), r.error().message()));
  }
  if (host->tracer_.enabled()) host->stack_->set_tracer(&host->tracer_);

  std::function<void(Instant)> on_tick;
  if (host->faulty_) {
    // Sends the fault model's held frames that are due; a failed send (counted by the TAP) is
    // dropped here, so it never comes back as an error of receive().
    on_tick = [faulty = &*host->faulty_](Instant now) {
      while (faulty->held_tx() > 0 && !faulty->poll(now)) {
      }
    };
  }
  host->runner_->attach(*host->outer_, host->iface_, std::move(on_tick));
  return host;
}

std::string TapHost::summary() const {
  if (tap_->medium() == Medium::Ip)
    return fmt::format("{} on {}", config_.address.to_string(), tap_->name());
  if (config_.vlan)
    return fmt::format("{} on {} VLAN {} (MAC {})", config_.address.to_string(), tap_->name(),
                       *config_.vlan, config_.mac);
  return fmt::format("{} on {} (MAC {})", config_.address.to_string(), tap_->name(), config_.mac);
}

void TapHost::start(std::function<void()> on_stop) {
  on_stop_ = std::move(on_stop);
  stopping_ = false;
  watching_signals_ = true;
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.add(SIGUSR1);
  wait_for_signal();
  runner_->start();
}

void TapHost::stop() {
  runner_->stop();
  watching_signals_ = false;
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  signals_.clear(ignored);
}

void TapHost::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGUSR1) {
      print_counters(stderr);
    } else if (!stopping_) {
      stopping_ = true;
      if (on_stop_) on_stop_();
    } else {
      io_.stop();  // asked twice: the app's own shutdown is not finishing
    }
    if (watching_signals_) wait_for_signal();
  });
}

template <class F>
void TapHost::for_each_counter(F&& f) const {
  stack_->for_each_counter(f);
  runner_->counters().for_each_counter(f);
  if (faulty_) faulty_->fault_counters().for_each_counter(f);
  tap_->counters().for_each_counter(f);
}

void TapHost::print_counters(std::FILE* out) const {
  for_each_counter([out](std::string_view name, const Counter& c) {
    if (c.value() != 0) fmt::print(out, "{} {}\n", name, c.value());
  });
  std::fflush(out);
}

void TapHost::log_counters() const {
  if (!spdlog::default_logger()->should_log(spdlog::level::info)) return;
  for_each_counter([](std::string_view name, const Counter& c) {
    if (c.value() != 0) spdlog::info("{} {}", name, c.value());
  });
}

}  // namespace tapir::drivers
