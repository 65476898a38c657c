#include "stack/tcp/congestion.hpp"

#include <algorithm>

namespace tapir::tcp {

// RFC 5681 §3.1 (eq. 1 as updated by RFC 6928 §2): IW = min (10*MSS, max (2*MSS, 14600)).
NewReno::NewReno(std::size_t smss) : smss_(std::max<std::size_t>(smss, 1)) {
  cwnd_ = initial_window(smss_);
}

// RFC 5681 §3.1 (eq. 4): ssthresh = max (FlightSize / 2, 2*SMSS).
std::size_t NewReno::loss_ssthresh(std::size_t flight_size) const {
  return std::max(flight_size / 2, 2 * smss_);
}

void NewReno::on_ack(const AckedData& ack) {
  if (in_recovery_ || ack.bytes_acked == 0) return;
  if (cwnd_ < ssthresh_) {
    // RFC 5681 §3.1 (eq. 2): slow start, cwnd += min (N, SMSS); here not past ssthresh.
    cwnd_ = std::min(cwnd_ + std::min(ack.bytes_acked, smss_), ssthresh_);
    return;
  }
  // RFC 5681 §3.1: congestion avoidance by byte counting (RFC 3465 §2.1): when the bytes
  // acknowledged reach cwnd, bytes_acked -= cwnd and cwnd += SMSS.
  bytes_acked_ += ack.bytes_acked;
  if (bytes_acked_ >= cwnd_) {
    bytes_acked_ -= cwnd_;
    cwnd_ += smss_;
  }
}

void NewReno::on_enter_recovery(std::size_t flight_size, Instant /*now*/, bool sack) {
  // RFC 5681 §3.2 step 2 (eq. 4): ssthresh = max (FlightSize / 2, 2*SMSS).
  ssthresh_ = loss_ssthresh(flight_size);
  // RFC 5681 §3.2 step 3: cwnd = ssthresh + 3*SMSS; RFC 6675 §5 (4.2): cwnd = ssthresh.
  cwnd_ = sack ? ssthresh_ : ssthresh_ + 3 * smss_;
  bytes_acked_ = 0;
  in_recovery_ = true;
}

void NewReno::on_dup_ack() {
  if (!in_recovery_) return;
  // RFC 5681 §3.2 step 4: for each additional duplicate ACK, cwnd += SMSS.
  cwnd_ += smss_;
}

void NewReno::on_partial_ack(std::size_t bytes_acked) {
  if (!in_recovery_) return;
  // RFC 6582 §3.2 step 3 (partial acknowledgments): deflate cwnd by the new data acknowledged;
  // if that is at least one SMSS, add back SMSS. Here never below one SMSS.
  cwnd_ = cwnd_ > bytes_acked ? cwnd_ - bytes_acked : 0;
  if (bytes_acked >= smss_) cwnd_ += smss_;
  cwnd_ = std::max(cwnd_, smss_);
}

void NewReno::on_exit_recovery(std::size_t flight_size) {
  if (!in_recovery_) return;
  // RFC 6582 §3.2 step 3 (full acknowledgments), option (1):
  // cwnd = min (ssthresh, max (FlightSize, SMSS) + SMSS).
  cwnd_ = std::min(ssthresh_, std::max(flight_size, smss_) + smss_);
  bytes_acked_ = 0;
  in_recovery_ = false;
}

void NewReno::on_rto(std::size_t flight_size, Timeout timeout) {
  // RFC 5681 §3.1 (eq. 4): ssthresh = max (FlightSize / 2, 2*SMSS), for a segment not yet
  // resent by the retransmission timer; held constant for a repeated timeout.
  if (timeout == Timeout::First) ssthresh_ = loss_ssthresh(flight_size);
  // RFC 5681 §3.1: cwnd = LW, the loss window, 1 SMSS.
  cwnd_ = smss_;
  bytes_acked_ = 0;
  // RFC 6582 §3.2 step 4: a retransmit timeout exits fast recovery.
  in_recovery_ = false;
}

void NewReno::on_idle_restart(Duration idle, Duration rto) {
  if (idle <= rto) return;
  // RFC 5681 §4.1: after an idle period exceeding the RTO, cwnd = RW = min (IW, cwnd).
  cwnd_ = std::min(initial_window(smss_), cwnd_);
  bytes_acked_ = 0;
}

}  // namespace tapir::tcp
