// IPv4 reassembly: a 4000-byte ICMP echo fragmented at 1480 bytes as Linux does (ping -s 3992
// over a 1500-byte MTU), delivered in order, reversed, shuffled and interleaved; every drop rule
// with its counter checked exactly; the timer and its ICMP callback; the bounds; and no
// allocation after construction.
#include "stack/ip/reassembler.hpp"

#include <algorithm>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/checksum.hpp"
#include "stack/base/random.hpp"
#include "tests/support/allocations.hpp"
#include "tests/support/captures.hpp"

namespace tapir::ip {
namespace {

using namespace std::chrono_literals;
using test::counting;
using wire::IpProtocol;
using wire::Ipv4Repr;

const Ipv4Address kHostA(10, 77, 1, 2);
const Ipv4Address kHostB(10, 77, 1, 1);
const Instant kT0 = instant_from_micros(5'000'000);

// One fragment as the stack hands it over: its repr, its raw header bytes and its payload.
struct Fragment {
  Ipv4Repr header;
  std::vector<std::byte> header_bytes;
  std::vector<std::byte> payload;
};

// An ICMP echo request (RFC 792) of `len` bytes: type 8, code 0, checksum, id, seq, then ping's
// counting pattern.
std::vector<std::byte> echo_request(std::size_t len, std::uint16_t seq) {
  auto m = counting(0x10, len);
  m[0] = std::byte{8};
  m[1] = std::byte{0};
  store_be16(m, 2, 0);
  store_be16(m, 4, 0x19c2);
  store_be16(m, 6, seq);
  store_be16(m, 2, internet_checksum(m));
  return m;
}

// The header of the unfragmented datagram.
Ipv4Repr echo_header(std::uint16_t ident, std::size_t payload_len) {
  Ipv4Repr r;
  r.src = kHostA;
  r.dst = kHostB;
  r.protocol = IpProtocol::Icmp;
  r.ttl = 64;
  r.ident = ident;
  r.payload_len = payload_len;
  return r;
}

std::vector<std::byte> emit_header(const Ipv4Repr& r) {
  auto bytes = test::poisoned(r.header_len());
  r.emit(wire::Ipv4ViewMut(bytes), wire::ChecksumPolicy::all());
  return bytes;
}

// One fragment of `whole` (the unfragmented datagram's header) carrying payload[offset, +len).
Fragment make_fragment(const Ipv4Repr& whole, Bytes payload, std::size_t offset, std::size_t len,
                       bool more_frags) {
  Fragment f;
  f.header = whole;
  f.header.frag_offset = static_cast<std::uint16_t>(offset);
  f.header.more_frags = more_frags;
  f.header.payload_len = len;
  f.header_bytes = emit_header(f.header);
  const auto part = payload.subspan(offset, len);
  f.payload.assign(part.begin(), part.end());
  return f;
}

// Splits a datagram the way Linux does: every fragment but the last carries `size` bytes (a
// multiple of 8). RFC 791 §3.2: only the first fragment keeps options not marked "copied"; here
// the later fragments carry no options at all.
std::vector<Fragment> fragment(const Ipv4Repr& whole, Bytes payload, std::size_t size = 1480) {
  std::vector<Fragment> out;
  for (std::size_t off = 0; off < payload.size(); off += size) {
    const std::size_t len = std::min(size, payload.size() - off);
    Ipv4Repr h = whole;
    if (off != 0) h.options = {};
    out.push_back(make_fragment(h, payload, off, len, off + len < payload.size()));
  }
  return out;
}

std::optional<Reassembler::Datagram> feed(Reassembler& r, const Fragment& f, Instant now) {
  return r.on_fragment(f.header, f.header_bytes, f.payload, now);
}

std::vector<std::byte> to_vector(Bytes b) {
  return {b.begin(), b.end()};
}

// The nonzero counters, exactly.
void expect_counters(const Reassembler& r, const std::vector<CounterValue>& expected) {
  EXPECT_EQ(collect_counters(r.counters(), true), expected);
}

// What the datagram's header must be: the first fragment's, frag fields cleared, whole length.
Ipv4Repr reassembled_header(const Fragment& first, std::size_t payload_len) {
  Ipv4Repr h = first.header;
  h.more_frags = false;
  h.frag_offset = 0;
  h.payload_len = payload_len;
  return h;
}

class EchoDatagram {
 public:
  explicit EchoDatagram(std::uint16_t ident = 0x3d0a, std::size_t len = 4000,
                        std::size_t size = 1480)
      : payload_(echo_request(len, ident)),
        header_(echo_header(ident, len)),
        fragments_(fragment(header_, payload_, size)) {}

