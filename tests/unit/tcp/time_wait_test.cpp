// TIME-WAIT without the connection: the segment rules (RFC 9293 §3.10.7.4, RFC 1337, RFC 6191,
// RFC 7323 §5), the ACK it sends (against Linux's, tests/captures/tcp.pcap), and the table
// (eviction, expiry order, no allocation).
#include "stack/tcp/time_wait.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "stack/tcp/options.hpp"
#include "stack/wire/common.hpp"
#include "tests/support/allocations.hpp"
#include "tests/support/captures.hpp"

namespace tapir::tcp {
namespace {

using namespace std::chrono_literals;
using wire::SeqNum;
using wire::TcpRepr;
using wire::TcpTimestamps;

const SipKey kKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
const FourTuple kTuple{Ipv4Address(10, 0, 0, 2), 80, Ipv4Address(10, 0, 0, 1), 40000};
constexpr Duration k2Msl = 60s;
const Instant kT0 = instant_from_micros(1'000'000'000);  // when the entry went into TIME-WAIT
constexpr std::uint32_t kSndNxt = 1000;
constexpr std::uint32_t kRcvNxt = 5000;
constexpr std::uint32_t kTsRecent = 7000;

FourTuple tuple(std::uint16_t remote_port) {
  FourTuple t = kTuple;
  t.remote_port = remote_port;
  return t;
}

// The TIME-WAIT of kTuple: our FIN was 999 and their FIN 4999, both acknowledged.
TimeWaitEntry entry(bool timestamps = true) {
  TimeWaitEntry e;
  e.tuple = kTuple;
  e.snd_nxt = SeqNum(kSndNxt);
  e.rcv_nxt = SeqNum(kRcvNxt);
  e.window = 502;
  e.timestamps = timestamps;
  e.ts_recent = timestamps ? kTsRecent : 0;
  e.ts_recent_at = kT0;
  e.ts_offset = 0x1000;
  e.expiry = kT0 + k2Msl;
  return e;
}

TimeWaitEntry entry_for(const FourTuple& t, Instant expiry) {
  TimeWaitEntry e = entry();
  e.tuple = t;
  e.expiry = expiry;
  return e;
}

// A segment from the peer of kTuple: ACK of our FIN, and a timestamp unless tsval is nullopt.
TcpRepr from_peer(std::uint32_t seq, std::optional<std::uint32_t> tsval = kTsRecent + 1) {
  TcpRepr s;
  s.src_port = kTuple.remote_port;
  s.dst_port = kTuple.local_port;
  s.seq_number = SeqNum(seq);
  s.ack_number = SeqNum(kSndNxt);
  s.window_len = 501;
  if (tsval) s.timestamps = TcpTimestamps{*tsval, 0x2000};
  return s;
}

TcpRepr fin_retransmission(std::optional<std::uint32_t> tsval = kTsRecent) {
  TcpRepr s = from_peer(kRcvNxt - 1, tsval);
  s.fin = true;
  return s;
}

// A new connection's SYN (no ACK) from the peer.
TcpRepr syn(std::uint32_t seq, std::optional<std::uint32_t> tsval) {
  TcpRepr s = from_peer(seq, tsval);
  s.ack_number.reset();
  s.syn = true;
  s.max_seg_size = 1460;
  if (s.timestamps) s.timestamps->tsecr = 0;
  return s;
}

TcpRepr rst(std::uint32_t seq) {
  TcpRepr s = from_peer(seq, std::nullopt);
  s.ack_number.reset();
  s.rst = true;
  return s;
}

// One entry and its counters, driven by on_segment() at chosen instants.
struct TimeWait {
  TimeWaitEntry e = entry();
  TimeWaitCounters c;

  explicit TimeWait(bool timestamps = true) : e(entry(timestamps)) {}
  TimeWaitAction operator()(const TcpRepr& seg, Instant now) {
    return on_segment(e, seg, now, k2Msl, c);
  }
};

// --- Rule 1: RST -----------------------------------------------------------------------------

// RFC 1337 §3 (F1): "Ignore RST segments in TIME-WAIT state", in window or not, with or without
// ACK; RFC 7323 §5.2: a RST's timestamps change nothing. The timer is not restarted either.
TEST(TimeWait, RstIsIgnoredWhateverItsSequenceNumber) {
  TimeWait tw;
  const TimeWaitEntry before = tw.e;
  const Instant now = kT0 + 5s;
  EXPECT_EQ(tw(rst(kRcvNxt), now), TimeWaitAction::Drop);  // what RFC 9293 would close on
  TcpRepr rst_ack = rst(kRcvNxt);
  rst_ack.ack_number = SeqNum(kSndNxt);
  rst_ack.timestamps = TcpTimestamps{kTsRecent + 100, 0};
  EXPECT_EQ(tw(rst_ack, now), TimeWaitAction::Drop);
  EXPECT_EQ(tw(rst(kRcvNxt + 100000), now), TimeWaitAction::Drop);
  TcpRepr syn_rst = syn(kRcvNxt + 10, kTsRecent + 1);
  syn_rst.rst = true;
  EXPECT_EQ(tw(syn_rst, now), TimeWaitAction::Drop);
  EXPECT_EQ(tw.e, before);
  EXPECT_EQ(tw.c.rx_rst_ignored.value(), 4U);
  EXPECT_EQ(tw.c.tx_acks.value(), 0U);
}

// --- Rule 5: the retransmitted FIN -----------------------------------------------------------

// RFC 9293 §3.10.7.4: "The only thing that can arrive in this state is a retransmission of the
// remote FIN. Acknowledge it, and restart the 2 MSL timeout." Every retransmission is answered:
// a FIN is never rate limited.
TEST(TimeWait, RetransmittedFinIsAcknowledgedAndRestartsTheTimer) {
  TimeWait tw;
  EXPECT_EQ(tw(fin_retransmission(), kT0 + 10s), TimeWaitAction::Ack);
  EXPECT_EQ(tw.e.expiry, kT0 + 10s + k2Msl);
  EXPECT_EQ(tw(fin_retransmission(), kT0 + 10s + 1ms), TimeWaitAction::Ack);
  EXPECT_EQ(tw.e.expiry, kT0 + 10s + 1ms + k2Msl);
  EXPECT_EQ(tw.c.tx_acks.value(), 2U);
  EXPECT_EQ(tw.c.tx_acks_rate_limited.value(), 0U);
  EXPECT_EQ(tw.e.ts_recent, kTsRecent);  // only rule 3 records TS.Recent
}

// --- Rule 3: in sequence and empty -----------------------------------------------------------

// Linux's rule: SEG.SEQ == RCV.NXT with SEG.LEN == 0 is absorbed without a reply (answering it
// would loop between two ends both in TIME-WAIT), the 2 MSL timer restarts, and TS.Recent is
// updated (RFC 7323 §4.3).
TEST(TimeWait, BareAckInSequenceIsAbsorbedRestartsTheTimerAndUpdatesTsRecent) {
  TimeWait tw;
  EXPECT_EQ(tw(from_peer(kRcvNxt, kTsRecent + 5), kT0 + 20s), TimeWaitAction::Drop);
  EXPECT_EQ(tw.e.expiry, kT0 + 20s + k2Msl);
  EXPECT_EQ(tw.e.ts_recent, kTsRecent + 5);
  EXPECT_EQ(tw.e.ts_recent_at, kT0 + 20s);
  EXPECT_EQ(tw.c.tx_acks.value(), 0U);

  TimeWait plain(false);
  EXPECT_EQ(plain(from_peer(kRcvNxt, std::nullopt), kT0 + 20s), TimeWaitAction::Drop);
  EXPECT_EQ(plain.e.expiry, kT0 + 20s + k2Msl);
}

// --- Rule 4: a SYN that may open a new incarnation -------------------------------------------

// RFC 6191 §2 (RFC 9293 §3.10.7.4, fourth check): with timestamps on both sides, a SYN whose
// TSval is greater than TS.Recent is honoured whatever its sequence number. The entry is left
// alone: the caller erases it if a listener takes the SYN.
TEST(TimeWait, SynWithANewerTimestampOpensANewIncarnation) {
  for (const std::uint32_t seq : {kRcvNxt - 100000, kRcvNxt - 1, kRcvNxt, kRcvNxt + 1}) {
    TimeWait tw;
    const TimeWaitEntry before = tw.e;
    EXPECT_EQ(tw(syn(seq, kTsRecent + 1), kT0 + 1s), TimeWaitAction::Reuse) << seq;
    EXPECT_EQ(tw.e, before);
    EXPECT_EQ(tw.c.rx_syn_reuse.value(), 1U);
  }
}

// RFC 6191 §2: a SYN whose TSval equals TS.Recent is honoured only if its sequence number is
// greater than RCV.NXT; otherwise it is an old duplicate, answered with an ACK (RFC 9293
// §3.10.7.4 fourth check, RFC 5961 §4.2: a challenge ACK).
TEST(TimeWait, SynWithAnEqualTimestampNeedsAHigherSequenceNumber) {
  TimeWait higher;
  EXPECT_EQ(higher(syn(kRcvNxt + 1, kTsRecent), kT0 + 1s), TimeWaitAction::Reuse);
  TimeWait same;
  EXPECT_EQ(same(syn(kRcvNxt, kTsRecent), kT0 + 1s), TimeWaitAction::Ack);
  TimeWait lower;
  EXPECT_EQ(lower(syn(kRcvNxt - 1, kTsRecent), kT0 + 1s), TimeWaitAction::Ack);
  EXPECT_EQ(lower.c.tx_acks.value(), 1U);
  EXPECT_EQ(lower.c.rx_syn_reuse.value(), 0U);
}

// RFC 7323 §5.3 R1 and RFC 6191 §2: a SYN whose TSval is below TS.Recent is an old duplicate
// even with a higher sequence number: PAWS rejects it; it gets an ACK, and (Linux) the timer
// restarts.
TEST(TimeWait, SynWithAnOlderTimestampIsAnOldDuplicate) {
  TimeWait tw;
  EXPECT_EQ(tw(syn(kRcvNxt + 1000, kTsRecent - 1), kT0 + 1s), TimeWaitAction::Ack);
  EXPECT_EQ(tw.c.rx_paws_rejected.value(), 1U);
  EXPECT_EQ(tw.e.expiry, kT0 + 1s + k2Msl);
}

// RFC 6191 §2's fallback, the BSD test behind RFC 1122 §4.2.2.13's reopening: without
// timestamps a SYN may reopen the connection only with a sequence number greater than RCV.NXT. An
// older one is an old duplicate, ACKed, and (Linux) does not restart the timer: it may be a new SYN
// whose random ISN lies below.
TEST(TimeWait, WithoutTimestampsASynNeedsAHigherSequenceNumber) {
  TimeWait higher(false);
  EXPECT_EQ(higher(syn(kRcvNxt + 1, std::nullopt), kT0 + 1s), TimeWaitAction::Reuse);
  for (const std::uint32_t seq : {kRcvNxt, kRcvNxt - 1, kRcvNxt - 1'000'000}) {
    TimeWait tw(false);
    EXPECT_EQ(tw(syn(seq, std::nullopt), kT0 + 1s), TimeWaitAction::Ack) << seq;
    EXPECT_EQ(tw.e.expiry, kT0 + k2Msl) << seq;
  }
  // RFC 6191 §2: the same when the old incarnation had timestamps but the SYN has none ...
  TimeWait ts_entry;
  EXPECT_EQ(ts_entry(syn(kRcvNxt + 1, std::nullopt), kT0 + 1s), TimeWaitAction::Reuse);
  TimeWait ts_entry_old;
  EXPECT_EQ(ts_entry_old(syn(kRcvNxt, std::nullopt), kT0 + 1s), TimeWaitAction::Ack);
  // ... and when the SYN has timestamps but the old incarnation had none.
  TimeWait plain_entry(false);
  EXPECT_EQ(plain_entry(syn(kRcvNxt - 1, kTsRecent + 1), kT0 + 1s), TimeWaitAction::Ack);
}

// RFC 9293 §3.4: "greater than RCV.NXT" is modulo 2^32.
TEST(TimeWait, SynSequenceNumbersCompareModulo2To32) {
  TimeWait tw(false);
  tw.e.rcv_nxt = SeqNum(0xfffffff0U);
  EXPECT_EQ(tw(syn(0x10, std::nullopt), kT0 + 1s), TimeWaitAction::Reuse);
  TimeWait below(false);
  below.e.rcv_nxt = SeqNum(0x10);
  EXPECT_EQ(below(syn(0xfffffff0U, std::nullopt), kT0 + 1s), TimeWaitAction::Ack);
}

// RFC 6191 §2 concerns a connection request: a SYN with ACK set never reopens; it is answered
// (RFC 9293 §3.10.7.4 fourth check) and, having ACK, restarts the timer (Linux).
TEST(TimeWait, SynWithAckIsNeverANewIncarnation) {
  TimeWait tw;
  TcpRepr syn_ack = syn(kRcvNxt + 1, kTsRecent + 1);
  syn_ack.ack_number = SeqNum(kSndNxt);
  EXPECT_EQ(tw(syn_ack, kT0 + 1s), TimeWaitAction::Ack);
  EXPECT_EQ(tw.e.expiry, kT0 + 1s + k2Msl);
  EXPECT_EQ(tw.c.rx_syn_reuse.value(), 0U);
}

// --- Rules 2 and 5: PAWS and the other segments ----------------------------------------------

// RFC 9293 §3.10.7.4, first check: an unacceptable segment gets an ACK; seventh check: data in
// TIME-WAIT is ignored, and Linux ACKs it too. Segments with ACK set restart the timer; the
// one without ACK does not (Linux).
TEST(TimeWait, OtherSegmentsAreAcknowledgedAndRestartTheTimerIfTheyCarryAck) {
  TcpRepr old_data = from_peer(kRcvNxt - 200);
  old_data.payload_len = 100;
  TcpRepr new_data = from_peer(kRcvNxt);
  new_data.payload_len = 10;
  const TcpRepr far_ack = from_peer(kRcvNxt + 1'000'000);
  const TcpRepr old_ack = from_peer(kRcvNxt - 1);  // a keep-alive's sequence number
  for (const TcpRepr& seg : {old_data, new_data, far_ack, old_ack}) {
    TimeWait tw;
    EXPECT_EQ(tw(seg, kT0 + 30s), TimeWaitAction::Ack) << seg.seq_number.value();
    EXPECT_EQ(tw.e.expiry, kT0 + 30s + k2Msl);
    EXPECT_EQ(tw.e.ts_recent, kTsRecent);
  }
  TimeWait tw;
  TcpRepr no_ack = new_data;
  no_ack.ack_number.reset();
  EXPECT_EQ(tw(no_ack, kT0 + 30s), TimeWaitAction::Ack);
  EXPECT_EQ(tw.e.expiry, kT0 + k2Msl);
}

// RFC 7323 §5.3 R1: with timestamps, SEG.TSval < TS.Recent makes any segment unacceptable:
// even a bare ACK at RCV.NXT is not absorbed but answered, TS.Recent stays, the timer restarts.
TEST(TimeWait, PawsRejectsAnOldTimestampOnAnySegment) {
  TimeWait tw;
  EXPECT_EQ(tw(from_peer(kRcvNxt, kTsRecent - 1), kT0 + 2s), TimeWaitAction::Ack);
  EXPECT_EQ(tw.e.ts_recent, kTsRecent);
  EXPECT_EQ(tw.e.expiry, kT0 + 2s + k2Msl);
  EXPECT_EQ(tw.c.rx_paws_rejected.value(), 1U);
  // RFC 7323 §5.2 / §5.3: timestamps compare modulo 2^32: 0x10 is after 0xfffffff0.
  TimeWait wrapped;
  wrapped.e.ts_recent = 0xfffffff0U;
  EXPECT_EQ(wrapped(from_peer(kRcvNxt, 0x10), kT0 + 2s), TimeWaitAction::Drop);
  EXPECT_EQ(wrapped.e.ts_recent, 0x10U);
  EXPECT_EQ(wrapped.c.rx_paws_rejected.value(), 0U);
}

// RFC 7323 §5.5: a TS.Recent recorded more than 24 days ago is invalid; PAWS accepts the
// segment, and a SYN then needs the higher sequence number (RFC 6191 §2).
TEST(TimeWait, PawsIgnoresATsRecentOlderThan24Days) {
  TimeWait tw;
  const Instant now = kT0 + kPawsIdleLimit + 1s;
  tw.e.expiry = now + k2Msl;
  EXPECT_EQ(tw(syn(kRcvNxt + 1, kTsRecent - 1), now), TimeWaitAction::Reuse);
  EXPECT_EQ(tw.c.rx_paws_rejected.value(), 0U);
}

// Linux's tcp_oow_rate_limited() (net.ipv4.tcp_invalid_ratelimit, 500 ms): ACKs answering bare
// segments and SYNs go at most once per kTimeWaitAckInterval; ACKs of data or a FIN always go.
TEST(TimeWait, AcksToBareSegmentsAndSynsAreRateLimited) {
  TimeWait tw;
  const Instant t = kT0 + 10s;
  const TcpRepr old_ack = from_peer(kRcvNxt - 10);
  EXPECT_EQ(tw(old_ack, t), TimeWaitAction::Ack);
  EXPECT_EQ(tw(old_ack, t + 499ms), TimeWaitAction::Drop);
  EXPECT_EQ(tw.e.expiry, t + 499ms + k2Msl);  // the timer still restarts
  EXPECT_EQ(tw(old_ack, t + kTimeWaitAckInterval), TimeWaitAction::Ack);
  const Instant u = t + kTimeWaitAckInterval + 100ms;
  EXPECT_EQ(tw(syn(kRcvNxt - 1, kTsRecent), u), TimeWaitAction::Drop);  // an old SYN: limited
  EXPECT_EQ(tw(fin_retransmission(), u), TimeWaitAction::Ack);          // a FIN: never
  TcpRepr data = from_peer(kRcvNxt - 10);
  data.payload_len = 1;
  EXPECT_EQ(tw(data, u), TimeWaitAction::Ack);  // data: never
  EXPECT_EQ(tw.c.tx_acks.value(), 4U);
  EXPECT_EQ(tw.c.tx_acks_rate_limited.value(), 2U);
}

// --- The ACK ---------------------------------------------------------------------------------

// RFC 9293 §3.10.7.4 / Linux's tcp_v4_timewait_ack(): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> from
// our port to theirs, with the window we advertised; RFC 7323 §3.2: TSval = our clock plus the
// connection's offset (modulo 2^32), TSecr = TS.Recent.
TEST(TimeWait, AckCarriesSndNxtRcvNxtTheWindowAndTimestamps) {
  const TimeWaitEntry e = entry();
  const TcpRepr a = ack_for(e, 0xfffff000U);
  EXPECT_EQ(a.src_port, 80);
  EXPECT_EQ(a.dst_port, 40000);
  EXPECT_EQ(a.seq_number, SeqNum(kSndNxt));
  EXPECT_EQ(a.ack_number, SeqNum(kRcvNxt));
  EXPECT_EQ(a.window_len, 502);
  EXPECT_EQ(a.timestamps, (TcpTimestamps{0x0U, kTsRecent}));  // 0xfffff000 + 0x1000 wraps
  EXPECT_FALSE(a.syn || a.fin || a.rst || a.psh);
  EXPECT_FALSE(a.max_seg_size || a.window_scale || a.sack_permitted);
  EXPECT_EQ(a.sack_count, 0U);
  EXPECT_EQ(a.payload_len, 0U);
  EXPECT_EQ(a.header_len(), 32U);  // NOP NOP TS, as Linux lays it out
}

TEST(TimeWait, AckWithoutTimestampsHasNoOptions) {
  const TcpRepr a = ack_for(entry(false), 12345);
  EXPECT_FALSE(a.timestamps);
  EXPECT_EQ(a.header_len(), 20U);
}

// The last frames of tests/captures/tcp.pcap: B (10.0.0.2:8080) closed first, so the client's
// FIN (frame 10) put it into TIME-WAIT and frame 11 is its ACK. The entry B keeps from those
// frames treats a retransmission of that FIN as RFC 9293 §3.10.7.4 says (acknowledge it,
// restart the timer), and its ACK is Linux's, byte for byte.
TEST(TimeWait, AckOfARetransmittedFinIsLinuxsByteForByte) {
  const test::Capture c = test::load_capture("tcp.pcap");
  ASSERT_EQ(c.frames.size(), 11U);
  const auto tcp_of = [&](std::size_t frame) {
    const Bytes ip = c.frames[frame].span().subspan(14);
    const std::size_t ihl = std::size_t{load_u8(ip, 0) & 0x0fU} * 4;
    const std::size_t total = load_be16(ip, 2);
    return ip.subspan(ihl, total - ihl);
  };
  const Ipv4Address a(10, 0, 0, 1);
  const Ipv4Address b(10, 0, 0, 2);
  const auto client_fin =
      TcpRepr::parse(wire::TcpView(tcp_of(9)), a, b, wire::ChecksumPolicy::all());
  ASSERT_TRUE(client_fin);
  ASSERT_TRUE(client_fin->fin && client_fin->timestamps);

  // B's TIME-WAIT: SND.NXT past its FIN (frame 8), RCV.NXT past the client's, window 64 (<<
  // 10), TS.Recent = the FIN's TSval; the offset is any, with ts_now chosen to match B's TSval.
  TimeWaitEntry e;
  e.tuple = FourTuple{b, 8080, a, 40000};
  e.snd_nxt = SeqNum(2657930564U);
  e.rcv_nxt = client_fin->seq_number + 1;
  e.window = 64;
  e.timestamps = true;
  e.ts_recent = client_fin->timestamps->tsval;
  e.ts_recent_at = kT0;
  e.ts_offset = 0x9e3779b9U;
  e.expiry = kT0 + k2Msl;
  const std::uint32_t ts_now = 176600677U - e.ts_offset;

  TimeWaitCounters counters;
  EXPECT_EQ(on_segment(e, *client_fin, kT0 + 200ms, k2Msl, counters), TimeWaitAction::Ack);
  EXPECT_EQ(e.expiry, kT0 + 200ms + k2Msl);

  const TcpRepr ack = ack_for(e, ts_now);
  auto out = test::poisoned(ack.buffer_len());
  ack.emit(wire::TcpViewMut(out), b, a, wire::ChecksumPolicy::all());
  EXPECT_EQ(test::to_hex(out), test::to_hex(tcp_of(10)));
}

// RFC 1122 §4.2.2.13 (1): the reopened connection's ISN is larger than any sequence number
// of the old incarnation: SND.NXT + 65537 (Linux's tw_isn), modulo 2^32.
TEST(TimeWait, ReuseIsnIsPastTheOldIncarnation) {
  TimeWaitEntry e = entry();
  EXPECT_EQ(reuse_isn(e), SeqNum(kSndNxt + 65537));
  EXPECT_GT(reuse_isn(e), e.snd_nxt);
  e.snd_nxt = SeqNum(0xffff0000U);
  EXPECT_EQ(reuse_isn(e), SeqNum(0x1U));
  EXPECT_GT(reuse_isn(e), e.snd_nxt);
}

// --- The table -------------------------------------------------------------------------------

TEST(TimeWaitTable, InsertFindErase) {
  TimeWaitTable t(4, kKey);
  EXPECT_EQ(t.capacity(), 4U);
  EXPECT_EQ(t.find(kTuple), nullptr);
  ASSERT_TRUE(t.insert(entry()));
  EXPECT_EQ(t.size(), 1U);
  const TimeWaitEntry* e = t.find(kTuple);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(*e, entry());
  EXPECT_EQ(t.find(tuple(1)), nullptr);
  EXPECT_EQ(t.next_expiry(), kT0 + k2Msl);
  EXPECT_TRUE(t.erase(kTuple));
  EXPECT_FALSE(t.erase(kTuple));
  EXPECT_EQ(t.find(kTuple), nullptr);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.next_expiry(), kNever);
  EXPECT_EQ(t.counters().tw_expired.value() + t.counters().tw_evicted.value(), 0U);
}

TEST(TimeWaitTable, InsertingATupleAgainReplacesItsEntry) {
  TimeWaitTable t(4, kKey);
  ASSERT_TRUE(t.insert(entry_for(tuple(1), kT0 + 60s)));
  ASSERT_TRUE(t.insert(entry_for(tuple(2), kT0 + 61s)));
  TimeWaitEntry again = entry_for(tuple(1), kT0 + 62s);
  again.rcv_nxt = SeqNum(777);
  ASSERT_TRUE(t.insert(again));
  EXPECT_EQ(t.size(), 2U);
  EXPECT_EQ(*t.find(tuple(1)), again);
  EXPECT_EQ(t.next_expiry(), kT0 + 61s);  // tuple 1 moved behind tuple 2
}

// Like Linux when its TIME-WAIT table overflows, one TIME-WAIT is cut short and counted; here
// it is the oldest, and the new entry is kept.
TEST(TimeWaitTable, WhenFullTheOldestIsEvictedForTheNewOne) {
  TimeWaitTable t(3, kKey);
  for (std::uint16_t p = 1; p <= 3; ++p)
    ASSERT_TRUE(t.insert(entry_for(tuple(p), kT0 + std::chrono::seconds(p))));
  ASSERT_TRUE(t.insert(entry_for(tuple(4), kT0 + 4s)));
  EXPECT_EQ(t.size(), 3U);
  EXPECT_EQ(t.find(tuple(1)), nullptr);
  for (std::uint16_t p = 2; p <= 4; ++p)
    EXPECT_NE(t.find(tuple(p)), nullptr) << p;
  EXPECT_EQ(t.counters().tw_evicted.value(), 1U);
  EXPECT_EQ(t.next_expiry(), kT0 + 2s);
  ASSERT_TRUE(t.insert(entry_for(tuple(5), kT0 + 5s)));
  EXPECT_EQ(t.find(tuple(2)), nullptr);
  EXPECT_EQ(t.counters().tw_evicted.value(), 2U);
  EXPECT_EQ(t.counters().tw_expired.value(), 0U);
}

TEST(TimeWaitTable, ZeroCapacitySkipsTimeWaitAndCountsIt) {
  TimeWaitTable t(0, kKey);
  EXPECT_FALSE(t.insert(entry()));
  EXPECT_EQ(t.find(kTuple), nullptr);
  EXPECT_EQ(t.counters().tw_evicted.value(), 1U);
  EXPECT_EQ(t.next_expiry(), kNever);
  EXPECT_EQ(t.expire(kT0 + 1000s), 0U);
}

// Entries inserted at now + 2 MSL expire in the order they came in, each at its expiry exactly
// (a manual clock stepping through), and next_expiry() is always the earliest.
TEST(TimeWaitTable, EntriesExpireInOrderWithAManualClock) {
  TimeWaitTable t(8, kKey);
  Instant now = kT0;
  for (std::uint16_t p = 1; p <= 5; ++p) {
    ASSERT_TRUE(t.insert(entry_for(tuple(p), now + k2Msl)));
    now += 1s;
  }
  EXPECT_EQ(t.next_expiry(), kT0 + k2Msl);
  EXPECT_EQ(t.expire(kT0 + k2Msl - 1us), 0U);
  EXPECT_EQ(t.size(), 5U);
  for (std::uint16_t p = 1; p <= 5; ++p) {
    const Instant due = kT0 + k2Msl + std::chrono::seconds(p - 1);
    EXPECT_EQ(t.next_expiry(), due);
    EXPECT_EQ(t.expire(due), 1U) << p;
    EXPECT_EQ(t.find(tuple(p)), nullptr);
    if (p < 5) {
      EXPECT_NE(t.find(tuple(static_cast<std::uint16_t>(p + 1))), nullptr);
    }
  }
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.next_expiry(), kNever);
  EXPECT_EQ(t.counters().tw_expired.value(), 5U);

