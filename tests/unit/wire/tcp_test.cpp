// TCP codec: the four kinds of wire test (captured bytes, setters, parse, emit into 0xA5), the
// Linux option layouts, and every rejection path of check() and of the option walk.
#include "stack/wire/tcp.hpp"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::wire {

void PrintTo(SeqNum s, std::ostream* os) {
  *os << s.value();
}

void PrintTo(const TcpRepr& r, std::ostream* os) {
  *os << "{" << r.src_port << ">" << r.dst_port << " seq " << r.seq_number.value();
  if (r.ack_number) *os << " ack " << r.ack_number->value();
  *os << " flags 0x" << std::hex << unsigned{r.flags()} << std::dec << " win " << r.window_len;
  if (r.urgent_pointer) *os << " urp " << *r.urgent_pointer;
  if (r.max_seg_size) *os << " mss " << *r.max_seg_size;
  if (r.window_scale) *os << " wscale " << unsigned{*r.window_scale};
  if (r.sack_permitted) *os << " sackOK";
  if (r.timestamps) *os << " TS " << r.timestamps->tsval << "/" << r.timestamps->tsecr;
  for (const auto& b : r.sacks())
    *os << " sack " << b.left.value() << ":" << b.right.value();
  *os << " len " << r.payload_len << "}";
}