  const std::vector<std::byte>& payload() const { return payload_; }
  const std::vector<Fragment>& fragments() const { return fragments_; }
  const Fragment& operator[](std::size_t i) const { return fragments_[i]; }

 private:
  std::vector<std::byte> payload_;
  Ipv4Repr header_;
  std::vector<Fragment> fragments_;
};

TEST(Reassembler, SplitsLikeLinux) {
  const EchoDatagram d;
  ASSERT_EQ(d.fragments().size(), 3U);
  EXPECT_EQ(d[0].header.frag_offset, 0);
  EXPECT_TRUE(d[0].header.more_frags);
  EXPECT_EQ(d[1].header.frag_offset, 1480);
  EXPECT_EQ(d[2].header.frag_offset, 2960);
  EXPECT_FALSE(d[2].header.more_frags);
  EXPECT_EQ(d[2].payload.size(), 1040U);
  // The middle fragment's header as Linux writes it: MF set, offset 185 units of 8.
  EXPECT_EQ(test::to_hex(Bytes(d[1].header_bytes).subspan(6, 2)), "20b9");
}

TEST(Reassembler, InOrderFragmentsReassemble) {
  const EchoDatagram d;
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[0], kT0));
  EXPECT_EQ(r.in_use(), 1U);
  EXPECT_EQ(r.bytes_held(), 1480U);
  EXPECT_FALSE(feed(r, d[1], kT0 + 1ms));
  EXPECT_EQ(r.bytes_held(), 2960U);
  const auto out = feed(r, d[2], kT0 + 2ms);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header, reassembled_header(d[0], 4000));
  EXPECT_EQ(to_vector(out->payload), d.payload());
  EXPECT_EQ(internet_checksum(out->payload), 0);  // the ICMP message verifies again
  EXPECT_EQ(r.in_use(), 0U);
  EXPECT_EQ(r.bytes_held(), 0U);
  EXPECT_EQ(r.next_deadline(), kNever);
  expect_counters(r, {{"ipv4.reasm_fragments", 3}, {"ipv4.reasm_ok", 1}});
}

TEST(Reassembler, ReverseOrderFragmentsReassemble) {
  const EchoDatagram d;
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[2], kT0));
  EXPECT_FALSE(feed(r, d[1], kT0));
  const auto out = feed(r, d[0], kT0);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header, reassembled_header(d[0], 4000));
  EXPECT_EQ(to_vector(out->payload), d.payload());
  EXPECT_EQ(r.in_use(), 0U);
  expect_counters(r, {{"ipv4.reasm_fragments", 3}, {"ipv4.reasm_ok", 1}});
}

TEST(Reassembler, ShuffledFragmentsReassemble) {
  // 4000 bytes in 16 fragments of 256, in a seeded random order.
  const EchoDatagram d(0x3d0a, 4000, 256);
  ASSERT_EQ(d.fragments().size(), 16U);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    Random random(seed);
    std::vector<std::size_t> order(d.fragments().size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    for (std::size_t i = order.size() - 1; i > 0; --i)
      std::swap(order[i], order[random.below(static_cast<std::uint32_t>(i + 1))]);

    Reassembler r(ReassemblyConfig{});
    for (std::size_t k = 0; k + 1 < order.size(); ++k)
      EXPECT_FALSE(feed(r, d[order[k]], kT0));
    const auto out = feed(r, d[order.back()], kT0);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->header, reassembled_header(d[0], 4000));
    EXPECT_EQ(to_vector(out->payload), d.payload());
    expect_counters(r, {{"ipv4.reasm_fragments", 16}, {"ipv4.reasm_ok", 1}});
  }
}

