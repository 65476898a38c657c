#include "drivers/memory/fault_model.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

namespace tapir::drivers {
namespace {

struct ParseOutcome {
  FaultSpec spec;
  std::string_view item;    // the bad item, when reason is set
  std::string_view reason;  // empty when the text parsed
};

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc{} && p == end;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "3%", "0.1%", "100.0000%" -> parts per million (1% = 10000 ppm, 0.0001% = 1 ppm).
std::string_view parse_percent(std::string_view s, std::uint32_t& ppm) {
  if (s.empty() || s.back() != '%') return "expected a percentage like 3% or 0.25%";
  s.remove_suffix(1);
  std::string_view whole = s;
  std::string_view frac;
  if (const auto dot = s.find('.'); dot != std::string_view::npos) {
    whole = s.substr(0, dot);
    frac = s.substr(dot + 1);
    if (!all_digits(frac)) return "expected a percentage like 3% or 0.25%";
    if (frac.size() > 4) return "more than 4 decimals in a percentage";
  }
  if (!all_digits(whole)) return "expected a percentage like 3% or 0.25%";
  if (whole.size() > 3) return "percentage above 100%";
  std::uint64_t w = 0;
  std::uint64_t f = 0;
  if (!parse_u64(whole, w)) return "expected a percentage like 3% or 0.25%";
  if (!frac.empty() && !parse_u64(frac, f)) return "expected a percentage like 3% or 0.25%";
  for (std::size_t i = frac.size(); i < 4; ++i)
    f *= 10;
  const std::uint64_t value = w * 10'000 + f;
  if (value > FaultSpec::kMillion) return "percentage above 100%";
  ppm = static_cast<std::uint32_t>(value);
  return {};
}

// "250us", "5ms", "2s".
std::string_view parse_duration(std::string_view s, Duration& out) {
  std::int64_t scale = 0;
  if (s.ends_with("us")) {
    scale = 1;
    s.remove_suffix(2);
  } else if (s.ends_with("ms")) {
    scale = 1'000;
    s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    scale = 1'000'000;
    s.remove_suffix(1);
  } else {
    return "expected a duration with a unit: us, ms or s";
  }
  std::uint64_t n = 0;
  if (!all_digits(s) || !parse_u64(s, n)) return "expected a duration like 5ms";
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (n > kMax / static_cast<std::uint64_t>(scale)) return "duration too large";
  out = Duration{static_cast<std::int64_t>(n) * scale};
  return {};
}

ParseOutcome parse_outcome(std::string_view text) {
  ParseOutcome o;
  if (text.empty()) return o;
  unsigned seen = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    o.item = item;
    if (item.empty()) {
      o.reason = "empty item";
      return o;
    }
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      o.reason = "expected key=value";
      return o;
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    static constexpr std::string_view kKeys[] = {"loss",  "dup",    "reorder", "corrupt",
                                                 "delay", "jitter", "seed"};
    const auto* found = std::find(std::begin(kKeys), std::end(kKeys), key);
    if (found == std::end(kKeys)) {
      o.reason = "unknown key (expected loss, dup, reorder, corrupt, delay, jitter or seed)";
      return o;
    }
    const auto bit = 1U << static_cast<unsigned>(found - std::begin(kKeys));
    if ((seen & bit) != 0) {
      o.reason = "repeated key";
      return o;
    }
    seen |= bit;
    if (key == "loss") {
      o.reason = parse_percent(value, o.spec.loss_ppm);
    } else if (key == "dup") {
      o.reason = parse_percent(value, o.spec.dup_ppm);
    } else if (key == "reorder") {
      o.reason = parse_percent(value, o.spec.reorder_ppm);
    } else if (key == "corrupt") {
      o.reason = parse_percent(value, o.spec.corrupt_ppm);
    } else if (key == "delay") {
      o.reason = parse_duration(value, o.spec.delay);
    } else if (key == "jitter") {
      o.reason = parse_duration(value, o.spec.jitter);
    } else if (!parse_u64(value, o.spec.seed)) {
      o.reason = "expected a decimal seed";
    }
    if (!o.reason.empty()) return o;
    if (comma == std::string_view::npos) break;
  }
  o.item = {};
  return o;
}

void append_percent(std::string& out, std::uint32_t ppm) {
  out += std::to_string(ppm / 10'000);
  if (const auto frac = ppm % 10'000; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 4 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    out += '.';
    out += digits;
  }
  out += '%';
}

void append_duration(std::string& out, Duration d) {
  const auto us = d.count();
  if (us != 0 && us % 1'000'000 == 0) {
    out += std::to_string(us / 1'000'000) + "s";
  } else if (us != 0 && us % 1'000 == 0) {
    out += std::to_string(us / 1'000) + "ms";
  } else {
    out += std::to_string(us) + "us";
  }
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Min-heap order on (due, seq): std::*_heap keep the greatest at the front.
template <class Held>
bool later(const Held& a, const Held& b) {
  return a.due != b.due ? a.due > b.due : a.seq > b.seq;
}

}  // namespace

Result<FaultSpec> FaultSpec::parse(std::string_view text) {
  auto o = parse_outcome(text);
  if (!o.reason.empty()) return fail(Errc::invalid_argument);
  return o.spec;
}

std::string FaultSpec::error_line(std::string_view text) {
  const auto o = parse_outcome(text);
  if (o.reason.empty()) return {};
  std::string line = "--faults: \"";
  line += o.item;
  line += "\": ";
  line += o.reason;
  return line;
}

std::string FaultSpec::to_string() const {
  std::string s = "loss=";
  append_percent(s, loss_ppm);
  s += ",dup=";
  append_percent(s, dup_ppm);
  s += ",reorder=";
  append_percent(s, reorder_ppm);
  s += ",corrupt=";
  append_percent(s, corrupt_ppm);
  s += ",delay=";
  append_duration(s, delay);
  s += ",jitter=";
  append_duration(s, jitter);
  s += ",seed=" + std::to_string(seed);
  return s;
}

FaultModel::FaultModel(const FaultSpec& spec, std::uint64_t stream)
    : spec_(spec), random_(splitmix64(spec.seed ^ splitmix64(stream))) {}

FrameFate FaultModel::decide(std::size_t frame_len) {
  // Always the same draws, in the same order, whatever the rates (see the header).
  const bool drop = random_.chance_ppm(spec_.loss_ppm);
  const bool dup = random_.chance_ppm(spec_.dup_ppm);
  const bool corrupt = random_.chance_ppm(spec_.corrupt_ppm);
  const bool reorder = random_.chance_ppm(spec_.reorder_ppm);
  const std::uint64_t bit_draw = random_.next_u64();
  const std::uint64_t hold_draw = random_.next_u64();

  FrameFate fate;
  if (drop) {
    fate.drop = true;
    return fate;
  }
  fate.duplicate = dup;
  fate.corrupt = corrupt && frame_len != 0;
  if (fate.corrupt) fate.corrupt_bit = static_cast<std::size_t>(bit_draw % (frame_len * 8));
  fate.delay = spec_.delay;
  const auto jitter = static_cast<std::uint64_t>(std::max<std::int64_t>(spec_.jitter.count(), 0));
  if (reorder && jitter != 0) {
    fate.reorder = true;
    fate.delay += Duration{static_cast<std::int64_t>(1 + hold_draw % jitter)};
  }
  return fate;
}

FaultyDevice::Direction::Direction(const FaultSpec& spec, std::uint64_t stream,
                                   std::size_t capacity, std::size_t frame_size)
    : model(spec, stream), pool(capacity, frame_size), scratch(frame_size) {
  heap.reserve(capacity);
}

void FaultyDevice::Direction::push(Held h) {
  h.seq = next_seq++;
  heap.push_back(std::move(h));  // never reallocates: at most one entry per pool buffer
  std::push_heap(heap.begin(), heap.end(), later<Held>);
}

FaultyDevice::Held FaultyDevice::Direction::pop() {
  std::pop_heap(heap.begin(), heap.end(), later<Held>);
  Held h = std::move(heap.back());
  heap.pop_back();
  return h;
}

FaultyDevice::FaultyDevice(Device& inner, const FaultSpec& spec, FaultyDeviceConfig config)
    : inner_(inner),
      rx_(spec, 1, config.queue_capacity,
          config.frame_size != 0 ? config.frame_size : inner.mtu() + 22),
      tx_(spec, 2, config.queue_capacity,
          config.frame_size != 0 ? config.frame_size : inner.mtu() + 22) {}

namespace {
void flip_bit(BytesMut bytes, std::size_t bit) {
  bytes[bit / 8] ^= std::byte{static_cast<std::uint8_t>(1U << (bit % 8))};
}
}  // namespace

// `deliver(bytes)` hands one copy on now and returns false if it cannot take it (the receive
// budget is spent); such copies are held, due at once.
template <class Deliver>
void FaultyDevice::apply(Direction& dir, Bytes frame, Instant now, Deliver&& deliver) {
  const FrameFate fate = dir.model.decide(frame.size());
  if (fate.drop) {
    fault_counters_.dropped.inc();
    return;
  }
  if (fate.duplicate) fault_counters_.duplicated.inc();
  if (fate.corrupt) fault_counters_.corrupted.inc();
  if (fate.reorder) fault_counters_.reordered.inc();
  if (dir.model.spec().delay > Duration{0}) fault_counters_.delayed.inc();
  unsigned copies = fate.duplicate ? 2 : 1;

  const auto hold = [&](Bytes bytes, Instant due, bool flip) {
    if (bytes.size() > dir.pool.buffer_size()) {
      fault_counters_.too_large.inc();
      return;
    }
    FrameBuf buf = dir.pool.allocate();
    if (!buf) {
      fault_counters_.queue_full.inc();
      return;
    }
    std::copy(bytes.begin(), bytes.end(), buf.storage().begin());
    buf.set_len(bytes.size());
    if (flip) flip_bit(buf.data(), fate.corrupt_bit);
    dir.push(Held{due, 0, copies, std::move(buf)});
  };

  if (fate.delay > Duration{0}) {
    hold(frame, now + fate.delay, fate.corrupt);
    return;
  }
  Bytes bytes = frame;
  if (fate.corrupt) {
    if (frame.size() > dir.scratch.size()) {
      fault_counters_.too_large.inc();
      return;
    }
    std::copy(frame.begin(), frame.end(), dir.scratch.begin());
    flip_bit(dir.scratch, fate.corrupt_bit);
    bytes = Bytes(dir.scratch).first(frame.size());
  }
  while (copies > 0 && deliver(bytes))
    --copies;
  if (copies > 0) hold(bytes, now, false);
}

class FaultyDevice::RxAdapter final : public FrameHandler {
 public:
  RxAdapter(FaultyDevice& dev, FrameHandler& out, std::size_t budget)
      : dev_(dev), out_(out), budget_(budget) {}

  void on_frame(Bytes frame, Instant now) override {
    ++pulled_;
    dev_.apply(dev_.rx_, frame, now, [&](Bytes bytes) {
      if (delivered_ >= budget_) return false;
      dev_.counters_.rx_frames.inc();
      dev_.counters_.rx_bytes.inc(bytes.size());
      out_.on_frame(bytes, now);
      ++delivered_;
      return true;
    });
  }
  std::size_t delivered() const { return delivered_; }
  std::size_t pulled() const { return pulled_; }

 private:
  FaultyDevice& dev_;
  FrameHandler& out_;
  std::size_t budget_;
  std::size_t delivered_ = 0;
  std::size_t pulled_ = 0;
};

Result<std::size_t> FaultyDevice::receive(Instant now, FrameHandler& handler,
                                          std::size_t max_frames) {
  // A held frame the inner device refuses now is counted there (dev.tx_errors); it is not a
  // failure of receiving, which the runner would take for a dead device.
  if (!flush_tx(now)) counters_.tx_errors.inc();
  std::size_t n = 0;
  while (n < max_frames && rx_.due(now)) {
    Held& h = rx_.heap.front();
    counters_.rx_frames.inc();
    counters_.rx_bytes.inc(h.buf.len());
    handler.on_frame(h.buf.data(), now);
    ++n;
    if (--h.copies == 0) rx_.pop();
  }
  // Reads at most max_frames from the inner device in all (bounded work even at 100% loss).
  std::size_t pulled = 0;
  while (n < max_frames && pulled < max_frames) {
    RxAdapter adapter(*this, handler, max_frames - n);
    auto r = inner_.receive(now, adapter, max_frames - std::max(n, pulled));
    if (!r) return r;
    n += adapter.delivered();
    pulled += adapter.pulled();
    if (*r == 0) break;
  }
  return n;
}

Result<void> FaultyDevice::flush_tx(Instant now) {
  while (tx_.due(now)) {
    Held& h = tx_.heap.front();
    auto r = inner_.transmit(h.buf.data(), now);
    if (--h.copies == 0) tx_.pop();
    if (!r) return r;
  }
  return {};
}

Result<void> FaultyDevice::poll(Instant now) {
  return flush_tx(now);
}

Result<void> FaultyDevice::transmit(Bytes frame, Instant now) {
  counters_.tx_frames.inc();
  counters_.tx_bytes.inc(frame.size());
  if (auto r = flush_tx(now); !r) return r;
  Result<void> result;
  apply(tx_, frame, now, [&](Bytes bytes) {
    auto r = inner_.transmit(bytes, now);
    if (!r && result) result = r;
    return true;
  });
  return result;
}

Instant FaultyDevice::next_deadline() const {
  return std::min({rx_.earliest(), tx_.earliest(), inner_.next_deadline()});
}

}  // namespace tapir::drivers
