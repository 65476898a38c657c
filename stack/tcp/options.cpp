#include "stack/tcp/options.hpp"

#include <algorithm>
#include <limits>

#include <gsl/assert>

namespace tapir::tcp {
namespace {

// RFC 9293 §3.7.1, RFC 6691: the IPv4 and TCP headers, without options.
constexpr std::size_t kHeadersLen = 20 + 20;

// RFC 7323 §5.2 / §3.2: timestamps compare as 32-bit serial numbers, s < t iff
// 0 < (t - s) < 2^31 in unsigned 32-bit arithmetic.
constexpr bool ts_before(std::uint32_t s, std::uint32_t t) {
  return static_cast<std::int32_t>(s - t) < 0;
}

// RFC 7323 §5.5: TS.Recent recorded more than 24 days ago is invalid.
bool ts_recent_valid(Instant ts_recent_at, Instant now) {
  return now - ts_recent_at <= kPawsIdleLimit;
}

}  // namespace

std::uint16_t local_mss(const LocalOptions& local) {
  Expects(local.mtu >= 68);
  // RFC 9293 §3.7.1, RFC 6691: MSS = MTU - 40 (IP and TCP headers without options).
  return static_cast<std::uint16_t>(
      std::min<std::size_t>(local.mtu - kHeadersLen, std::numeric_limits<std::uint16_t>::max()));
}

std::uint8_t local_window_scale(const LocalOptions& local) {
  if (!local.window_scaling) return 0;
  // RFC 7323 §2.3: the shift is chosen from the receive buffer, so the whole buffer can be
  // advertised in the 16-bit window; at most 14. The loop is Linux's (tcp_select_initial_window).
  std::size_t space = local.recv_buffer;
  std::uint8_t shift = 0;
  while (space > std::numeric_limits<std::uint16_t>::max() && shift < kMaxWindowScale) {
    space >>= 1U;
    ++shift;
  }
  return shift;
}

void fill_syn_options(wire::TcpRepr& syn, const LocalOptions& local, std::uint32_t ts_val) {
  // RFC 9293 §3.7.1: the MSS option in every SYN (as Linux does).
  syn.max_seg_size = local_mss(local);
  // RFC 7323 §2.2: the window scale option is sent in a SYN to offer scaling.
  syn.window_scale.reset();
  if (local.window_scaling) syn.window_scale = local_window_scale(local);
  // RFC 2018 §2: SACK-permitted may be sent in a SYN.
  syn.sack_permitted = local.sack;
  syn.sack_count = 0;
  // RFC 7323 §3.2: TSecr is zero when the ACK bit is not set.
  syn.timestamps.reset();
  if (local.timestamps) syn.timestamps = wire::TcpTimestamps{ts_val, 0};
}

void fill_syn_ack_options(wire::TcpRepr& syn_ack, const LocalOptions& local,
                          const wire::TcpRepr& their_syn, std::uint32_t ts_val) {
  syn_ack.max_seg_size = local_mss(local);
  // RFC 7323 §2.2: a window scale option in a <SYN,ACK> only if one was received in the <SYN>.
  syn_ack.window_scale.reset();
  if (local.window_scaling && their_syn.window_scale)
    syn_ack.window_scale = local_window_scale(local);
  // RFC 2018 §2: SACK-permitted in a SYN-ACK only if the SYN carried it.
  syn_ack.sack_permitted = local.sack && their_syn.sack_permitted;
  syn_ack.sack_count = 0;
  // RFC 7323 §3.2: timestamps in a <SYN,ACK> only if the <SYN> carried them; TSecr echoes the
  // SYN's TSval.
  syn_ack.timestamps.reset();
  if (local.timestamps && their_syn.timestamps)
    syn_ack.timestamps = wire::TcpTimestamps{ts_val, their_syn.timestamps->tsval};
}

std::uint16_t Negotiated::seg_data_len() const {
  // RFC 9293 §3.7.1: Eff.snd.MSS subtracts the TCP options every segment carries.
  if (!timestamps) return send_mss;
  return send_mss > kTimestampsOptionLen
             ? static_cast<std::uint16_t>(send_mss - kTimestampsOptionLen)
             : std::uint16_t{1};
}

Negotiated negotiate(const LocalOptions& local, const wire::TcpRepr& theirs) {
  Negotiated n;
  // RFC 9293 §3.7.1 / RFC 1122 §4.2.2.6: without an MSS option the send MSS is 536; the send
  // MSS is the smaller of theirs and ours. Theirs is floored at kMinSendMss (Linux's
  // tcp_min_snd_mss).
  const std::uint16_t their_mss = std::max(theirs.max_seg_size.value_or(kDefaultMss), kMinSendMss);
  n.send_mss = std::min(their_mss, local_mss(local));
  // RFC 7323 §2.2: window scaling is in effect only if both ends sent the option; §2.3: a shift
  // above 14 is taken as 14.
  if (local.window_scaling && theirs.window_scale) {
    n.snd_wscale = std::min(*theirs.window_scale, kMaxWindowScale);
    n.rcv_wscale = local_window_scale(local);
  }
  // RFC 7323 §3.2: timestamps are in use only if both ends sent them in the SYNs.
  n.timestamps = local.timestamps && theirs.timestamps.has_value();
  // RFC 2018 §2: SACK is used only if both ends sent SACK-permitted.
  n.sack = local.sack && theirs.sack_permitted;
  return n;
}

std::uint32_t ts_clock(Instant now) {
  // RFC 7323 §5.4: a tick of 1 ms (within 1 ms .. 1 s), the count modulo 2^32 (C++20 defines
  // the conversion of a negative count modulo 2^32 too).
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(now.time_since_epoch());
  return static_cast<std::uint32_t>(ms.count());
}

bool paws_rejects(std::uint32_t seg_tsval, std::uint32_t ts_recent, Instant ts_recent_at,
                  Instant now, bool rst) {
  // RFC 7323 §5.3 R1: not acceptable if SEG.TSval < TS.Recent, TS.Recent is valid, and the RST
  // bit is not set; RFC 7323 §5.2: an <RST> segment MUST NOT be subjected to the PAWS check.
  if (rst) return false;
  // RFC 7323 §5.5: TS.Recent older than 24 days is invalid; the segment is accepted.
  if (!ts_recent_valid(ts_recent_at, now)) return false;
  return ts_before(seg_tsval, ts_recent);
}

bool update_ts_recent(std::uint32_t seg_tsval, wire::SeqNum seg_seq, wire::SeqNum last_ack_sent,
                      std::uint32_t ts_recent, Instant ts_recent_at, Instant now) {
  // RFC 7323 §4.3 (2): if SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent, SEG.TSval is
  // copied to TS.Recent; RFC 7323 §5.5: an invalid TS.Recent is replaced whatever its value.
  if (!(seg_seq <= last_ack_sent)) return false;
  return !ts_recent_valid(ts_recent_at, now) || !ts_before(seg_tsval, ts_recent);
}

}  // namespace tapir::tcp