TEST(Reassembler, InterleavedDatagramsByIdent) {
  const EchoDatagram a(0x1111);
  const EchoDatagram b(0x2222, 3000);
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, a[1], kT0));
  EXPECT_FALSE(feed(r, b[2], kT0));
  EXPECT_FALSE(feed(r, a[0], kT0));
  EXPECT_FALSE(feed(r, b[0], kT0));
  EXPECT_EQ(r.in_use(), 2U);
  const auto out_b = feed(r, b[1], kT0);
  ASSERT_TRUE(out_b);
  EXPECT_EQ(out_b->header.ident, 0x2222);
  EXPECT_EQ(to_vector(out_b->payload), b.payload());
  EXPECT_EQ(r.in_use(), 1U);
  const auto out_a = feed(r, a[2], kT0);
  ASSERT_TRUE(out_a);
  EXPECT_EQ(out_a->header.ident, 0x1111);
  EXPECT_EQ(to_vector(out_a->payload), a.payload());
  expect_counters(r, {{"ipv4.reasm_fragments", 6}, {"ipv4.reasm_ok", 2}});
}

TEST(Reassembler, KeyedBySourceDestinationProtocolIdent) {
  // RFC 791 §3.2: datagrams are keyed by (src, dst, protocol, ident). Five datagrams with the
  // same ident, each differing from the first in one of the four fields, never mix.
  const auto payload = echo_request(4000, 1);
  std::vector<Ipv4Repr> headers(5, echo_header(0x3d0a, 4000));
  headers[1].src = Ipv4Address(10, 77, 1, 3);
  headers[2].dst = Ipv4Address(10, 77, 1, 4);
  headers[3].protocol = IpProtocol::Udp;
  headers[4].ident = 0x3d0b;
  std::vector<std::vector<std::byte>> payloads;
  std::vector<std::vector<Fragment>> fragments;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    std::vector<std::byte> p(payload.size());
    std::copy(payload.begin(), payload.end(), p.begin());
    p.at(100) = static_cast<std::byte>(i);  // tell them apart
    fragments.push_back(fragment(headers[i], p));
    payloads.push_back(std::move(p));
  }
  Reassembler r(ReassemblyConfig{});
  for (const auto& f : fragments)
    EXPECT_FALSE(feed(r, f[0], kT0));
  for (const auto& f : fragments)
    EXPECT_FALSE(feed(r, f[2], kT0));
  EXPECT_EQ(r.in_use(), 5U);
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    const auto out = feed(r, fragments[i][1], kT0);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->header, reassembled_header(fragments[i][0], 4000));
    EXPECT_EQ(to_vector(out->payload), payloads[i]);
  }
  expect_counters(r, {{"ipv4.reasm_fragments", 15}, {"ipv4.reasm_ok", 5}});
}

TEST(Reassembler, HeaderIsTheFirstFragmentsWithFragFieldsCleared) {
  // RFC 791 §3.2: the header of the fragment at offset 0 is the datagram's header (its options
  // are the datagram's), even when that fragment is not the first to arrive.
  const auto payload = echo_request(4000, 7);
  Ipv4Repr whole = echo_header(0x4242, 4000);
  whole.options = wire::Ipv4Options::from_bytes(test::from_hex("01010100"));  // NOP NOP NOP EOL
  whole.dscp = 10;
  auto frags = fragment(whole, payload);
  frags[1].header.ttl = 61;  // later fragments took another path
  frags[1].header_bytes = emit_header(frags[1].header);
  ASSERT_EQ(frags[0].header_bytes.size(), 24U);
  ASSERT_TRUE(frags[1].header.options.empty());

  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, frags[1], kT0));
  EXPECT_FALSE(feed(r, frags[2], kT0));
  const auto out = feed(r, frags[0], kT0);
  ASSERT_TRUE(out);
  Ipv4Repr expected = whole;  // the unfragmented datagram's header
  EXPECT_EQ(out->header, expected);
  EXPECT_EQ(out->header, reassembled_header(frags[0], 4000));
  EXPECT_EQ(out->header.header_len(), 24U);
  EXPECT_FALSE(out->header.more_frags);
  EXPECT_EQ(out->header.frag_offset, 0);
  EXPECT_EQ(out->header.payload_len, 4000U);
  EXPECT_EQ(out->header.buffer_len(), 4024U);
}

