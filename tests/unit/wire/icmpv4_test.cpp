// ICMPv4 codec: the four kinds of wire test (captured bytes, setters, parse, emit into 0xA5) for
// echo, destination unreachable (port, fragmentation needed) and time exceeded, other types kept
// whole, every rejection path, and every ICMP message of the Linux captures re-emitted byte for
// byte.
#include "stack/wire/icmpv4.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include <gtest/gtest.h>

#include "stack/wire/ethernet.hpp"
#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::concat;
using test::counting;
using test::from_hex;
using test::poisoned;

std::vector<std::byte> slice(const std::vector<std::byte>& v, std::size_t off) {
  return {v.begin() + static_cast<std::ptrdiff_t>(off), v.end()};
}

const Ipv4Address kHostA(10, 77, 1, 2);
const Ipv4Address kRouter(10, 77, 1, 1);
const Ipv4Address kHostB(10, 77, 2, 2);

// All from Linux netns over veths: host A (10.77.1.2), a router (10.77.1.1, 10.77.2.1) and
// host B (10.77.2.2) behind a link of MTU 1280. The ICMP messages only (the IPv4 payload).

// `ping -s 16 10.77.1.1`: request and reply; 16 bytes of data (ping's timestamp).
const auto kEchoData = from_hex("9f98036b00000000bded0d0000000000");
const auto kEchoRequest = concat(from_hex("08 00 704b 19c2 0001"), kEchoData);
const auto kEchoReply = concat(from_hex("00 00 784b 19c2 0001"), kEchoData);

// A UDP datagram to a closed port of the router, and its port unreachable quoting it whole.
const auto kQuotedUdpHeader = from_hex("45000027 2765 4000 4011 fcc4 0a4d0102 0a4d0101");
const auto kQuotedUdp = from_hex("b164 0009 0013 0d90 6e6f626f647920686f6d65");
const auto kPortUnreachable =
    concat(concat(from_hex("03 03 13be 0000 0000"), kQuotedUdpHeader), kQuotedUdp);

// `ping -t 1 10.77.2.2`: the router's time exceeded, quoting the request (TTL 1) whole.
const auto kQuotedEchoHeader = from_hex("4500002c f061 4000 0101 71d2 0a4d0102 0a4d0202");
const auto kQuotedEcho = from_hex("0800fc2319c50001 9f98036b0000000031120e0000000000");
const auto kTimeExceeded =
    concat(concat(from_hex("0b 00 f4ff 00000000"), kQuotedEchoHeader), kQuotedEcho);

// `ping -M do -s 1400 10.77.2.2`: fragmentation needed, next-hop MTU 1280 (RFC 1191). The 1428-
// byte request is quoted only up to 576 bytes of ICMP datagram in all: 548 bytes of it.
const auto kQuotedBigHeader = from_hex("45000594 0000 4000 4001 1dcc 0a4d0102 0a4d0202");
const auto kQuotedBigData =
    concat(from_hex("0800f3fa19c60001 9f98036b00000000ce1d0e0000000000"), counting(0x10, 548 - 44));
const auto kFragNeeded =
    concat(concat(from_hex("03 04 0ec9 0000 0500"), kQuotedBigHeader), kQuotedBigData);

Ipv4Repr quoted_udp_header() {
  Ipv4Repr r;
  r.src = kHostA;
  r.dst = kRouter;
  r.protocol = IpProtocol::Udp;
  r.ttl = 64;
  r.ident = 0x2765;
  r.dont_frag = true;
  r.payload_len = 19;
  return r;
}

Ipv4Repr quoted_echo_header() {
  Ipv4Repr r;
  r.src = kHostA;
  r.dst = kHostB;
  r.protocol = IpProtocol::Icmp;
  r.ttl = 1;
  r.ident = 0xf061;
  r.dont_frag = true;
  r.payload_len = 24;
  return r;
}

