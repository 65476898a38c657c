#include "stack/tcp/rtt.hpp"

#include <algorithm>

namespace tapir::tcp {

// RFC 6298 §2.1: until a round-trip time (RTT) measurement has been made, RTO <- 1 second
// (initial_rto).
RttEstimator::RttEstimator(const RttConfig& config)
    : config_(config), base_rto_(bounded(config.initial_rto)), rto_(base_rto_) {}

Duration RttEstimator::bounded(Duration rto) const {
  // RFC 6298 §2.4: whenever RTO is computed, if it is less than the minimum it is rounded up to
  // it; §2.5: a maximum value may be placed on RTO provided it is at least 60 seconds.
  return std::min(std::max(rto, config_.min_rto), config_.max_rto);
}

void RttEstimator::on_sample(Duration rtt) {
  const Duration r = std::max(rtt, Duration::zero());
  if (!srtt_) {
    // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
    srtt_ = r;
    rttvar_ = r / 2;
  } else {
    // RFC 6298 §2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4, updated
    // before SRTT (it uses the old SRTT).
    const Duration delta = *srtt_ > r ? *srtt_ - r : r - *srtt_;
    rttvar_ = (3 * rttvar_ + delta) / 4;
    // RFC 6298 §2.3: SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8.
    srtt_ = (7 * *srtt_ + r) / 8;
  }
  // RFC 6298 §2.2, §2.3: RTO <- SRTT + max (G, K*RTTVAR), K = 4; then bounded (§2.4, §2.5).
  base_rto_ = bounded(*srtt_ + std::max(config_.granularity, 4 * rttvar_));
  // RFC 6298 §5 (after 5.7): a new measurement recomputes RTO, collapsing the back-off.
  reset_backoff();
}

void RttEstimator::back_off() {
  ++backoffs_;
  // RFC 6298 §5.5: the host MUST set RTO <- RTO * 2 ("back off the timer"); the maximum of
  // (2.5) may be used to provide an upper bound to this doubling operation.
  rto_ = rto_ > config_.max_rto / 2 ? config_.max_rto : 2 * rto_;
}

void RttEstimator::reset_backoff() {
  backoffs_ = 0;
  rto_ = base_rto_;
}

void RttEstimator::on_handshake_complete() {
  if (srtt_) return;
  // RFC 6298 §5.7: the RTO MUST be re-initialized to 3 seconds when data transmission begins.
  base_rto_ = bounded(std::max(base_rto_, kHandshakeFallbackRto));
  reset_backoff();
}

}  // namespace tapir::tcp