TEST(Reassembler, ExactDuplicatesIgnored) {
  const EchoDatagram d;
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[0], kT0));
  EXPECT_FALSE(feed(r, d[0], kT0));
  EXPECT_EQ(r.bytes_held(), 1480U);  // the duplicate is not held twice
  EXPECT_FALSE(feed(r, d[2], kT0));
  EXPECT_FALSE(feed(r, d[2], kT0));
  EXPECT_FALSE(feed(r, d[0], kT0));
  EXPECT_EQ(r.in_use(), 1U);
  const auto out = feed(r, d[1], kT0);
  ASSERT_TRUE(out);
  EXPECT_EQ(to_vector(out->payload), d.payload());
  expect_counters(r,
                  {{"ipv4.reasm_fragments", 6}, {"ipv4.reasm_ok", 1}, {"ipv4.reasm_duplicate", 3}});
}

TEST(Reassembler, OverlapDropsTheDatagram) {
  // RFC 5722 §4 (applied to IPv4, as Linux does): if any fragment overlaps one already held,
  // the whole datagram is silently discarded.
  const EchoDatagram d;
  const Ipv4Repr whole = echo_header(0x3d0a, 4000);
  // 8 bytes into the first fragment's end.
  const auto overlapping = make_fragment(whole, d.payload(), 1472, 1480, true);
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[0], kT0));
  EXPECT_FALSE(feed(r, d[2], kT0));
  EXPECT_FALSE(feed(r, overlapping, kT0));
  EXPECT_EQ(r.in_use(), 0U);
  EXPECT_EQ(r.bytes_held(), 0U);
  EXPECT_EQ(r.next_deadline(), kNever);
  // The rest starts a new datagram, which lacks fragment zero and never completes.
  EXPECT_FALSE(feed(r, d[1], kT0 + 1s));
  EXPECT_FALSE(feed(r, d[2], kT0 + 1s));
  EXPECT_EQ(r.in_use(), 1U);
  EXPECT_EQ(r.next_deadline(), kT0 + 31s);
  expect_counters(r, {{"ipv4.reasm_fragments", 5}, {"ipv4.reasm_overlap", 1}});
}

TEST(Reassembler, SameOffsetDifferentLengthIsAnOverlap) {
  const EchoDatagram d;
  const Ipv4Repr whole = echo_header(0x3d0a, 4000);
  const auto shorter = make_fragment(whole, d.payload(), 1480, 8, true);
  const auto overlaps_next = make_fragment(whole, d.payload(), 1480, 1488, true);
  {
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, d[1], kT0));
    EXPECT_FALSE(feed(r, shorter, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_overlap", 1}});
  }
  {
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, d[2], kT0));
    EXPECT_FALSE(feed(r, overlaps_next, kT0));  // one block into the last fragment
    EXPECT_EQ(r.in_use(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_overlap", 1}});
  }
}

TEST(Reassembler, DisagreeingEndsDropTheDatagramAsOverlap) {
  // RFC 791 §3.2: the last fragment fixes the datagram's length. Fragments that disagree about
  // it drop the whole datagram, counted as `overlap`.
  const EchoDatagram d;
  const Ipv4Repr whole = echo_header(0x3d0a, 4000);
  const auto other_last = make_fragment(whole, d.payload(), 2960, 1000, false);
  const auto past_end = make_fragment(whole, counting(0, 4008), 4000, 8, true);
  const auto early_last = make_fragment(whole, d.payload(), 1480, 1000, false);
  {
    // A second last fragment with a different end.
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, d[2], kT0));
    EXPECT_FALSE(feed(r, other_last, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_overlap", 1}});
  }
  {
    // A fragment ending past the known end (it overlaps nothing).
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, d[0], kT0));
    EXPECT_FALSE(feed(r, d[2], kT0));
    EXPECT_FALSE(feed(r, past_end, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 3}, {"ipv4.reasm_overlap", 1}});
  }
  {
    // A last fragment ending before bytes already held.
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, d[2], kT0));
    EXPECT_FALSE(feed(r, early_last, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_overlap", 1}});
  }
}