  // One late call takes everything due at once.
  for (std::uint16_t p = 1; p <= 3; ++p)
    ASSERT_TRUE(t.insert(entry_for(tuple(p), now + std::chrono::seconds(p))));
  EXPECT_EQ(t.expire(now + 2s), 2U);
  EXPECT_EQ(t.size(), 1U);
  EXPECT_NE(t.find(tuple(3)), nullptr);
}

// A timer restarted by a segment (RFC 9293 §3.10.7.4: the retransmitted FIN) moves the entry to
// its new place: it now expires after entries that came in later.
TEST(TimeWaitTable, ARestartedTimerMovesTheEntryBehindLaterOnes) {
  TimeWaitTable t(4, kKey);
  ASSERT_TRUE(t.insert(entry_for(tuple(1), kT0 + k2Msl)));
  ASSERT_TRUE(t.insert(entry_for(tuple(2), kT0 + 1s + k2Msl)));
  TcpRepr fin = fin_retransmission();
  fin.src_port = 1;
  const TimeWaitEntry* first = t.find(tuple(1));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(t.on_segment(*first, fin, kT0 + 2s, k2Msl), TimeWaitAction::Ack);
  EXPECT_EQ(t.counters().tx_acks.value(), 1U);
  EXPECT_EQ(first->expiry, kT0 + 2s + k2Msl);
  EXPECT_EQ(t.next_expiry(), kT0 + 1s + k2Msl);
  EXPECT_EQ(t.expire(kT0 + 1s + k2Msl), 1U);
  EXPECT_EQ(t.find(tuple(2)), nullptr);
  EXPECT_NE(t.find(tuple(1)), nullptr);
  EXPECT_EQ(t.next_expiry(), kT0 + 2s + k2Msl);
  // A segment that does not restart the timer leaves the order alone.
  EXPECT_EQ(t.on_segment(*t.find(tuple(1)), rst(kRcvNxt), kT0 + 3s, k2Msl), TimeWaitAction::Drop);
  EXPECT_EQ(t.counters().rx_rst_ignored.value(), 1U);
  EXPECT_EQ(t.next_expiry(), kT0 + 2s + k2Msl);
}

TEST(TimeWaitTable, EraseFromTheMiddleKeepsTheOrder) {
  TimeWaitTable t(4, kKey);
  for (std::uint16_t p = 1; p <= 4; ++p)
    ASSERT_TRUE(t.insert(entry_for(tuple(p), kT0 + std::chrono::seconds(p))));
  EXPECT_TRUE(t.erase(tuple(2)));
  EXPECT_TRUE(t.erase(tuple(4)));
  std::vector<std::uint16_t> order;
  t.for_each([&](const TimeWaitEntry& e) { order.push_back(e.tuple.remote_port); });
  EXPECT_EQ(order, (std::vector<std::uint16_t>{1, 3}));
  ASSERT_TRUE(t.insert(entry_for(tuple(5), kT0 + 5s)));
  EXPECT_EQ(t.expire(kT0 + 1s), 1U);
  EXPECT_EQ(t.next_expiry(), kT0 + 3s);
  EXPECT_EQ(t.expire(kT0 + 5s), 2U);
  EXPECT_TRUE(t.empty());
}

// An expiry out of order (a shorter 2 MSL for one entry) still lands in its place.
TEST(TimeWaitTable, AnExpiryOutOfOrderStillExpiresInItsPlace) {
  TimeWaitTable t(4, kKey);
  ASSERT_TRUE(t.insert(entry_for(tuple(1), kT0 + 10s)));
  ASSERT_TRUE(t.insert(entry_for(tuple(2), kT0 + 30s)));
  ASSERT_TRUE(t.insert(entry_for(tuple(3), kT0 + 20s)));
  ASSERT_TRUE(t.insert(entry_for(tuple(4), kT0 + 5s)));
  std::vector<std::uint16_t> order;
  t.for_each([&](const TimeWaitEntry& e) { order.push_back(e.tuple.remote_port); });
  EXPECT_EQ(order, (std::vector<std::uint16_t>{4, 1, 3, 2}));
  EXPECT_EQ(t.next_expiry(), kT0 + 5s);
  EXPECT_EQ(t.expire(kT0 + 20s), 3U);
  EXPECT_NE(t.find(tuple(2)), nullptr);
}

TEST(TimeWaitTable, ClearRemovesEverythingUncounted) {
  TimeWaitTable t(4, kKey);
  for (std::uint16_t p = 1; p <= 4; ++p)
    ASSERT_TRUE(t.insert(entry_for(tuple(p), kT0 + std::chrono::seconds(p))));
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.next_expiry(), kNever);
  for (std::uint16_t p = 1; p <= 4; ++p)
    EXPECT_EQ(t.find(tuple(p)), nullptr);
  for (std::uint16_t p = 5; p <= 8; ++p)
    ASSERT_TRUE(t.insert(entry_for(tuple(p), kT0 + std::chrono::seconds(p))));
  EXPECT_EQ(t.size(), 4U);
  EXPECT_EQ(t.counters().tw_evicted.value() + t.counters().tw_expired.value(), 0U);
}