namespace {

using test::from_hex;
using test::poisoned;
using test::to_hex;

// Captured with tcpdump on a veth between two network namespaces (Linux 6.18, checksum offload
// off so the checksums on the wire are final), 10.77.0.1 ("A", the client) and 10.77.0.2 ("B").
const Ipv4Address kA(10, 77, 0, 1);
const Ipv4Address kB(10, 77, 0, 2);

// A -> B SYN: options [mss 1460,sackOK,TS val 437996661 ecr 0,nop,wscale 10].
const auto kSyn = from_hex(
    "ddf4 1388 558f12ee 00000000 a002 faf0 77e5 0000"
    "020405b4 0402 080a1a1b4c7500000000 01 03030a");
// B -> A SYN-ACK: options [mss 1460,sackOK,TS val 1761925653 ecr 437996661,nop,wscale 10].
const auto kSynAck = from_hex(
    "1388 ddf4 f04daafd 558f12ef a012 fe88 95d6 0000"
    "020405b4 0402 080a6904da151a1b4c75 01 03030a");
// A -> B ACK completing the handshake: options [nop,nop,TS val 437996661 ecr 1761925653].
const auto kAck = from_hex(
    "ddf4 1388 558f12ef f04daafe 8010 003f c2ef 0000"
    "0101 080a1a1b4c756904da15");
// A -> B PSH|ACK with 12 bytes "hello tapir\n".
const auto kData = from_hex(
    "ddf4 1388 558f12ef f04daafe 8018 003f 2814 0000"
    "0101 080a1a1b4c756904da15"
    "68656c6c6f2074617069720a");
// A -> B FIN|ACK.
const auto kFin = from_hex(
    "ddf4 1388 558f12fb f04daafe 8011 003f c2e2 0000"
    "0101 080a1a1b4c756904da15");
// B -> A RST|ACK answering a SYN to a closed port: seq 0, no options.
const auto kRst = from_hex("1770 a1d4 00000000 a636f5b3 5014 0000 4605 0000");
// A -> B SYN with net.ipv4.tcp_timestamps=0: [mss 1460,nop,nop,sackOK,nop,wscale 10].
const auto kSynNoTs = from_hex(
    "a1d6 1770 ca80afef 00000000 8002 faf0 2bca 0000"
    "020405b4 0101 0402 01 03030a");
// A -> B SYN with net.ipv4.tcp_sack=0: [mss 1460,nop,nop,TS val 410049289 ecr 0,nop,wscale 10].
const auto kSynNoSack = from_hex(
    "a1e6 1770 44e8a15f 00000000 a002 faf0 a858 0000"
    "020405b4 0101 080a1870db0900000000 01 03030a");
// A -> B SYN with tcp_sack, tcp_timestamps and tcp_window_scaling all 0: [mss 1460].
const auto kSynMssOnly = from_hex(
    "a1f2 1770 e9281c48 00000000 6002 faf0 c9c5 0000"
    "020405b4");
// B -> A (port 5001 to 43692) during a bulk transfer with loss: options
// [nop,nop,TS val 637715714 ecr 3856250085,nop,nop,sack 1 {...}].
const auto kSack1 = from_hex(
    "1389 aaac ecb2629c 62c22f4b b010 004e d151 0000"
    "0101 080a2602c502e5d9b4e5 0101 050a 62c234f3 62c23a9b");
// The same flow, two SACK blocks: [nop,nop,TS ...,nop,nop,sack 2 {...}{...}].
const auto kSack2 = from_hex(
    "1389 aaac ecb2629c 62c7f303 d010 020b 5e30 0000"
    "0101 080a2602c504e5d9b4e7 0101 0512 62c814f3 62c81a9b 62c7f8ab 62c80f4b");

struct Captured {
  const char* name;
  const std::vector<std::byte>* bytes;
  Ipv4Address src;
  Ipv4Address dst;
};

const Captured kCaptured[] = {
    {"syn", &kSyn, kA, kB},
    {"syn_ack", &kSynAck, kB, kA},
    {"ack", &kAck, kA, kB},
    {"data", &kData, kA, kB},
    {"fin", &kFin, kA, kB},
    {"rst", &kRst, kB, kA},
    {"syn_no_ts", &kSynNoTs, kA, kB},
    {"syn_no_sack", &kSynNoSack, kA, kB},
    {"syn_mss_only", &kSynMssOnly, kA, kB},
    {"sack1", &kSack1, kB, kA},
    {"sack2", &kSack2, kB, kA},
};

Result<TcpRepr> parse(Bytes segment, Ipv4Address src = kA, Ipv4Address dst = kB,
                      ChecksumPolicy policy = ChecksumPolicy::all()) {
  return TcpRepr::parse(TcpView(segment), src, dst, policy);
}

Result<TcpRepr> parse_unchecked(Bytes segment) {
  return parse(segment, kA, kB, ChecksumPolicy::none());
}

// Emits repr into a 0xA5 buffer the way the stack does: payload copied in first (the checksum
// covers it), then the header.
std::vector<std::byte> emit(const TcpRepr& repr, Bytes payload, Ipv4Address src = kA,
                            Ipv4Address dst = kB, ChecksumPolicy policy = ChecksumPolicy::all()) {
  auto buf = poisoned(repr.buffer_len());
  EXPECT_EQ(payload.size(), repr.payload_len);
  std::copy(payload.begin(), payload.end(),
            buf.begin() + static_cast<std::ptrdiff_t>(repr.header_len()));
  repr.emit(TcpViewMut(buf), src, dst, policy);
  return buf;
}

// A 20-byte header (ports 1 -> 2, no options, ACK) with the options bytes appended and Data
// Offset set to match; checksum left zero (parse with ChecksumPolicy::none()).
std::vector<std::byte> with_options(std::string_view options_hex) {
  auto seg = from_hex("0001 0002 00000001 00000000 5010 1000 0000 0000");
  const auto opts = from_hex(options_hex);
  seg.insert(seg.end(), opts.begin(), opts.end());
  EXPECT_EQ(seg.size() % 4, 0U);
  seg[12] = static_cast<std::byte>((seg.size() / 4) << 4U);
  return seg;
}

std::vector<TcpOptionKind> kinds_of(const TcpView& view) {
  std::vector<TcpOptionKind> kinds;
  for (const auto& opt : view.option_list()) {
    EXPECT_TRUE(opt);
    if (opt) kinds.push_back(opt->kind);
  }
  return kinds;
}

// --- Decoding captured Linux bytes ----------------------------------------------------------

TEST(Tcp, DecodesCapturedSyn) {
  auto view = TcpView::checked(kSyn);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->src_port(), 56820);
  EXPECT_EQ(view->dst_port(), 5000);
  EXPECT_EQ(view->seq_number(), SeqNum(1435439854));
  EXPECT_EQ(view->ack_number(), SeqNum(0));
  EXPECT_EQ(view->header_len(), 40U);
  EXPECT_EQ(view->reserved(), 0);
  EXPECT_EQ(view->flags(), static_cast<std::uint8_t>(TcpFlag::Syn));
  EXPECT_TRUE(view->syn());
  EXPECT_FALSE(view->ack() || view->fin() || view->rst() || view->psh() || view->urg() ||
               view->ece() || view->cwr());
  EXPECT_EQ(view->window_len(), 64240);
  EXPECT_EQ(view->checksum(), 0x77e5);
  EXPECT_EQ(view->urgent_pointer(), 0);
  EXPECT_EQ(view->options().size(), 20U);
  EXPECT_TRUE(view->payload().empty());
  EXPECT_TRUE(view->verify_checksum(kA, kB));
  EXPECT_FALSE(view->verify_checksum(kB, Ipv4Address(10, 77, 0, 3)));
  EXPECT_EQ(kinds_of(*view),
            (std::vector<TcpOptionKind>{TcpOptionKind::Mss, TcpOptionKind::SackPermitted,
                                        TcpOptionKind::Timestamps, TcpOptionKind::Nop,
                                        TcpOptionKind::WindowScale}));
}