// Parses with checksums verified and emits into a poisoned buffer of buffer_len().
std::vector<std::byte> reemit(const std::vector<std::byte>& message) {
  auto repr = Icmpv4Repr::parse(Icmpv4View(message), ChecksumPolicy::all());
  EXPECT_TRUE(repr) << repr.error().message();
  if (!repr) return {};
  auto buf = poisoned(repr->buffer_len());
  repr->emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  return buf;
}

// A message with its checksum made valid.
std::vector<std::byte> with_checksum(std::vector<std::byte> m) {
  Icmpv4ViewMut(m).fill_checksum();
  return m;
}

TEST(Icmpv4, DecodesCapturedEchoRequest) {
  auto view = Icmpv4View::checked(kEchoRequest);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->type(), Icmpv4Type::EchoRequest);
  EXPECT_EQ(view->code(), 0);
  EXPECT_EQ(view->checksum(), 0x704b);
  EXPECT_EQ(view->ident(), 0x19c2);
  EXPECT_EQ(view->seq_no(), 1);
  EXPECT_TRUE(std::ranges::equal(view->payload(), kEchoData));
  EXPECT_TRUE(view->verify_checksum());
}

// RFC 1191 §4: the next-hop MTU is the low-order 16 bits of the second header word.
TEST(Icmpv4, DecodesCapturedFragmentationNeeded) {
  auto view = Icmpv4View::checked(kFragNeeded);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->type(), Icmpv4Type::DstUnreachable);
  EXPECT_EQ(view->code(), static_cast<std::uint8_t>(Icmpv4DstUnreachable::FragmentationNeeded));
  EXPECT_EQ(view->next_hop_mtu(), 1280);
  EXPECT_EQ(view->rest_of_header(), 1280U);
  EXPECT_EQ(view->payload().size(), 548U);
  EXPECT_TRUE(view->verify_checksum());
}

TEST(Icmpv4, BuildsEchoRequestWithSetters) {
  auto buf = poisoned(kEchoRequest.size());
  Icmpv4ViewMut view(buf);
  view.set_type(Icmpv4Type::EchoRequest);
  view.set_code(0);
  view.set_ident(0x19c2);
  view.set_seq_no(1);
  std::ranges::copy(kEchoData, view.payload().begin());
  view.fill_checksum();
  EXPECT_EQ(buf, kEchoRequest);
}

TEST(Icmpv4, BuildsFragmentationNeededWithSetters) {
  auto buf = poisoned(kFragNeeded.size());
  Icmpv4ViewMut view(buf);
  view.set_type(Icmpv4Type::DstUnreachable);
  view.set_code(static_cast<std::uint8_t>(Icmpv4DstUnreachable::FragmentationNeeded));
  view.set_rest_of_header(0);
  view.set_next_hop_mtu(1280);
  std::ranges::copy(slice(kFragNeeded, 8), view.payload().begin());
  view.fill_checksum();
  EXPECT_EQ(buf, kFragNeeded);
}

TEST(Icmpv4, ParsesEchoRequestAndReply) {
  auto request = Icmpv4Repr::parse(Icmpv4View(kEchoRequest), ChecksumPolicy::all());
  ASSERT_TRUE(request);
  EXPECT_EQ(*request, (Icmpv4Repr{Icmpv4Repr::EchoRequest{0x19c2, 1, kEchoData}}));
  auto reply = Icmpv4Repr::parse(Icmpv4View(kEchoReply), ChecksumPolicy::all());
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, (Icmpv4Repr{Icmpv4Repr::EchoReply{0x19c2, 1, kEchoData}}));
  EXPECT_NE(*request, *reply);
}

TEST(Icmpv4, ParsesPortUnreachable) {
  auto repr = Icmpv4Repr::parse(Icmpv4View(kPortUnreachable), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  const auto* m = std::get_if<Icmpv4Repr::DstUnreachable>(&repr->message);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->code, Icmpv4DstUnreachable::PortUnreachable);
  EXPECT_EQ(m->next_hop_mtu, 0);
  EXPECT_EQ(m->header, quoted_udp_header());
  EXPECT_TRUE(std::ranges::equal(m->data, kQuotedUdp));
  EXPECT_EQ(*repr, (Icmpv4Repr{Icmpv4Repr::DstUnreachable{Icmpv4DstUnreachable::PortUnreachable, 0,
                                                          quoted_udp_header(), kQuotedUdp}}));
}

