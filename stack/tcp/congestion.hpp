// Congestion control (RFC 5681) behind a small interface, and NewReno (RFC 6582) as its first
// implementation; CUBIC (RFC 9438) is meant to be the second.
//
// The split of work: the connection owns loss *detection* and the NewReno state variables
// (the duplicate-ACK count, `recover`, whether it is in fast recovery, which segments to
// retransmit, the timers); the controller owns the *window arithmetic* (cwnd, ssthresh) and
// is told what happened through one call per event. All sizes are bytes. For every ACK that
// advances SND.UNA the connection makes exactly one of on_ack, on_partial_ack or
// on_exit_recovery; for every duplicate ACK during fast recovery, on_dup_ack.
//
// What the caller must do, event by event (RFC 5681 §3.2 and RFC 6582 §3.2):
//   - ACK of new data outside fast recovery: on_ack.
//   - First and second duplicate ACKs: nothing here. Limited transmit (RFC 3042) may send a
//     new segment each, and RFC 5681 §3.2 step 1 says cwnd MUST NOT change for them.
//   - Third duplicate ACK: if the cumulative ACK covers more than `recover` (RFC 6582 §3.2
//     step 2), set recover = highest sequence number sent, call on_enter_recovery with the
//     FlightSize *excluding* data sent by limited transmit (RFC 5681 §3.2 step 2), and
//     retransmit the segment at SND.UNA. Otherwise do not enter recovery (no call).
//   - Each further duplicate ACK in fast recovery: on_dup_ack (RFC 5681 §3.2 step 4).
//   - ACK of new data in fast recovery that does not cover `recover`: on_partial_ack, then
//     retransmit the first unacknowledged segment and, for the first partial ACK, re-arm the
//     retransmission timer (RFC 6582 §3.2 step 3, partial acknowledgments).
//   - ACK of new data that covers `recover`: leave recovery, on_exit_recovery with what is
//     outstanding after that ACK (RFC 6582 §3.2 step 3, full acknowledgments).
//   - Retransmission timeout: leave recovery, set recover = highest sequence number sent
//     (RFC 6582 §3.2 step 4), and on_rto with Timeout::First unless the segment at SND.UNA has
//     already been retransmitted by the timer (then Timeout::Repeated).
//   - Before sending new data when nothing is in flight: on_idle_restart with the time since
//     the last transmission and the current RTO (RFC 5681 §4.1); the controller decides.
//   - Send while (SND.NXT - SND.UNA) < min(cwnd(), peer's window).
// Calls in the wrong phase are ignored: on_ack during fast recovery, on_dup_ack,
// on_partial_ack or on_exit_recovery outside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "stack/base/time.hpp"

namespace tapir::tcp {

// An ACK that acknowledges new data outside fast recovery.
struct AckedData {
  std::size_t bytes_acked = 0;   // N: bytes newly acknowledged (SND.UNA's advance), > 0
  std::size_t flight_size = 0;   // bytes outstanding just before this ACK (SND.NXT - SND.UNA)
  std::optional<Duration> srtt;  // RttEstimator::srtt() after this ACK's sample, if any
  Instant now{};
};

// RFC 5681 §3.1: a timeout for a segment the retransmission timer has not resent yet lowers
// ssthresh; a repeated one for the same segment holds ssthresh constant.
enum class Timeout : std::uint8_t { First, Repeated };

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;

  // The congestion window and slow-start threshold, in bytes.
  virtual std::size_t cwnd() const = 0;
  virtual std::size_t ssthresh() const = 0;