TEST(Tcp, DecodesCapturedDataSegment) {
  auto view = TcpView::checked(kData);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->header_len(), 32U);
  EXPECT_TRUE(view->psh() && view->ack());
  EXPECT_EQ(view->ack_number(), SeqNum(4031621886));
  EXPECT_EQ(view->window_len(), 63);
  EXPECT_EQ(kinds_of(*view), (std::vector<TcpOptionKind>{TcpOptionKind::Nop, TcpOptionKind::Nop,
                                                         TcpOptionKind::Timestamps}));
  ASSERT_EQ(view->payload().size(), 12U);
  EXPECT_EQ(to_hex(view->payload()), "68656c6c6f2074617069720a");  // "hello tapir\n"
  EXPECT_TRUE(view->verify_checksum(kA, kB));
}

TEST(Tcp, OptionIteratorYieldsOptionData) {
  const TcpView view(kSack2);
  std::vector<TcpOption> opts;
  for (const auto& opt : view.option_list()) {
    ASSERT_TRUE(opt);
    opts.push_back(*opt);
  }
  ASSERT_EQ(opts.size(), 6U);
  EXPECT_EQ(opts[2].kind, TcpOptionKind::Timestamps);
  EXPECT_EQ(to_hex(opts[2].data), "2602c504e5d9b4e7");
  EXPECT_EQ(opts[5].kind, TcpOptionKind::Sack);
  EXPECT_EQ(to_hex(opts[5].data), "62c814f362c81a9b62c7f8ab62c80f4b");
}

// --- Building with setters --------------------------------------------------------------------

TEST(Tcp, BuildsWithSetters) {
  auto buf = poisoned(kData.size());
  TcpViewMut view(buf);
  view.set_src_port(56820);
  view.set_dst_port(5000);
  view.set_seq_number(SeqNum(1435439855));
  view.set_ack_number(SeqNum(4031621886));
  view.set_header_len(32);
  view.set_flags(0);
  view.set_flag(TcpFlag::Psh, true);
  view.set_flag(TcpFlag::Ack, true);
  view.set_window_len(63);
  view.set_urgent_pointer(0);
  const auto opts = from_hex("0101 080a1a1b4c756904da15");
  std::copy(opts.begin(), opts.end(), view.options().begin());
  const auto payload = from_hex("68656c6c6f2074617069720a");
  std::copy(payload.begin(), payload.end(), view.payload().begin());
  view.fill_checksum(kA, kB);
  EXPECT_EQ(to_hex(buf), to_hex(kData));
}

TEST(Tcp, SetFlagClearsOneBit) {
  auto buf = kFin;
  TcpViewMut view(buf);
  view.set_flag(TcpFlag::Fin, false);
  EXPECT_EQ(view.flags(), static_cast<std::uint8_t>(TcpFlag::Ack));
  view.set_flag(TcpFlag::Cwr, true);
  EXPECT_TRUE(view.cwr());
}

TEST(Tcp, SetHeaderLenZeroesReservedBits) {
  // RFC 9293 §3.1: the reserved bits must be zero in generated segments.
  auto buf = poisoned(24);
  TcpViewMut(buf).set_header_len(24);
  EXPECT_EQ(buf[12], std::byte{0x60});
}

// --- Parsing to a repr ------------------------------------------------------------------------

TEST(Tcp, ParsesSynToRepr) {
  auto repr = parse(kSyn);
  ASSERT_TRUE(repr);
  TcpRepr want;
  want.src_port = 56820;
  want.dst_port = 5000;
  want.seq_number = SeqNum(1435439854);
  want.syn = true;
  want.window_len = 64240;
  want.max_seg_size = 1460;
  want.sack_permitted = true;
  want.timestamps = TcpTimestamps{437996661, 0};
  want.window_scale = 10;
  EXPECT_EQ(*repr, want);
  // RFC 9293 §3.1: without ACK the acknowledgment number carries nothing.
  EXPECT_FALSE(repr->ack_number);
  EXPECT_FALSE(repr->urgent_pointer);
}

TEST(Tcp, ParsesSynAckToRepr) {
  auto repr = parse(kSynAck, kB, kA);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (TcpRepr{.src_port = 5000,
                            .dst_port = 56820,
                            .seq_number = SeqNum(4031621885),
                            .ack_number = SeqNum(1435439855),
                            .syn = true,
                            .window_len = 65160,
                            .max_seg_size = 1460,
                            .window_scale = 10,
                            .sack_permitted = true,
                            .timestamps = TcpTimestamps{1761925653, 437996661}}));
}