// RFC 1191 §4: fragmentation needed carries the next-hop MTU. Linux quotes at most 576 bytes in
// all, so the quoted Total Length (1428) is far more than the quote holds.
TEST(Icmpv4, ParsesFragmentationNeededWithMtu) {
  auto repr = Icmpv4Repr::parse(Icmpv4View(kFragNeeded), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  const auto* m = std::get_if<Icmpv4Repr::DstUnreachable>(&repr->message);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->code, Icmpv4DstUnreachable::FragmentationNeeded);
  EXPECT_EQ(m->next_hop_mtu, 1280);
  EXPECT_EQ(m->header.payload_len, 1408U);
  EXPECT_EQ(m->header.dst, kHostB);
  EXPECT_TRUE(m->header.dont_frag);
  EXPECT_EQ(m->data.size(), 528U);
  EXPECT_TRUE(std::ranges::equal(m->data, kQuotedBigData));
}

TEST(Icmpv4, ParsesTimeExceeded) {
  auto repr = Icmpv4Repr::parse(Icmpv4View(kTimeExceeded), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (Icmpv4Repr{Icmpv4Repr::TimeExceeded{Icmpv4TimeExceeded::TtlExceeded,
                                                        quoted_echo_header(), kQuotedEcho}}));
}

TEST(Icmpv4, EmitsEveryByteOfEcho) {
  const Icmpv4Repr request{Icmpv4Repr::EchoRequest{0x19c2, 1, kEchoData}};
  ASSERT_EQ(request.buffer_len(), kEchoRequest.size());
  auto buf = poisoned(request.buffer_len());
  request.emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, kEchoRequest);

  const Icmpv4Repr reply{Icmpv4Repr::EchoReply{0x19c2, 1, kEchoData}};
  buf = poisoned(reply.buffer_len());
  reply.emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, kEchoReply);
}

TEST(Icmpv4, EmitsEveryByteOfErrors) {
  const Icmpv4Repr port{Icmpv4Repr::DstUnreachable{Icmpv4DstUnreachable::PortUnreachable, 0,
                                                   quoted_udp_header(), kQuotedUdp}};
  ASSERT_EQ(port.buffer_len(), kPortUnreachable.size());
  auto buf = poisoned(port.buffer_len());
  port.emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, kPortUnreachable);

  const Icmpv4Repr ttl{
      Icmpv4Repr::TimeExceeded{Icmpv4TimeExceeded::TtlExceeded, quoted_echo_header(), kQuotedEcho}};
  buf = poisoned(ttl.buffer_len());
  ttl.emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, kTimeExceeded);

  EXPECT_EQ(reemit(kFragNeeded), kFragNeeded);
}

TEST(Icmpv4, EmitWithoutFillTxWritesZeroChecksum) {
  const Icmpv4Repr request{Icmpv4Repr::EchoRequest{0x19c2, 1, kEchoData}};
  auto buf = poisoned(request.buffer_len());
  request.emit(Icmpv4ViewMut(buf), ChecksumPolicy::none());
  auto expected = kEchoRequest;
  expected[2] = expected[3] = std::byte{0};
  EXPECT_EQ(buf, expected);
}

// The data may already be in place (the caller wrote it into the view): emit leaves it there.
TEST(Icmpv4, EmitAcceptsDataAlreadyInPlace) {
  auto buf = poisoned(kEchoRequest.size());
  std::ranges::copy(kEchoData, buf.begin() + 8);
  const Icmpv4Repr request{Icmpv4Repr::EchoRequest{0x19c2, 1, Bytes(buf).subspan(8)}};
  request.emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, kEchoRequest);
}

// The quoted header's checksum is not verified on parse and is recomputed on emit.
TEST(Icmpv4, QuotedHeaderChecksumIsNotVerified) {
  auto m = kPortUnreachable;
  m[8 + 8] = std::byte{0x3f};  // the quoted TTL; the quoted checksum now wrong
  m = with_checksum(m);
  auto repr = Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(std::get<Icmpv4Repr::DstUnreachable>(repr->message).header.ttl, 63);
  auto buf = poisoned(repr->buffer_len());
  repr->emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_TRUE(Ipv4View(Bytes(buf).subspan(8, 20)).verify_checksum());
}

