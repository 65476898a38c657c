// Handshake options (RFC 9293 §3.7.1, RFC 6691, RFC 7323, RFC 2018) and PAWS (RFC 7323 §5),
// against Linux's SYN from tests/captures/tcp.pcap.
#include "stack/tcp/options.hpp"

#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

#include "stack/wire/common.hpp"
#include "tests/support/captures.hpp"

namespace tapir::test {
namespace {

using namespace std::chrono_literals;
using tcp::LocalOptions;
using tcp::Negotiated;
using wire::SeqNum;
using wire::TcpRepr;
using wire::TcpTimestamps;

LocalOptions local(std::size_t mtu = 1500, std::size_t recv_buffer = 256 * 1024) {
  return LocalOptions{mtu, recv_buffer, true, true, true};
}

// A peer's SYN with every option, Linux's values.
TcpRepr full_syn() {
  TcpRepr s;
  s.syn = true;
  s.max_seg_size = 1460;
  s.window_scale = 7;
  s.sack_permitted = true;
  s.timestamps = TcpTimestamps{12345, 0};
  return s;
}

// The first frame of tests/captures/tcp.pcap (Linux's SYN), parsed with its checksum verified.
std::optional<TcpRepr> linux_syn() {
  const Capture c = load_capture("tcp.pcap");
  if (c.frames.empty()) return std::nullopt;
  const Bytes f = c.frames[0].span();
  const Bytes ip = f.subspan(14);
  const std::size_t ihl = std::size_t{load_u8(ip, 0) & 0x0fU} * 4;
  const std::size_t total = load_be16(ip, 2);
  auto r =
      TcpRepr::parse(wire::TcpView(ip.subspan(ihl, total - ihl)), Ipv4Address::from_bytes(ip, 12),
                     Ipv4Address::from_bytes(ip, 16), wire::ChecksumPolicy::all());
  if (!r) return std::nullopt;
  return *r;
}

// RFC 9293 §3.7.1, RFC 6691: MSS = MTU - 40; RFC 7323 §2.3: the smallest shift that lets the
// buffer be advertised in 16 bits, at most 14.
TEST(TcpOptions, MssIsMtuLessFortyAndShiftFitsTheBuffer) {
  EXPECT_EQ(tcp::local_mss(local(1500)), 1460);
  EXPECT_EQ(tcp::local_mss(local(9000)), 8960);
  EXPECT_EQ(tcp::local_mss(local(68)), 28);
  EXPECT_EQ(tcp::local_window_scale(local(1500, 65535)), 0);
  EXPECT_EQ(tcp::local_window_scale(local(1500, 65536)), 1);
  EXPECT_EQ(tcp::local_window_scale(local(1500, 256 * 1024)), 3);  // 262144 >> 3 = 32768
  EXPECT_EQ(tcp::local_window_scale(local(1500, 32U << 20)), 10);  // Linux's tcp_rmem[2]
  EXPECT_EQ(tcp::local_window_scale(local(1500, std::size_t{1} << 40)), 14);
  auto off = local();
  off.window_scaling = false;
  EXPECT_EQ(tcp::local_window_scale(off), 0);
}

// RFC 9293 §3.7.1, RFC 7323 §2.2, §3.2, RFC 2018 §2: our SYN for MTU 1500 and 256 KiB is
// Linux's SYN (tcp.pcap frame 1: MSS 1460, SACK permitted, timestamps, wscale 10) but for the
// window scale: 3 from our fixed 256 KiB buffer, where Linux's 10 comes from the 32 MiB its
// buffer may auto-tune to (the same loop, tcp_select_initial_window, on a larger space).
TEST(TcpOptions, OurSynIsLinuxsButForTheWindowScale) {
  if (!std::filesystem::exists(capture_path("tcp.pcap"))) GTEST_SKIP() << "no tcp.pcap";
  const auto theirs = linux_syn();
  ASSERT_TRUE(theirs);
  ASSERT_TRUE(theirs->syn && !theirs->ack_number);
  ASSERT_TRUE(theirs->timestamps);
  EXPECT_EQ(theirs->window_scale, 10);

  TcpRepr ours = *theirs;
  ours.max_seg_size.reset();
  ours.window_scale.reset();
  ours.sack_permitted = false;
  ours.timestamps.reset();
  tcp::fill_syn_options(ours, local(1500, 256 * 1024), theirs->timestamps->tsval);
  EXPECT_EQ(ours.max_seg_size, 1460);
  EXPECT_TRUE(ours.sack_permitted);
  EXPECT_EQ(ours.timestamps, (TcpTimestamps{theirs->timestamps->tsval, 0}));
  EXPECT_EQ(ours.window_scale, 3);
  ours.window_scale = theirs->window_scale;
  EXPECT_EQ(ours, *theirs);
}

// RFC 7323 §3.2: TSecr is zero without ACK; options the local end disables are not offered.
TEST(TcpOptions, SynOffersOnlyWhatIsEnabled) {
  TcpRepr syn;
  syn.sack_count = 2;
  tcp::fill_syn_options(syn, LocalOptions{1500, 1 << 20, false, false, false}, 99);
  EXPECT_EQ(syn.max_seg_size, 1460);
  EXPECT_FALSE(syn.window_scale);
  EXPECT_FALSE(syn.sack_permitted);
  EXPECT_FALSE(syn.timestamps);
  EXPECT_EQ(syn.sack_count, 0U);
  tcp::fill_syn_options(syn, local(1500, 1 << 20), 99);
  EXPECT_EQ(syn.window_scale, 5);
  EXPECT_EQ(syn.timestamps, (TcpTimestamps{99, 0}));
}

// RFC 7323 §1.3, §2.2, §3.2; RFC 2018 §2: a SYN-ACK offers window scale, timestamps and
// SACK-permitted only if the SYN did; its TSecr echoes the SYN's TSval.
TEST(TcpOptions, SynAckNeverOffersWhatTheSynDidNot) {
  TcpRepr bare;
  bare.syn = true;
  TcpRepr sa;
  sa.window_scale = 2;
  sa.sack_permitted = true;
  sa.timestamps = TcpTimestamps{1, 1};
  tcp::fill_syn_ack_options(sa, local(), bare, 500);
  EXPECT_EQ(sa.max_seg_size, 1460);
  EXPECT_FALSE(sa.window_scale);
  EXPECT_FALSE(sa.sack_permitted);
  EXPECT_FALSE(sa.timestamps);

  tcp::fill_syn_ack_options(sa, local(), full_syn(), 500);
  EXPECT_EQ(sa.window_scale, 3);
  EXPECT_TRUE(sa.sack_permitted);
  EXPECT_EQ(sa.timestamps, (TcpTimestamps{500, 12345}));

  // Each option alone.
  auto ws_only = bare;
  ws_only.window_scale = 0;
  tcp::fill_syn_ack_options(sa, local(), ws_only, 500);
  EXPECT_EQ(sa.window_scale, 3);
  EXPECT_FALSE(sa.sack_permitted || sa.timestamps);
  auto sack_only = bare;
  sack_only.sack_permitted = true;
  tcp::fill_syn_ack_options(sa, local(), sack_only, 500);
  EXPECT_TRUE(sa.sack_permitted);
  EXPECT_FALSE(sa.window_scale || sa.timestamps);

  // Offered by them but disabled here: not echoed.
  tcp::fill_syn_ack_options(sa, LocalOptions{1500, 1 << 20, false, false, false}, full_syn(), 5);
  EXPECT_FALSE(sa.window_scale || sa.sack_permitted || sa.timestamps);
}

// RFC 9293 §3.7.1, RFC 7323 §2.2, §3.2, RFC 2018 §2: with every option on both sides.
TEST(TcpOptions, NegotiateWithEveryOption) {
  const Negotiated n = tcp::negotiate(local(), full_syn());
  EXPECT_EQ(n, (Negotiated{1460, 7, 3, true, true}));
  EXPECT_EQ(n.seg_data_len(), 1448);  // RFC 9293 §3.7.1 Eff.snd.MSS, as Linux's 1448
}

// RFC 7323 §2.2: window scaling only if both sent the option; §3.2 timestamps and RFC 2018 §2
// SACK only if both.
TEST(TcpOptions, NegotiateWithoutEachOption) {
  auto no_ws = full_syn();
  no_ws.window_scale.reset();
  auto n = tcp::negotiate(local(), no_ws);
  EXPECT_EQ(n.snd_wscale, 0);
  EXPECT_EQ(n.rcv_wscale, 0);  // we must not scale what we send either
  EXPECT_TRUE(n.sack && n.timestamps);

  auto no_ts = full_syn();
  no_ts.timestamps.reset();
  n = tcp::negotiate(local(), no_ts);
  EXPECT_FALSE(n.timestamps);
  EXPECT_EQ(n.seg_data_len(), 1460);
  EXPECT_TRUE(n.sack);

  auto no_sack = full_syn();
  no_sack.sack_permitted = false;
  EXPECT_FALSE(tcp::negotiate(local(), no_sack).sack);

  // Our side off, theirs on.
  EXPECT_EQ(tcp::negotiate(LocalOptions{1500, 1 << 20, false, false, false}, full_syn()),
            (Negotiated{1460, 0, 0, false, false}));
}

// RFC 9293 §3.7.1 / RFC 1122 §4.2.2.6: no MSS option means 536; the smaller MSS wins.
TEST(TcpOptions, AbsentMssIs536AndTheSmallerMssWins) {
  auto s = full_syn();
  s.max_seg_size.reset();
  EXPECT_EQ(tcp::negotiate(local(), s).send_mss, 536);
  EXPECT_EQ(tcp::negotiate(local(576), s).send_mss, 536);
  EXPECT_EQ(tcp::negotiate(local(500), s).send_mss, 460);
  s.max_seg_size = 8960;
  EXPECT_EQ(tcp::negotiate(local(1500), s).send_mss, 1460);
  s.max_seg_size = 1400;
  EXPECT_EQ(tcp::negotiate(local(9000), s).send_mss, 1400);
  // Linux's tcp_min_snd_mss: a tiny advertised MSS is floored at 48.
  s.max_seg_size = 1;
  EXPECT_EQ(tcp::negotiate(local(), s).send_mss, 48);
}

// RFC 7323 §2.3: a shift above 14 is used as 14.
TEST(TcpOptions, Shift15IsTakenAs14) {
  auto s = full_syn();
  s.window_scale = 15;
  EXPECT_EQ(tcp::negotiate(local(), s).snd_wscale, 14);
  s.window_scale = 255;
  EXPECT_EQ(tcp::negotiate(local(), s).snd_wscale, 14);
  s.window_scale = 14;
  EXPECT_EQ(tcp::negotiate(local(), s).snd_wscale, 14);
}

// RFC 7323 §5.4: 1 ms ticks, modulo 2^32.
TEST(TcpOptions, TsClockCountsMillisecondsAndWraps) {
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(0)), 0U);
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(999)), 0U);
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(1000)), 1U);
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(123'456'789)), 123'456U);
  constexpr std::int64_t wrap_us = (std::int64_t{1} << 32) * 1000;
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(wrap_us - 1000)), 0xffffffffU);
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(wrap_us)), 0U);
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(wrap_us + 5000)), 5U);
  EXPECT_EQ(tcp::ts_clock(instant_from_micros(-1000)), 0xffffffffU);
}