  // New data acknowledged, not in fast recovery: grow the window (slow start or congestion
  // avoidance). flight_size and srtt are for controllers that need them (CUBIC's RFC 9438
  // §4.2 target uses RTT, §5.8 does not grow an application-limited window).
  virtual void on_ack(const AckedData& ack) = 0;
  // Loss detected by the third duplicate ACK: enter fast recovery. flight_size is FlightSize
  // when the loss is detected, without limited-transmit data.
  // `sack`: the recovery is RFC 6675's, where pipe (not an inflated cwnd) accounts for the
  // segments that left the network, so cwnd = ssthresh (RFC 6675 §5 (4.2)); otherwise RFC 5681
  // §3.2 step 3's cwnd = ssthresh + 3*SMSS.
  virtual void on_enter_recovery(std::size_t flight_size, Instant now, bool sack) = 0;
  // A duplicate ACK after the third, during fast recovery.
  virtual void on_dup_ack() = 0;
  // An ACK of new data during fast recovery that does not cover `recover`.
  virtual void on_partial_ack(std::size_t bytes_acked) = 0;
  // The ACK that covers `recover`: fast recovery ends. flight_size is what is outstanding
  // after this ACK.
  virtual void on_exit_recovery(std::size_t flight_size) = 0;
  // The retransmission timer expired (also ends fast recovery). flight_size is what was
  // outstanding when it expired.
  virtual void on_rto(std::size_t flight_size, Timeout timeout) = 0;
  // About to send after an idle period (nothing in flight): `idle` since the last send.
  virtual void on_idle_restart(Duration idle, Duration rto) = 0;

  // A short stable name, for statistics ("newreno").
  virtual std::string_view name() const = 0;
};

// RFC 5681 §3.1: the initial ssthresh "MAY be arbitrarily high".
inline constexpr std::size_t kInfiniteSsthresh = std::numeric_limits<std::size_t>::max();

// RFC 6928 §2: IW = min (10*MSS, max (2*MSS, 14600)). This is Linux's IW10 (10 segments) for
// MSS up to 1460 bytes; above that RFC 6928 caps the window at max(2*MSS, 14600) bytes where
// Linux still sends 10 segments.
constexpr std::size_t initial_window(std::size_t smss) {
  const std::size_t two = 2 * smss;
  const std::size_t ten = 10 * smss;
  const std::size_t cap = two > 14600 ? two : 14600;
  return ten < cap ? ten : cap;
}

// NewReno, with these choices where the RFCs give options:
//   - initial window: RFC 6928 (above), not RFC 5681 §3.1's eq. 1;
//   - slow start: RFC 5681 §3.1 eq. 2, cwnd += min (N, SMSS) per ACK (Appropriate Byte Counting,
//     RFC 3465, with L = 1 SMSS), never past ssthresh; slow start while cwnd < ssthresh;
//   - congestion avoidance: byte counting, RFC 5681 §3.1's RECOMMENDED way (RFC 3465 §2.1):
//     once the bytes acknowledged reach cwnd, cwnd += SMSS (Linux's tcp_cong_avoid_ai too);
//   - fast recovery: RFC 5681 §3.2 with inflation by dup ACKs, RFC 6582 partial-ACK deflation;
//   - full ACK: RFC 6582 §3.2 step 3's option (1), cwnd = min (ssthresh, max (FlightSize,
//     SMSS) + SMSS), which cannot release a burst (option (2), cwnd = ssthresh, could);
//   - idle restart: RFC 5681 §4.1's restart window, cwnd = min (IW, cwnd) after more than one
//     RTO idle (Linux instead halves cwnd per RTO idle, down to that window, RFC 2861).
class NewReno final : public CongestionControl {
 public:
  // smss: the sender's maximum segment size (RFC 5681 §2: SMSS), > 0.
  explicit NewReno(std::size_t smss);

  std::size_t cwnd() const override { return cwnd_; }
  std::size_t ssthresh() const override { return ssthresh_; }
  void on_ack(const AckedData& ack) override;
  void on_enter_recovery(std::size_t flight_size, Instant now, bool sack) override;
  void on_dup_ack() override;
  void on_partial_ack(std::size_t bytes_acked) override;
  void on_exit_recovery(std::size_t flight_size) override;
  void on_rto(std::size_t flight_size, Timeout timeout) override;
  void on_idle_restart(Duration idle, Duration rto) override;
  std::string_view name() const override { return "newreno"; }

  std::size_t smss() const { return smss_; }
  bool in_recovery() const { return in_recovery_; }

 private:
  std::size_t loss_ssthresh(std::size_t flight_size) const;

  std::size_t smss_;
  std::size_t cwnd_;
  std::size_t ssthresh_ = kInfiniteSsthresh;
  std::size_t bytes_acked_ = 0;  // congestion avoidance's byte counter (RFC 3465 §2.1)
  bool in_recovery_ = false;
};

}  // namespace tapir::tcp