// Bytes past the quoted datagram's Total Length (e.g. an RFC 4884 extension) stay in data.
TEST(Icmpv4, KeepsBytesPastTheQuotedDatagram) {
  const auto m = with_checksum(concat(kPortUnreachable, from_hex("20000000")));
  auto repr = Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(std::get<Icmpv4Repr::DstUnreachable>(repr->message).data.size(), 23U);
  EXPECT_EQ(reemit(m), m);
}

// RFC 792: the rest of the header is unused in these errors (RFC 4884 puts a length there); it
// is accepted and not kept.
TEST(Icmpv4, UnusedRestOfHeaderIsAcceptedButNotKept) {
  auto m = kPortUnreachable;
  m[5] = std::byte{0x0b};  // an RFC 4884 length
  m = with_checksum(m);
  EXPECT_EQ(reemit(m), kPortUnreachable);
  auto t = kTimeExceeded;
  t[4] = std::byte{0xff};
  t = with_checksum(t);
  EXPECT_EQ(reemit(t), kTimeExceeded);
}

TEST(Icmpv4, UnknownCodesAreRepresentable) {
  auto m = kPortUnreachable;
  m[1] = std::byte{200};
  m = with_checksum(m);
  auto repr = Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(static_cast<int>(std::get<Icmpv4Repr::DstUnreachable>(repr->message).code), 200);
  EXPECT_EQ(reemit(m), m);

  auto t = kTimeExceeded;
  t[1] = std::byte{1};  // fragment reassembly time exceeded
  t = with_checksum(t);
  repr = Icmpv4Repr::parse(Icmpv4View(t), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(std::get<Icmpv4Repr::TimeExceeded>(repr->message).code,
            Icmpv4TimeExceeded::ReassemblyTimeExceeded);
  EXPECT_EQ(reemit(t), t);
}

// Every other type is kept whole: type, code, the four rest-of-header bytes and the data.
TEST(Icmpv4, OtherTypesRoundTrip) {
  // RFC 792 timestamp request: ident, seq_no, three 32-bit timestamps.
  const auto timestamp = with_checksum(from_hex("0d 00 0000 1234 0001 00000001 00000000 00000000"));
  auto repr = Icmpv4Repr::parse(Icmpv4View(timestamp), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  const auto* m = std::get_if<Icmpv4Repr::Other>(&repr->message);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->type, Icmpv4Type::Timestamp);
  EXPECT_EQ(m->rest_of_header, 0x12340001U);
  EXPECT_EQ(m->data.size(), 12U);
  EXPECT_EQ(reemit(timestamp), timestamp);

  // RFC 792 redirect (host), gateway 10.77.1.254, quoting a datagram (not interpreted here).
  const auto redirect =
      with_checksum(concat(concat(from_hex("05 01 0000 0a4d01fe"), kQuotedUdpHeader), kQuotedUdp));
  EXPECT_EQ(reemit(redirect), redirect);

  const auto unknown = with_checksum(from_hex("fe 7f 0000 deadbeef 0102"));
  repr = Icmpv4Repr::parse(Icmpv4View(unknown), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(static_cast<int>(std::get<Icmpv4Repr::Other>(repr->message).type), 0xfe);
  EXPECT_EQ(reemit(unknown), unknown);
}

// RFC 792: echo messages have code 0; one with another code is kept whole as Other.
TEST(Icmpv4, EchoWithNonzeroCodeIsOther) {
  auto m = kEchoRequest;
  m[1] = std::byte{1};
  m = with_checksum(m);
  auto repr = Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  ASSERT_TRUE(std::holds_alternative<Icmpv4Repr::Other>(repr->message));
  EXPECT_EQ(reemit(m), m);
}

TEST(Icmpv4, EchoWithoutDataRoundTrips) {
  const auto m = with_checksum(from_hex("08 00 0000 0001 0002"));
  auto repr = Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (Icmpv4Repr{Icmpv4Repr::EchoRequest{1, 2, {}}}));
  EXPECT_EQ(reemit(m), m);
}

TEST(Icmpv4, RejectsTruncatedHeader) {
  for (std::size_t len = 0; len < 8; ++len) {
    const Icmpv4View view(Bytes(kEchoRequest).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(Icmpv4Repr::parse(view, ChecksumPolicy::none()).error(), Errc::truncated);
  }
}

// RFC 1122 §3.2.2: ICMP messages with a bad checksum are silently discarded.
TEST(Icmpv4, RejectsBadChecksum) {
  for (const auto* message : {&kEchoRequest, &kPortUnreachable, &kTimeExceeded, &kFragNeeded}) {
    auto m = *message;
    // The checksum covers the data too.
    store_u8(m, m.size() - 1, static_cast<std::uint8_t>(load_u8(m, m.size() - 1) ^ 0x01U));
    EXPECT_FALSE(Icmpv4View(m).verify_checksum());
    EXPECT_EQ(Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all()).error(), Errc::bad_checksum);
    EXPECT_TRUE(Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::none()));
  }
}