TEST(Tcp, ParsesDataSegmentToRepr) {
  auto repr = parse(kData);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (TcpRepr{.src_port = 56820,
                            .dst_port = 5000,
                            .seq_number = SeqNum(1435439855),
                            .ack_number = SeqNum(4031621886),
                            .psh = true,
                            .window_len = 63,
                            .timestamps = TcpTimestamps{437996661, 1761925653},
                            .payload_len = 12}));
}

TEST(Tcp, ParsesFinAndRstToRepr) {
  auto fin = parse(kFin);
  ASSERT_TRUE(fin);
  EXPECT_TRUE(fin->fin);
  EXPECT_EQ(fin->ack_number, SeqNum(4031621886));
  EXPECT_EQ(fin->seq_number, SeqNum(1435439867));

  auto rst = parse(kRst, kB, kA);
  ASSERT_TRUE(rst);
  EXPECT_EQ(*rst, (TcpRepr{.src_port = 6000,
                           .dst_port = 41428,
                           .seq_number = SeqNum(0),
                           .ack_number = SeqNum(2788619699),
                           .rst = true}));
}

TEST(Tcp, ParsesSackBlocksToRepr) {
  auto one = parse(kSack1, kB, kA);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->sack_count, 1U);
  EXPECT_EQ(one->sack_blocks[0], (SackBlock{SeqNum(0x62c234f3), SeqNum(0x62c23a9b)}));
  EXPECT_EQ(one->timestamps, (TcpTimestamps{0x2602c502, 0xe5d9b4e5}));

  auto two = parse(kSack2, kB, kA);
  ASSERT_TRUE(two);
  ASSERT_EQ(two->sack_count, 2U);
  // RFC 2018 §4: the first block reports the most recently received data.
  EXPECT_EQ(two->sacks()[0], (SackBlock{SeqNum(0x62c814f3), SeqNum(0x62c81a9b)}));
  EXPECT_EQ(two->sacks()[1], (SackBlock{SeqNum(0x62c7f8ab), SeqNum(0x62c80f4b)}));
  EXPECT_EQ(two->ack_number, SeqNum(0x62c7f303));
}

TEST(Tcp, ParsesLinuxSynVariants) {
  auto no_ts = parse(kSynNoTs);
  ASSERT_TRUE(no_ts);
  EXPECT_TRUE(no_ts->sack_permitted);
  EXPECT_FALSE(no_ts->timestamps);
  EXPECT_EQ(no_ts->window_scale, 10);

  auto no_sack = parse(kSynNoSack);
  ASSERT_TRUE(no_sack);
  EXPECT_FALSE(no_sack->sack_permitted);
  EXPECT_EQ(no_sack->timestamps, (TcpTimestamps{410049289, 0}));

  auto mss_only = parse(kSynMssOnly);
  ASSERT_TRUE(mss_only);
  EXPECT_EQ(mss_only->max_seg_size, 1460);
  EXPECT_FALSE(mss_only->window_scale || mss_only->timestamps || mss_only->sack_permitted);
}

TEST(Tcp, IgnoresAckFieldWithoutAckFlag) {
  // RFC 9293 §3.1: the acknowledgment number is meaningful only when ACK is set.
  auto seg = kSyn;
  store_be32(seg, 8, 0xdeadbeef);
  auto repr = parse_unchecked(seg);
  ASSERT_TRUE(repr);
  EXPECT_FALSE(repr->ack_number);
}

TEST(Tcp, UrgentPointerPresentOnlyWithUrg) {
  // RFC 9293 §3.1: the urgent pointer is interpreted only when URG is set.
  auto seg = kData;
  store_be16(seg, 18, 5);
  auto without = parse_unchecked(seg);
  ASSERT_TRUE(without);
  EXPECT_FALSE(without->urgent_pointer);
  seg[13] |= std::byte{0x20};
  auto with = parse_unchecked(seg);
  ASSERT_TRUE(with);
  EXPECT_EQ(with->urgent_pointer, 5);
}

TEST(Tcp, IgnoresReservedBitsOnReceive) {
  // RFC 9293 §3.1: reserved bits must be ignored in received segments.
  auto seg = kData;
  seg[12] |= std::byte{0x0f};
  const TcpView view(seg);
  EXPECT_EQ(view.reserved(), 0x0f);
  EXPECT_EQ(view.header_len(), 32U);
  auto with = parse_unchecked(seg);
  auto without = parse_unchecked(kData);
  ASSERT_TRUE(with && without);
  EXPECT_EQ(*with, *without);
}