TEST(Reassembler, TooBigDatagramDropped) {
  // RFC 791 §3.1: a datagram is at most 65,535 octets, header included. With a 20-byte header
  // the payload ends at 65515 at most; a last fragment ending at 65516 is too big.
  const auto payload = counting(0, 65536);
  const Ipv4Repr whole = echo_header(0x5555, 65516);
  const auto last = make_fragment(whole, payload, 65512, 4, false);
  const auto middle = make_fragment(whole, payload, 1480, 1480, true);
  {
    // Alone: nothing is held, no slot taken.
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, last, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    EXPECT_EQ(r.bytes_held(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 1}, {"ipv4.reasm_too_big", 1}});
  }
  {
    // After other fragments: the whole datagram is dropped and its slot freed.
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, middle, kT0));
    EXPECT_EQ(r.in_use(), 1U);
    EXPECT_FALSE(feed(r, last, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    EXPECT_EQ(r.bytes_held(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_too_big", 1}});
  }
  {
    // The fragment at offset 0 brings a 60-byte header: bytes already held up to 65515 would
    // make a datagram of 65575 bytes.
    const Ipv4Repr plain = echo_header(0x5556, 65515);
    Ipv4Repr with_options = plain;
    with_options.options = wire::Ipv4Options::from_bytes(counting(1, 40));
    const auto tail = make_fragment(plain, payload, 65512, 3, false);
    const auto zero = make_fragment(with_options, payload, 0, 1480, true);
    Reassembler r(ReassemblyConfig{});
    EXPECT_FALSE(feed(r, tail, kT0));
    EXPECT_FALSE(feed(r, zero, kT0));
    EXPECT_EQ(r.in_use(), 0U);
    expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_too_big", 1}});
  }
}

TEST(Reassembler, MaximumSizeDatagramAccepted) {
  // RFC 791 §3.1: a datagram of exactly 65,535 octets (20-byte header, 65515-byte payload).
  const auto payload = echo_request(65515, 9);
  const Ipv4Repr whole = echo_header(0x6666, payload.size());
  const auto frags = fragment(whole, payload);
  ASSERT_EQ(frags.size(), 45U);
  Reassembler r(ReassemblyConfig{});
  for (std::size_t i = frags.size() - 1; i > 0; --i)
    EXPECT_FALSE(feed(r, frags[i], kT0));
  const auto out = feed(r, frags[0], kT0);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header.payload_len, 65515U);
  EXPECT_EQ(out->header.buffer_len(), 65535U);
  EXPECT_EQ(to_vector(out->payload), payload);
  expect_counters(r, {{"ipv4.reasm_fragments", 45}, {"ipv4.reasm_ok", 1}});
}

TEST(Reassembler, BadFragmentDroppedDatagramContinues) {
  // RFC 791 §2.3: every fragment but the last carries a multiple of 8 octets of data. A bad
  // fragment is dropped alone; the datagram continues.
  const EchoDatagram d;
  const Ipv4Repr whole = echo_header(0x3d0a, 4000);
  const auto not_multiple_of_8 = make_fragment(whole, d.payload(), 1480, 1479, true);
  const auto empty_middle = make_fragment(whole, d.payload(), 1480, 0, true);
  const auto empty_last = make_fragment(whole, d.payload(), 4000, 0, false);
  auto length_mismatch = d[1];
  length_mismatch.header.payload_len = 1488;  // the payload holds 1480
  auto unaligned = d[1];
  unaligned.header.frag_offset = 1481;  // RFC 791 §3.1: offsets count 8-octet units
  auto whole_datagram = d[0];
  whole_datagram.header.more_frags = false;  // offset 0 and no more fragments: not a fragment
  const std::vector<std::byte> long_header(61);

  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[0], kT0));
  EXPECT_FALSE(feed(r, not_multiple_of_8, kT0));
  EXPECT_FALSE(feed(r, empty_middle, kT0));
  EXPECT_FALSE(feed(r, empty_last, kT0));
  EXPECT_FALSE(feed(r, length_mismatch, kT0));
  EXPECT_FALSE(feed(r, unaligned, kT0));
  EXPECT_FALSE(feed(r, whole_datagram, kT0));
  EXPECT_FALSE(r.on_fragment(d[1].header, long_header, d[1].payload, kT0));
  EXPECT_EQ(r.in_use(), 1U);
  EXPECT_EQ(r.bytes_held(), 1480U);
  EXPECT_FALSE(feed(r, d[1], kT0));
  const auto out = feed(r, d[2], kT0);
  ASSERT_TRUE(out);
  EXPECT_EQ(to_vector(out->payload), d.payload());
  expect_counters(
      r, {{"ipv4.reasm_fragments", 10}, {"ipv4.reasm_ok", 1}, {"ipv4.reasm_bad_fragment", 7}});
}