// Random inserts (some beyond capacity), erases, restarting segments and expiries on a manual
// clock, against a plain list: the same entries, found alike, in expiry order.
TEST(TimeWaitTable, AgreesWithASimpleModelOverRandomOperations) {
  constexpr std::uint64_t kSeed = 0x7137a1;
  SCOPED_TRACE(testing::Message() << "seed " << kSeed);
  Random r(kSeed);
  constexpr std::size_t kCapacity = 16;
  TimeWaitTable t(kCapacity, kKey);
  std::vector<TimeWaitEntry> model;  // in expiry order, ties oldest first
  const auto model_find = [&](const FourTuple& k) {
    return std::find_if(model.begin(), model.end(),
                        [&](const TimeWaitEntry& e) { return e.tuple == k; });
  };
  const auto model_place = [&](const TimeWaitEntry& e) {
    const auto at = std::upper_bound(
        model.begin(), model.end(), e,
        [](const TimeWaitEntry& a, const TimeWaitEntry& b) { return a.expiry < b.expiry; });
    model.insert(at, e);
  };
  Instant now = kT0;
  std::uint64_t evicted = 0, expired = 0;
  for (int op = 0; op < 20000; ++op) {
    now += std::chrono::milliseconds(r.below(2000));
    const FourTuple k = tuple(static_cast<std::uint16_t>(1 + r.below(40)));
    switch (r.below(4)) {
      case 0: {
        const TimeWaitEntry e = entry_for(k, now + k2Msl);
        if (const auto it = model_find(k); it != model.end()) {
          model.erase(it);
        } else if (model.size() == kCapacity) {
          model.erase(model.begin());
          ++evicted;
        }
        model_place(e);
        ASSERT_TRUE(t.insert(e));
        break;
      }
      case 1: {
        const auto it = model_find(k);
        const bool present = it != model.end();
        if (present) model.erase(it);
        ASSERT_EQ(t.erase(k), present);
        break;
      }
      case 2: {  // a retransmitted FIN from k's peer: ACKed, the timer restarted
        const TimeWaitEntry* e = t.find(k);
        const auto it = model_find(k);
        ASSERT_EQ(e != nullptr, it != model.end());
        if (e == nullptr) break;
        TcpRepr fin = fin_retransmission();
        fin.src_port = k.remote_port;
        TimeWaitEntry updated = *it;
        TimeWaitCounters ignored;
        on_segment(updated, fin, now, k2Msl, ignored);
        model.erase(it);
        model_place(updated);
        ASSERT_EQ(t.on_segment(*e, fin, now, k2Msl), TimeWaitAction::Ack);
        ASSERT_EQ(*t.find(k), updated);
        break;
      }
      default: {
        std::size_t due = 0;
        while (due < model.size() && model[due].expiry <= now)
          ++due;
        model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(due));
        expired += due;
        ASSERT_EQ(t.expire(now), due) << "op " << op;
        break;
      }
    }
    ASSERT_EQ(t.size(), model.size()) << "op " << op;
    ASSERT_EQ(t.next_expiry(), model.empty() ? kNever : model.front().expiry) << "op " << op;
  }
  std::vector<TimeWaitEntry> listed;
  t.for_each([&](const TimeWaitEntry& e) { listed.push_back(e); });
  EXPECT_EQ(listed, model);
  EXPECT_EQ(t.counters().tw_evicted.value(), evicted);
  EXPECT_EQ(t.counters().tw_expired.value(), expired);
  EXPECT_GT(evicted, 10U);  // the workload reached every path
  EXPECT_GT(expired, 100U);
}