TEST(Tcp, ParsesEceAndCwr) {
  auto seg = kAck;
  seg[13] = std::byte{0xd0};  // CWR ECE ACK
  auto repr = parse_unchecked(seg);
  ASSERT_TRUE(repr);
  EXPECT_TRUE(repr->ece && repr->cwr);
  EXPECT_EQ(repr->flags(), 0xd0);
}

TEST(Tcp, SkipsUnknownOptionsByLength) {
  // RFC 9293 §3.2: an option of unknown kind is skipped using its length.
  auto repr = parse_unchecked(with_options("fe06 01020304 020405b4 0000"));
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->max_seg_size, 1460);
}

TEST(Tcp, EndOfOptionListEndsTheList) {
  // RFC 9293 §3.2: End of Option List ends the list; what follows is padding, never parsed
  // (here bytes that would be a malformed MSS).
  const auto seg = with_options("01 00 0203 ffffffff");
  EXPECT_TRUE(TcpView(seg).check());
  EXPECT_EQ(kinds_of(TcpView(seg)),
            (std::vector<TcpOptionKind>{TcpOptionKind::Nop, TcpOptionKind::End}));
  auto repr = parse_unchecked(seg);
  ASSERT_TRUE(repr);
  EXPECT_FALSE(repr->max_seg_size);
}

TEST(Tcp, RepeatedOptionKeepsLastValue) {
  auto repr = parse_unchecked(with_options("020405b4 02040218"));
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->max_seg_size, 536);
}

TEST(Tcp, AcceptsFourSackBlocks) {
  // RFC 2018 §3: at most 4 blocks fit in the 40 bytes of options.
  auto repr = parse_unchecked(with_options(
      "0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008"));
  ASSERT_TRUE(repr);
  ASSERT_EQ(repr->sack_count, 4U);
  EXPECT_EQ(repr->sack_blocks[3], (SackBlock{SeqNum(7), SeqNum(8)}));
}

TEST(Tcp, ParseWithoutVerifyAcceptsBadChecksum) {
  auto seg = kData;
  seg[16] ^= std::byte{0xff};
  EXPECT_TRUE(parse_unchecked(seg));
}

// --- Emitting into 0xA5 -----------------------------------------------------------------------

TEST(Tcp, EmitsCapturedSegmentsByteForByte) {
  // Linux's tcp_options_write() layout: every captured segment re-emits to identical bytes.
  for (const auto& c : kCaptured) {
    SCOPED_TRACE(c.name);
    const Bytes segment(*c.bytes);
    auto repr = parse(segment, c.src, c.dst);
    ASSERT_TRUE(repr) << repr.error().message();
    EXPECT_EQ(repr->header_len(), TcpView(segment).header_len());
    ASSERT_EQ(repr->buffer_len(), segment.size());
    const auto out = emit(*repr, TcpView(segment).payload(), c.src, c.dst);
    EXPECT_EQ(to_hex(out), to_hex(segment));
  }
}

TEST(Tcp, EmitsSynWithLinuxOptionLayout) {
  const TcpRepr syn{.src_port = 56820,
                    .dst_port = 5000,
                    .seq_number = SeqNum(1435439854),
                    .syn = true,
                    .window_len = 64240,
                    .max_seg_size = 1460,
                    .window_scale = 10,
                    .sack_permitted = true,
                    .timestamps = TcpTimestamps{437996661, 0}};
  EXPECT_EQ(syn.header_len(), 40U);
  EXPECT_EQ(to_hex(emit(syn, {})), to_hex(kSyn));
}

TEST(Tcp, EmitsNopNopSackPermittedWithoutTimestamps) {
  const TcpRepr r{.sack_permitted = true};
  const auto out = emit(r, {}, kA, kB, ChecksumPolicy::none());
  EXPECT_EQ(to_hex(Bytes(out).subspan(20)), "01010402");
}

TEST(Tcp, EmitsSackBlocksAfterTimestamps) {
  TcpRepr r{.ack_number = SeqNum(1), .timestamps = TcpTimestamps{1, 2}};
  r.sack_blocks = {SackBlock{SeqNum(10), SeqNum(20)}, SackBlock{SeqNum(30), SeqNum(40)},
                   SackBlock{SeqNum(50), SeqNum(60)}};
  r.sack_count = 3;
  EXPECT_EQ(r.header_len(), 60U);
  const auto out = emit(r, {}, kA, kB, ChecksumPolicy::none());
  EXPECT_EQ(to_hex(Bytes(out).subspan(20)),
            "0101080a0000000100000002"
            "0101051a0000000a000000140000001e00000028000000320000003c");
}