// An error whose quoted header does not parse is rejected with that header's specific code.
void expect_quote_rejected(const std::vector<std::byte>& message, Errc code) {
  const auto m = with_checksum(message);
  EXPECT_EQ(Icmpv4Repr::parse(Icmpv4View(m), ChecksumPolicy::all()).error(), code);
}

TEST(Icmpv4, RejectsQuotedHeaderTruncated) {
  for (std::size_t len = 8; len < 28; ++len) {
    expect_quote_rejected(std::vector(kPortUnreachable.begin(),
                                      kPortUnreachable.begin() + static_cast<std::ptrdiff_t>(len)),
                          Errc::truncated);
    expect_quote_rejected(std::vector(kTimeExceeded.begin(),
                                      kTimeExceeded.begin() + static_cast<std::ptrdiff_t>(len)),
                          Errc::truncated);
  }
}

// RFC 791 §3.1: the version field is 4 (in the quoted header too).
TEST(Icmpv4, RejectsQuotedHeaderBadVersion) {
  auto m = kPortUnreachable;
  m[8] = std::byte{0x65};
  expect_quote_rejected(m, Errc::bad_version);
  auto t = kTimeExceeded;
  t[8] = std::byte{0x65};
  expect_quote_rejected(t, Errc::bad_version);
}

// RFC 791 §3.1: IHL is the header length in 32-bit words; minimum 5 (in the quoted header too).
TEST(Icmpv4, RejectsQuotedHeaderLenBelowFive) {
  auto m = kPortUnreachable;
  m[8] = std::byte{0x44};
  expect_quote_rejected(m, Errc::bad_header_len);
}

TEST(Icmpv4, RejectsQuotedHeaderLenPastQuote) {
  auto m = kPortUnreachable;
  m[8] = std::byte{0x4f};  // 60 bytes of header; the quote holds 39
  expect_quote_rejected(m, Errc::truncated);
}

// RFC 791 §3.1: Total Length counts the header and the data (in the quoted header too).
TEST(Icmpv4, RejectsQuotedTotalLenBelowHeaderLen) {
  auto m = kTimeExceeded;
  m[8 + 2] = std::byte{0};
  m[8 + 3] = std::byte{19};
  expect_quote_rejected(m, Errc::bad_length);
}

struct Seen {
  std::size_t messages = 0;
  std::vector<Icmpv4Repr> reprs;
  std::vector<std::vector<std::byte>> storage;  // reassembled messages the reprs point into
};