TEST(TimeWaitTable, NoAllocationAfterConstruction) {
  TimeWaitTable t(64, kKey);
  Random r(5);
  Instant now = kT0;
  const std::size_t before = test::allocations();
  std::size_t acks = 0;
  for (int op = 0; op < 20000; ++op) {
    now += std::chrono::milliseconds(r.below(100));
    const FourTuple k = tuple(static_cast<std::uint16_t>(1 + r.below(200)));
    switch (op % 4) {
      case 0:
        t.insert(entry_for(k, now + k2Msl));
        break;
      case 1:
        t.erase(k);
        break;
      case 2:
        if (const TimeWaitEntry* e = t.find(k)) {
          TcpRepr fin = fin_retransmission();
          fin.src_port = k.remote_port;
          acks += t.on_segment(*e, fin, now, k2Msl) == TimeWaitAction::Ack ? 1U : 0U;
          const TcpRepr ack = ack_for(*e, 12345);
          acks += ack.payload_len;
        }
        break;
      default:
        t.expire(now);
        break;
    }
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  EXPECT_GT(acks, 0U);
  EXPECT_GT(t.counters().tw_evicted.value(), 0U);  // the workload did reach the bound
}

TEST(TimeWaitTable, CountersHaveStableNames) {
  const TimeWaitTable t(1, kKey);
  std::vector<std::string> names;
  t.for_each_counter([&](std::string_view name, const Counter&) { names.emplace_back(name); });
  EXPECT_EQ(names,
            (std::vector<std::string>{"tcp.tw_expired", "tcp.tw_evicted", "tcp.tw_rx_rst_ignored",
                                      "tcp.tw_rx_paws_rejected", "tcp.tw_rx_syn_reuse",
                                      "tcp.tw_tx_acks", "tcp.tw_tx_acks_rate_limited"}));
}

}  // namespace
}  // namespace tapir::tcp