TEST(Tcp, EmitsPackedLayoutWhenLinuxLayoutExceedsFortyBytes) {
  // Timestamps, window scale and 3 SACK blocks take 39 bytes packed, 44 with Linux's NOPs.
  const auto seg = with_options(
      "080a 00000001 00000002 030307 051a 0000000a 00000014 0000001e 00000028 00000032 0000003c "
      "00");
  auto repr = parse_unchecked(seg);
  ASSERT_TRUE(repr);
  ASSERT_EQ(repr->sack_count, 3U);
  EXPECT_EQ(repr->header_len(), 60U);
  const auto out = emit(*repr, {}, kA, kB, ChecksumPolicy::none());
  EXPECT_EQ(to_hex(Bytes(out).subspan(20)), to_hex(Bytes(seg).subspan(20)));
  auto again = parse_unchecked(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *repr);
}

TEST(Tcp, EmitWritesZeroChecksumWithoutFill) {
  auto repr = parse(kData);
  ASSERT_TRUE(repr);
  const auto out = emit(*repr, TcpView(kData).payload(), kA, kB, ChecksumPolicy::none());
  EXPECT_EQ(TcpView(out).checksum(), 0);
  auto expected = kData;
  store_be16(expected, 16, 0);
  EXPECT_EQ(to_hex(out), to_hex(expected));
}

TEST(Tcp, EmitWritesReservedBitsZero) {
  // RFC 9293 §3.1: the reserved bits must be zero in generated segments.
  auto seg = kData;
  seg[12] |= std::byte{0x0f};
  auto repr = parse_unchecked(seg);
  ASSERT_TRUE(repr);
  const auto out = emit(*repr, TcpView(seg).payload());
  EXPECT_EQ(to_hex(out), to_hex(kData));
}

TEST(Tcp, EmitsAckAndUrgentFieldsOnlyWithTheirFlags) {
  TcpRepr r{.src_port = 1, .dst_port = 2, .seq_number = SeqNum(3), .fin = true};
  auto out = emit(r, {}, kA, kB, ChecksumPolicy::none());
  EXPECT_EQ(to_hex(out), "0001000200000003000000005001000000000000");
  r.ack_number = SeqNum(9);
  r.urgent_pointer = 7;
  out = emit(r, {}, kA, kB, ChecksumPolicy::none());
  EXPECT_EQ(to_hex(out), "0001000200000003000000095031000000000007");
}

TEST(Tcp, EmitsOnlyIntoTheFirstBufferLenBytes) {
  auto repr = parse(kData);
  ASSERT_TRUE(repr);
  auto buf = poisoned(kData.size() + 8);
  const auto payload = TcpView(kData).payload();
  std::copy(payload.begin(), payload.end(), buf.begin() + 32);
  repr->emit(TcpViewMut(buf), kA, kB, ChecksumPolicy::all());
  EXPECT_EQ(to_hex(Bytes(buf).first(kData.size())), to_hex(kData));
  EXPECT_EQ(to_hex(Bytes(buf).subspan(kData.size())), "a5a5a5a5a5a5a5a5");
}

TEST(Tcp, ReprEqualityIgnoresUnusedSackSlots) {
  TcpRepr a;
  TcpRepr b;
  b.sack_blocks[2] = SackBlock{SeqNum(1), SeqNum(2)};
  EXPECT_EQ(a, b);
  b.sack_count = 3;
  EXPECT_NE(a, b);
}

// --- Rejections -------------------------------------------------------------------------------