const Instant t0 = instant_from_micros(1'000'000);

// RFC 7323 §5.3 R1: SEG.TSval < TS.Recent is rejected; equal or later is accepted.
TEST(Paws, OlderTimestampIsRejectedEqualOrNewerAccepted) {
  EXPECT_TRUE(tcp::paws_rejects(999, 1000, t0, t0 + 1s, false));
  EXPECT_TRUE(tcp::paws_rejects(0, 1000, t0, t0 + 1s, false));
  EXPECT_FALSE(tcp::paws_rejects(1000, 1000, t0, t0 + 1s, false));
  EXPECT_FALSE(tcp::paws_rejects(1001, 1000, t0, t0 + 1s, false));
}

// RFC 7323 §5.2: timestamps compare modulo 2^32, as sequence numbers.
TEST(Paws, ComparisonWrapsAround) {
  EXPECT_FALSE(tcp::paws_rejects(5, 0xfffffff0U, t0, t0 + 1s, false));  // after the wrap
  EXPECT_TRUE(tcp::paws_rejects(0xfffffff0U, 5, t0, t0 + 1s, false));   // before it
  EXPECT_FALSE(tcp::paws_rejects(0x7fffffffU, 0, t0, t0 + 1s, false));  // 2^31 - 1 ahead
  EXPECT_TRUE(tcp::paws_rejects(0x80000001U, 0, t0, t0 + 1s, false));   // 2^31 - 1 behind
}