// Checks one ICMP message: parses with its checksum verified, re-emits to identical bytes.
void expect_round_trip(Bytes message, const std::string& where, Seen* seen) {
  auto repr = Icmpv4Repr::parse(Icmpv4View(message), ChecksumPolicy::all());
  ASSERT_TRUE(repr) << where << ": " << repr.error().message();
  auto buf = poisoned(repr->buffer_len());
  repr->emit(Icmpv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(test::to_hex(buf), test::to_hex(message)) << where;
  seen->reprs.push_back(*repr);
  ++seen->messages;
}

// Every ICMP message of a Linux capture parses and re-emits byte for byte. Fragmented datagrams
// are put together first (by offset, per source and ident) and their whole message checked.
void expect_every_message_round_trips(std::string_view name, Seen* seen) {
  const auto capture = test::load_capture(name);
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::map<std::uint16_t, Bytes>> fragments;
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    const std::string where = std::string(name) + " frame " + std::to_string(i);
    Bytes bytes = capture.frames[i].span();
    if (capture.link_type == LinkType::Ethernet) {
      auto eth = EthernetView::checked(bytes);
      ASSERT_TRUE(eth) << where;
      if (eth->ethertype() != EtherType::Ipv4) continue;
      bytes = eth->payload();
    }
    auto ip = Ipv4View::checked(bytes);
    ASSERT_TRUE(ip) << where;
    if (ip->protocol() != IpProtocol::Icmp) continue;
    if (!ip->more_frags() && ip->frag_offset() == 0) {
      expect_round_trip(ip->payload(), where, seen);
      continue;
    }
    auto& parts = fragments[{ip->src().value(), ip->ident()}];
    parts[ip->frag_offset()] = ip->payload();
    if (ip->more_frags()) continue;
    std::vector<std::byte> whole;
    for (const auto& [offset, part] : parts) {
      ASSERT_EQ(offset, whole.size()) << where << ": a fragment is missing";
      whole.insert(whole.end(), part.begin(), part.end());
    }
    fragments.erase({ip->src().value(), ip->ident()});
    seen->storage.push_back(std::move(whole));
    expect_round_trip(seen->storage.back(), where + " (reassembled)", seen);
  }
  EXPECT_GT(seen->messages, 0U) << name;
}

template <class T>
bool any_message(const Seen& seen, auto pred) {
  return std::ranges::any_of(seen.reprs, [&](const Icmpv4Repr& r) {
    const auto* m = std::get_if<T>(&r.message);
    return m != nullptr && pred(*m);
  });
}

TEST(Icmpv4, CapturedPingRoundTrips) {
  Seen seen;
  expect_every_message_round_trips("ping.pcap", &seen);
  EXPECT_TRUE(any_message<Icmpv4Repr::EchoRequest>(seen, [](auto&) { return true; }));
  EXPECT_TRUE(any_message<Icmpv4Repr::EchoReply>(seen, [](auto&) { return true; }));
}

TEST(Icmpv4, CapturedRecordRouteRoundTrips) {
  Seen seen;
  expect_every_message_round_trips("ping_record_route.pcap", &seen);
}

TEST(Icmpv4, CapturedFragmentedPingRoundTrips) {
  Seen seen;
  expect_every_message_round_trips("ping_frag.pcap", &seen);
  EXPECT_TRUE(
      any_message<Icmpv4Repr::EchoRequest>(seen, [](auto& m) { return m.data.size() > 1500; }));
  EXPECT_TRUE(
      any_message<Icmpv4Repr::EchoReply>(seen, [](auto& m) { return m.data.size() > 1500; }));
}

TEST(Icmpv4, CapturedErrorsRoundTrip) {
  Seen seen;
  expect_every_message_round_trips("icmp_errors.pcap", &seen);
  EXPECT_TRUE(any_message<Icmpv4Repr::DstUnreachable>(
      seen, [](auto& m) { return m.code == Icmpv4DstUnreachable::PortUnreachable; }));
  EXPECT_TRUE(any_message<Icmpv4Repr::DstUnreachable>(seen, [](auto& m) {
    return m.code == Icmpv4DstUnreachable::FragmentationNeeded && m.next_hop_mtu > 0;
  }));
  EXPECT_TRUE(any_message<Icmpv4Repr::TimeExceeded>(
      seen, [](auto& m) { return m.code == Icmpv4TimeExceeded::TtlExceeded; }));
}

}  // namespace
}  // namespace tapir::wire