TEST(Tcp, RejectsTruncatedHeader) {
  // RFC 9293 §3.1: the fixed header is 20 bytes.
  for (std::size_t len = 0; len < TcpView::min_header_len; ++len) {
    const TcpView view(Bytes(kRst).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(parse(Bytes(kRst).first(len)).error(), Errc::truncated);
  }
  EXPECT_TRUE(TcpView(kRst).check());
}

TEST(Tcp, RejectsHeaderLenBelowFive) {
  // RFC 9293 §3.1: Data Offset is the header length in 32-bit words; minimum 5.
  for (unsigned words = 0; words < 5; ++words) {
    auto seg = kRst;
    seg[12] = static_cast<std::byte>(words << 4U);
    EXPECT_EQ(TcpView(seg).check().error(), Errc::bad_header_len) << "words " << words;
    EXPECT_EQ(parse_unchecked(seg).error(), Errc::bad_header_len);
  }
}

TEST(Tcp, RejectsHeaderLenPastBuffer) {
  // The options Data Offset promises are cut off.
  for (std::size_t len = 20; len < kSyn.size(); ++len) {
    EXPECT_EQ(TcpView(Bytes(kSyn).first(len)).check().error(), Errc::truncated) << len;
  }
  auto seg = kRst;
  seg[12] = std::byte{0xf0};  // 60 bytes of header in a 20-byte buffer
  EXPECT_EQ(parse_unchecked(seg).error(), Errc::truncated);
}

TEST(Tcp, RejectsSegmentLongerThanTcpLengthField) {
  // RFC 9293 §3.1: the pseudo-header's TCP length is 16 bits.
  std::vector<std::byte> seg(TcpView::max_segment_len + 1);
  std::copy(kRst.begin(), kRst.end(), seg.begin());
  EXPECT_EQ(TcpView(seg).check().error(), Errc::bad_length);
  seg.pop_back();
  EXPECT_TRUE(TcpView(seg).check());
}

TEST(Tcp, RejectsBadChecksum) {
  // RFC 9293 §3.1: the checksum covers the pseudo-header, the header and the data.
  auto seg = kData;
  seg.back() ^= std::byte{0x01};
  EXPECT_EQ(parse(seg).error(), Errc::bad_checksum);
  EXPECT_EQ(parse(kData, kA, Ipv4Address(10, 77, 0, 9)).error(), Errc::bad_checksum);
}

struct BadOption {
  const char* what;
  const char* options_hex;
};

// RFC 9293 §3.2: an option's length counts kind and length octets, is at least 2 and stays
// inside the options area; a known option has its defined length (RFC 9293 §3.2 MSS 4,
// RFC 7323 §2.2 window scale 3, §3.2 timestamps 10, RFC 2018 SACK-permitted 2, SACK 2+8n).
const BadOption kBadOptions[] = {
    {"length zero", "fe00 0000"},
    {"length one", "fe01 0000"},
    {"length past the area", "0101 fe08"},
    {"kind with no length octet", "010101 02"},
    {"mss length 3", "020305 00"},
    {"mss length 5", "020505b400 000000"},
    {"mss length past the area", "0101 0204"},
    {"window scale length 2", "0302 0000"},
    {"window scale length 4", "03040700"},
    {"sack-permitted length 3", "040300 00"},
    {"timestamps length 8", "0808 00000001 00000002 0000"},
    {"timestamps length 12", "080c 00000001 00000002 0000"},
    {"sack length 2", "0502 0000"},
    {"sack length 9", "0509 00000001 00000002 0000"},
    {"sack length 11", "050b 00000001 00000002 0000"},
    {"sack length 18 past the area", "0101 0512 00000001 00000002"},
};

TEST(Tcp, RejectsMalformedOptions) {
  for (const auto& bad : kBadOptions) {
    SCOPED_TRACE(bad.what);
    const auto seg = with_options(bad.options_hex);
    const TcpView view(seg);
    EXPECT_EQ(view.check().error(), Errc::bad_option);
    EXPECT_EQ(parse_unchecked(seg).error(), Errc::bad_option);
    // The walk yields the error once, then ends.
    std::size_t errors = 0;
    std::size_t steps = 0;
    for (const auto& opt : view.option_list()) {
      ++steps;
      if (!opt) {
        ++errors;
        EXPECT_EQ(opt.error(), Errc::bad_option);
      }
    }
    EXPECT_EQ(errors, 1U);
    EXPECT_LE(steps, 10U);
  }
}

TEST(Tcp, OptionWalkStaysInsideAnyPrefix) {
  // Every prefix of every captured options area: the walk ends, never reading past it.
  for (const auto& c : kCaptured) {
    const auto area = TcpView(*c.bytes).options();
    for (std::size_t len = 0; len <= area.size(); ++len) {
      std::size_t steps = 0;
      for ([[maybe_unused]] const auto& opt : TcpOptionRange(area.first(len)))
        ++steps;
      EXPECT_LE(steps, len);
    }
  }
}

// --- Captures ---------------------------------------------------------------------------------

// The TCP segments of a capture of Ethernet frames, found by hand (IPv4 at offset 14, its IHL
// and Total Length) so that this test does not depend on the IPv4 codec.
struct CapturedSegment {
  std::vector<std::byte> bytes;
  Ipv4Address src;
  Ipv4Address dst;
};

std::vector<CapturedSegment> tcp_segments(const test::Capture& capture) {
  std::vector<CapturedSegment> out;
  for (const auto& frame : capture.frames) {
    const Bytes f = frame.span();
    if (f.size() < 34 || load_be16(f, 12) != 0x0800) continue;
    const Bytes ip = f.subspan(14);
    const std::size_t ihl = std::size_t{load_u8(ip, 0) & 0x0fU} * 4;
    const std::size_t total = load_be16(ip, 2);
    if (load_u8(ip, 9) != TcpView::protocol_number) continue;
    if (total > ip.size() || ihl > total) {
      ADD_FAILURE() << "frame cut short in capture";
      continue;
    }
    const Bytes seg = ip.subspan(ihl, total - ihl);
    out.push_back({{seg.begin(), seg.end()},
                   Ipv4Address::from_bytes(ip, 12),
                   Ipv4Address::from_bytes(ip, 16)});
  }
  return out;
}

// Every TCP segment of the capture parses (checksum verified) and re-emits into 0xA5 to
// identical bytes; *reprs receives them in capture order.
void check_capture_round_trips(const char* name, std::vector<TcpRepr>* reprs) {
  if (!std::filesystem::exists(test::capture_path(name))) {
    GTEST_SKIP() << name << " not captured yet";
  }
  const auto segments = tcp_segments(test::load_capture(name));
  ASSERT_FALSE(segments.empty());
  for (std::size_t i = 0; i < segments.size(); ++i) {
    SCOPED_TRACE(testing::Message() << name << " segment " << i);
    const auto& s = segments[i];
    auto repr = parse(s.bytes, s.src, s.dst);
    ASSERT_TRUE(repr) << repr.error().message();
    reprs->push_back(*repr);
    const auto out = emit(*repr, TcpView(s.bytes).payload(), s.src, s.dst);
    EXPECT_EQ(to_hex(out), to_hex(s.bytes));
  }
}

TEST(Tcp, CaptureHandshakeDataCloseRoundTrips) {
  std::vector<TcpRepr> reprs;
  check_capture_round_trips("tcp.pcap", &reprs);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_GE(reprs.size(), 3U);
  // The handshake: a SYN and a SYN-ACK, each with Linux's full option set.
  const TcpRepr& syn = reprs[0];
  const TcpRepr& syn_ack = reprs[1];
  EXPECT_TRUE(syn.syn && !syn.ack_number);
  EXPECT_TRUE(syn_ack.syn && syn_ack.ack_number == syn.seq_number + 1);
  for (const TcpRepr* r : {&syn, &syn_ack}) {
    EXPECT_EQ(r->max_seg_size, 1460);
    EXPECT_TRUE(r->sack_permitted);
    EXPECT_TRUE(r->window_scale);
    ASSERT_TRUE(r->timestamps);
  }
  // RFC 7323 §3.2: TSecr is zero without ACK, and the SYN-ACK echoes the SYN's TSval.
  EXPECT_EQ(syn.timestamps->tsecr, 0U);
  EXPECT_EQ(syn_ack.timestamps->tsecr, syn.timestamps->tsval);
  // After the handshake: timestamps on every segment, data both ways, a FIN from each side.
  std::size_t data = 0;
  std::size_t fins = 0;
  for (std::size_t i = 2; i < reprs.size(); ++i) {
    EXPECT_FALSE(reprs[i].syn || reprs[i].max_seg_size || reprs[i].window_scale);
    EXPECT_TRUE(reprs[i].timestamps && reprs[i].ack_number);
    if (reprs[i].payload_len != 0) ++data;
    if (reprs[i].fin) ++fins;
  }
  EXPECT_GE(data, 1U);
  EXPECT_EQ(fins, 2U);
}

TEST(Tcp, CaptureSackRoundTrips) {
  std::vector<TcpRepr> reprs;
  check_capture_round_trips("tcp_sack.pcap", &reprs);
  if (IsSkipped() || HasFatalFailure()) return;
  const auto with_sack =
      std::count_if(reprs.begin(), reprs.end(), [](const TcpRepr& r) { return r.sack_count != 0; });
  EXPECT_GT(with_sack, 0) << "no segment with SACK blocks";
  for (const auto& r : reprs) {
    const auto sacks = r.sacks();
    if (sacks.empty()) continue;
    ASSERT_TRUE(r.ack_number);
    for (std::size_t i = 0; i < sacks.size(); ++i) {
      // RFC 2018 §3: a block is [left, right) of data above the cumulative acknowledgment;
      // RFC 2883 §4: only the first may instead report a duplicate (D-SACK), at or below it.
      EXPECT_LT(sacks[i].left, sacks[i].right);
      if (i > 0 || sacks[i].right > *r.ack_number) {
        EXPECT_GT(sacks[i].left, *r.ack_number);
      }
    }
  }
}

}  // namespace
}  // namespace tapir::wire
