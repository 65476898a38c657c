// The retransmission timeout (RFC 6298): smoothed RTT, RTT variance, and the RTO with its
// exponential back-off. A value type with no clock: the connection measures, this computes.
//
// What the caller must do:
//   - Measure and call on_sample(R) with each valid RTT measurement (one timed segment at a
//     time, or each timestamp echo, RFC 7323 §4). Karn's rule is the caller's (RFC 6298 §3):
//     never sample a segment that was retransmitted, because its ACK is ambiguous. Without
//     timestamps that means no sample at all from an ACK that covers a retransmission.
//   - Arm the retransmission timer for rto() (RFC 6298 §5.1, §5.3).
//   - When the timer expires: retransmit, then back_off() and re-arm for the new rto()
//     (RFC 6298 §5.4-§5.6).
//   - A new sample collapses the back-off by itself (RFC 6298 §5, the note after 5.7: "once a
//     new RTT measurement is obtained ... the computation of RTO ... may result in
//     'collapsing' RTO back down after it has been subject to exponential back off"). An ACK
//     that gives no sample (it covers a retransmission) keeps the backed-off RTO; that is
//     Karn's algorithm's second half and Linux's rule too (tcp_ack_update_rtt: "RFC6298: only
//     reset backoff on valid RTT measurement"). So the caller does *not* call reset_backoff()
//     on every ACK of new data; reset_backoff() is for the rare caller that restarts timing
//     from scratch (e.g. the persist timer's probes answered).
//   - When the three-way handshake completes, call on_handshake_complete() (RFC 6298 §5.7).
//   - Count back-offs with backoffs() to give up on a connection (RFC 9293 §3.8.3, R1/R2).
//
// Arithmetic is integer microseconds, no floating point. Each division truncates (rounds down:
// every quantity is non-negative), so R/2 of 1001 us is 500 us and (7*SRTT + R)/8 never rounds
// up. With constant samples SRTT stays exactly R and RTTVAR decays to exactly 0; the truncation
// can leave SRTT at most 7 us below a steady R and RTTVAR a few microseconds low, far below any
// granularity that matters.
#pragma once

#include <chrono>
#include <optional>

#include "stack/base/time.hpp"

namespace tapir::tcp {

struct RttConfig {
  // RFC 6298 §2.1: "Until a round-trip time (RTT) measurement has been made ... the sender
  // SHOULD set RTO <- 1 second".
  Duration initial_rto = std::chrono::seconds(1);
  // RFC 6298 §2.4: "if it is less than 1 second, then the RTO SHOULD be rounded up to 1
  // second". We take Linux's 200 ms (TCP_RTO_MIN) instead, as the kernel peers we meet do.
  // (Linux applies its floor to the variance term, RTO >= SRTT + 200 ms; we apply RFC 6298's
  // rule as written, to the whole RTO.)
  Duration min_rto = std::chrono::milliseconds(200);
  // RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds";
  // Linux's TCP_RTO_MAX is 120 s. It also caps the back-off (RFC 6298 §5.5).
  Duration max_rto = std::chrono::seconds(120);
  // RFC 6298 §2: G, the clock granularity, the smallest variance term RTO adds to SRTT.
  Duration granularity = std::chrono::milliseconds(1);
};

// RFC 6298 §5.7: the RTO after a handshake that timed out (Linux's TCP_TIMEOUT_FALLBACK).
inline constexpr Duration kHandshakeFallbackRto = std::chrono::seconds(3);

class RttEstimator {
 public:
  // min_rto <= initial_rto <= max_rto is expected; initial_rto is bounded by them regardless.
  explicit RttEstimator(const RttConfig& config = {});

  // One RTT measurement R (a negative R is taken as 0). RFC 6298 §2.2 for the first, §2.3 for
  // the rest; recomputes the RTO and collapses any back-off (see above).
  void on_sample(Duration rtt);

  // The RTO to arm the timer with: the RFC 6298 §2 value, bounded by min_rto and max_rto, and
  // doubled once per back_off() since the last sample, capped at max_rto.
  Duration rto() const { return rto_; }
  // RFC 6298 §5.5: the timer expired; RTO <- RTO * 2, capped at max_rto.
  void back_off();
  // Drops the back-off: rto() returns to the RFC 6298 §2 value. Not needed after on_sample.
  void reset_backoff();
  // RFC 6298 §5.7: if no RTT sample was taken during the handshake (Karn's rule forbids one
  // once the SYN or SYN-ACK was retransmitted), the RTO is re-initialised to 3 s (or left at a
  // larger initial_rto) and the back-off dropped, as Linux's tcp_init_metrics does. No-op once
  // a sample exists.
  void on_handshake_complete();

  // SRTT, nullopt until the first sample.
  std::optional<Duration> srtt() const { return srtt_; }
  // RTTVAR, zero until the first sample.
  Duration rttvar() const { return rttvar_; }
  // Number of back_off() calls since the last sample or reset (it keeps counting once the RTO
  // is capped).
  unsigned backoffs() const { return backoffs_; }
  const RttConfig& config() const { return config_; }

 private:
  Duration bounded(Duration rto) const;

  RttConfig config_;
  std::optional<Duration> srtt_;
  Duration rttvar_{0};
  Duration base_rto_;  // the RFC 6298 §2 RTO, bounded, before any back-off
  Duration rto_;       // base_rto_ after backoffs_ doublings, capped at max_rto
  unsigned backoffs_ = 0;
};

}  // namespace tapir::tcp