TEST(Reassembler, BadFirstFragmentTakesNoSlot) {
  const EchoDatagram d;
  const Ipv4Repr whole = echo_header(0x3d0a, 4000);
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, make_fragment(whole, d.payload(), 0, 100, true), kT0));
  EXPECT_EQ(r.in_use(), 0U);
  EXPECT_EQ(r.next_deadline(), kNever);
  expect_counters(r, {{"ipv4.reasm_fragments", 1}, {"ipv4.reasm_bad_fragment", 1}});
}

TEST(Reassembler, TimeoutWithFragmentZeroCallsBack) {
  // RFC 1122 §3.3.2: on timeout, send a time exceeded only if fragment zero is available. The
  // callback gets fragment zero's raw header and its payload.
  const EchoDatagram d;
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[2], kT0));
  EXPECT_FALSE(feed(r, d[0], kT0 + 10s));
  EXPECT_EQ(r.next_deadline(), kT0 + 30s);

  int calls = 0;
  std::vector<std::byte> quoted_header;
  std::vector<std::byte> quoted_payload;
  auto on_expired = [&](Bytes header_bytes, Bytes payload) {
    ++calls;
    quoted_header = to_vector(header_bytes);
    quoted_payload = to_vector(payload);
  };
  r.poll(kT0 + 30s - 1us, on_expired);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(r.in_use(), 1U);
  r.poll(kT0 + 30s, on_expired);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(quoted_header, d[0].header_bytes);
  EXPECT_EQ(test::to_hex(Bytes(quoted_header).first(8)), "450005dc3d0a2000");
  EXPECT_EQ(quoted_payload, d[0].payload);
  EXPECT_EQ(r.in_use(), 0U);
  EXPECT_EQ(r.bytes_held(), 0U);
  EXPECT_EQ(r.next_deadline(), kNever);
  // A late fragment starts afresh.
  EXPECT_FALSE(feed(r, d[1], kT0 + 31s));
  EXPECT_EQ(r.next_deadline(), kT0 + 61s);
  r.poll(kT0 + 40s, on_expired);
  EXPECT_EQ(calls, 1);
  expect_counters(r, {{"ipv4.reasm_fragments", 3}, {"ipv4.reasm_timeout", 1}});
}