// RFC 7323 §5.5: TS.Recent older than 24 days is invalid, and the segment accepted.
TEST(Paws, TsRecentOlderThan24DaysIsInvalid) {
  const auto days24 = std::chrono::hours(24 * 24);
  EXPECT_TRUE(tcp::paws_rejects(1, 1000, t0, t0 + days24, false));
  EXPECT_FALSE(tcp::paws_rejects(1, 1000, t0, t0 + days24 + 1us, false));
}

// RFC 7323 §5.3 R1: only a segment with the RST bit clear is rejected (Linux too accepts a RST
// that fails PAWS, tcp_validate_incoming).
TEST(Paws, ResetIsNeverRejected) {
  EXPECT_FALSE(tcp::paws_rejects(999, 1000, t0, t0 + 1s, true));
  EXPECT_FALSE(tcp::paws_rejects(0x80000001U, 0, t0, t0, true));
}

// RFC 7323 §4.3 (2): SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent -> record; §5.5: an
// invalid TS.Recent is replaced whatever its value.
TEST(Paws, TsRecentUpdateRule) {
  const SeqNum last_ack(5000);
  EXPECT_TRUE(tcp::update_ts_recent(1001, SeqNum(5000), last_ack, 1000, t0, t0 + 1s));
  EXPECT_TRUE(tcp::update_ts_recent(1000, SeqNum(4000), last_ack, 1000, t0, t0 + 1s));
  EXPECT_FALSE(tcp::update_ts_recent(1001, SeqNum(5001), last_ack, 1000, t0, t0 + 1s));
  EXPECT_FALSE(tcp::update_ts_recent(999, SeqNum(5000), last_ack, 1000, t0, t0 + 1s));
  // Sequence numbers wrap too.
  EXPECT_TRUE(tcp::update_ts_recent(2, SeqNum(0xfffffff0U), SeqNum(16), 1, t0, t0 + 1s));
  // A TS.Recent older than 24 days is replaced by an older-looking value.
  EXPECT_TRUE(tcp::update_ts_recent(999, SeqNum(5000), last_ack, 1000, t0,
                                    t0 + std::chrono::hours(24 * 24) + 1s));
}

}  // namespace
}  // namespace tapir::test