TEST(Reassembler, TimeoutWithoutFragmentZeroDoesNotCallBack) {
  // RFC 1122 §3.3.2: on timeout, send a time exceeded only if fragment zero is available.
  const EchoDatagram d;
  Reassembler r(ReassemblyConfig{});
  EXPECT_FALSE(feed(r, d[1], kT0));
  EXPECT_FALSE(feed(r, d[2], kT0));
  int calls = 0;
  r.poll(kT0 + 30s, [&](Bytes, Bytes) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(r.in_use(), 0U);
  EXPECT_EQ(r.bytes_held(), 0U);
  expect_counters(r, {{"ipv4.reasm_fragments", 2}, {"ipv4.reasm_timeout", 1}});
}

TEST(Reassembler, NextDeadlineIsTheEarliestTimer) {
  // RFC 791 §3.2: the timer starts when the first-arriving fragment of a datagram arrives;
  // later fragments do not restart it.
  const EchoDatagram a(0x1111);
  const EchoDatagram b(0x2222);
  ReassemblyConfig config;
  config.timeout = 15s;
  Reassembler r(config);
  EXPECT_EQ(r.next_deadline(), kNever);
  EXPECT_FALSE(feed(r, a[0], kT0));
  EXPECT_EQ(r.next_deadline(), kT0 + 15s);
  EXPECT_FALSE(feed(r, b[0], kT0 + 5s));
  EXPECT_FALSE(feed(r, a[1], kT0 + 6s));
  EXPECT_EQ(r.next_deadline(), kT0 + 15s);
  int calls = 0;
  r.poll(kT0 + 15s, [&](Bytes, Bytes) { ++calls; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.next_deadline(), kT0 + 20s);
  EXPECT_FALSE(feed(r, b[1], kT0 + 16s));
  EXPECT_TRUE(feed(r, b[2], kT0 + 17s));
  EXPECT_EQ(r.next_deadline(), kNever);
  expect_counters(r,
                  {{"ipv4.reasm_fragments", 5}, {"ipv4.reasm_ok", 1}, {"ipv4.reasm_timeout", 1}});
}

TEST(Reassembler, ANewDatagramEvictsTheOldestWhenEverySlotIsInUse) {
  const EchoDatagram a(0x1111);
  const EchoDatagram b(0x2222);
  const EchoDatagram c(0x3333);
  ReassemblyConfig config;
  config.slots = 2;
  Reassembler r(config);
  EXPECT_FALSE(feed(r, a[0], kT0));
  EXPECT_FALSE(feed(r, b[0], kT0 + 1ms));
  // No free slot: the oldest datagram (a, started first) makes room, as Linux's evictor does.
  EXPECT_FALSE(feed(r, c[0], kT0 + 2ms));
  EXPECT_EQ(r.in_use(), 2U);
  EXPECT_EQ(r.bytes_held(), 2960U);
  EXPECT_EQ(r.next_deadline(), kT0 + 1ms + 30s);  // b's timer is now the earliest
  // a starts again from nothing (evicting b), so its fragments 1 and 2 do not complete it.
  EXPECT_FALSE(feed(r, a[1], kT0 + 3ms));
  EXPECT_FALSE(feed(r, a[2], kT0 + 3ms));
  EXPECT_FALSE(feed(r, c[1], kT0 + 4ms));
  EXPECT_TRUE(feed(r, c[2], kT0 + 4ms));
  EXPECT_TRUE(feed(r, a[0], kT0 + 5ms));
  EXPECT_EQ(r.in_use(), 0U);
  expect_counters(r,
                  {{"ipv4.reasm_fragments", 8}, {"ipv4.reasm_ok", 2}, {"ipv4.reasm_evicted", 2}});
}

TEST(Reassembler, NoMemoryDropsTheFragment) {
  const EchoDatagram a(0x1111);
  const EchoDatagram b(0x2222);
  ReassemblyConfig config;
  config.max_bytes = 3000;
  Reassembler r(config);
  EXPECT_FALSE(feed(r, a[0], kT0));
  EXPECT_FALSE(feed(r, a[2], kT0));
  EXPECT_EQ(r.bytes_held(), 2520U);
  EXPECT_FALSE(feed(r, a[1], kT0));  // 4000 > 3000: dropped, the datagram continues
  EXPECT_EQ(r.bytes_held(), 2520U);
  EXPECT_EQ(r.in_use(), 1U);
  EXPECT_FALSE(feed(r, b[0], kT0));  // a new datagram's fragment: dropped, no slot taken
  EXPECT_EQ(r.in_use(), 1U);
  EXPECT_EQ(r.next_deadline(), kT0 + 30s);
  // 2520 + 480 = 3000 exactly fits.
  const Ipv4Repr whole = echo_header(0x2222, 4000);
  EXPECT_FALSE(feed(r, make_fragment(whole, b.payload(), 1480, 480, true), kT0));
  EXPECT_EQ(r.bytes_held(), 3000U);
  EXPECT_EQ(r.in_use(), 2U);
  expect_counters(r, {{"ipv4.reasm_fragments", 5}, {"ipv4.reasm_no_memory", 2}});
}

TEST(Reassembler, TooManyFragmentsDropsTheDatagram) {
  // 4000 bytes in 8 fragments of 512; at most 4 held per datagram.
  const EchoDatagram d(0x3d0a, 4000, 512);
  ASSERT_EQ(d.fragments().size(), 8U);
  ReassemblyConfig config;
  config.max_fragments = 4;
  Reassembler r(config);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_FALSE(feed(r, d[i], kT0));
  EXPECT_FALSE(feed(r, d[0], kT0));  // a duplicate is not held, so it does not count
  EXPECT_EQ(r.bytes_held(), 2048U);
  EXPECT_FALSE(feed(r, d[4], kT0));
  EXPECT_EQ(r.in_use(), 0U);
  EXPECT_EQ(r.bytes_held(), 0U);
  expect_counters(r, {{"ipv4.reasm_fragments", 6},
                      {"ipv4.reasm_duplicate", 1},
                      {"ipv4.reasm_too_many_fragments", 1}});
  // Exactly max_fragments fragments still make a datagram.
  const EchoDatagram small(0x4444, 2048, 512);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_FALSE(feed(r, small[i], kT0));
  EXPECT_TRUE(feed(r, small[3], kT0));
}

TEST(Reassembler, CountersHaveStableNames) {
  const Reassembler r(ReassemblyConfig{});
  EXPECT_EQ(collect_counters(r.counters()), (std::vector<CounterValue>{
                                                {"ipv4.reasm_fragments", 0},
                                                {"ipv4.reasm_ok", 0},
                                                {"ipv4.reasm_timeout", 0},
                                                {"ipv4.reasm_overlap", 0},
                                                {"ipv4.reasm_duplicate", 0},
                                                {"ipv4.reasm_too_big", 0},
                                                {"ipv4.reasm_evicted", 0},
                                                {"ipv4.reasm_no_memory", 0},
                                                {"ipv4.reasm_bad_fragment", 0},
                                                {"ipv4.reasm_too_many_fragments", 0},
                                            }));
}

TEST(Reassembler, NoAllocationAfterConstruction) {
  const EchoDatagram a(0x1111);
  const EchoDatagram b(0x2222, 4000, 256);
  const Ipv4Repr whole = echo_header(0x1111, 4000);
  const auto overlapping = make_fragment(whole, a.payload(), 1472, 1480, true);
  Reassembler r(ReassemblyConfig{});
  int calls = 0;
  const std::size_t before = test::allocations();
  for (const auto& f : b.fragments())
    (void)feed(r, f, kT0);
  (void)feed(r, a[0], kT0);
  (void)feed(r, overlapping, kT0);
  (void)feed(r, a[2], kT0);
  (void)feed(r, a[1], kT0);
  r.poll(kT0 + 60s, [&](Bytes, Bytes) { ++calls; });
  const std::size_t after = test::allocations();
  EXPECT_EQ(after, before);
  expect_counters(r, {{"ipv4.reasm_fragments", 20},
                      {"ipv4.reasm_ok", 1},
                      {"ipv4.reasm_timeout", 1},
                      {"ipv4.reasm_overlap", 1}});
  EXPECT_EQ(calls, 0);  // the datagram left to time out had lost fragment zero
}

TEST(Reassembler, RandomFragmentsKeepTheBounds) {
  // Seeded garbage: random offsets, lengths, flags and idents. Nothing crashes, the bounds hold,
  // and nothing longer than 65535 bytes comes out.
  const auto payload = counting(0, 70000);
  ReassemblyConfig config;
  config.slots = 4;
  config.max_bytes = 100'000;
  config.max_fragments = 16;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    Random random(seed);
    Reassembler r(config);
    std::uint64_t results = 0;
    for (int i = 0; i < 5000; ++i) {
      Ipv4Repr h = echo_header(static_cast<std::uint16_t>(random.below(6)), 0);
      if (random.below(4) == 0)
        h.options = wire::Ipv4Options::from_bytes(counting(0, 4 * random.below(11)));
      h.frag_offset = static_cast<std::uint16_t>(random.below(8) == 0 ? random.below(65536)
                                                                      : 8 * random.below(8192));
      h.more_frags = random.below(3) != 0;
      const std::size_t len = random.below(3) == 0 ? random.below(4000) : 8 * random.below(500);
      h.payload_len = len;
      // Raw bytes stand in for the header: emit() refuses unaligned offsets and oversize lengths.
      const auto header_bytes = counting(0x45, h.header_len());
      const Instant now = kT0 + std::chrono::milliseconds(i * 10);
      if (const auto out = r.on_fragment(h, header_bytes, Bytes(payload).first(len), now)) {
        ++results;
        EXPECT_LE(out->header.buffer_len(), 65535U);
        EXPECT_EQ(out->payload.size(), out->header.payload_len);
      }
      EXPECT_LE(r.in_use(), config.slots);
      EXPECT_LE(r.bytes_held(), config.max_bytes);
      if (i % 100 == 0) r.poll(now, [](Bytes header, Bytes) { EXPECT_LE(header.size(), 60U); });
    }
    EXPECT_EQ(r.counters().ok.value(), results);
    r.poll(kNever, [](Bytes, Bytes) {});
    EXPECT_EQ(r.in_use(), 0U);
    EXPECT_EQ(r.bytes_held(), 0U);
  }
}

}  // namespace
}  // namespace tapir::ip
