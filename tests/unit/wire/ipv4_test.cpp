// IPv4 codec: the four kinds of wire test (captured bytes, setters, parse, emit into 0xA5), every
// rejection path of check(), check_header() and parse(), and every IPv4 datagram of the Linux
// captures re-emitted byte for byte.
#include "stack/wire/ipv4.hpp"

#include <algorithm>
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

const Ipv4Address kHostA(10, 77, 1, 2);
const Ipv4Address kHostB(10, 77, 1, 1);

// `ping -s 16 10.77.1.1` from a Linux netns over a veth: the echo request, DF set.
const auto kEchoRequest = from_hex(
    "4500002c 3d08 4000 4001 e72c 0a4d0102 0a4d0101"
    "0800704b19c20001 9f98036b00000000bded0d0000000000");

// `ping -R`: NOP, then a record-route option with nine slots, the first filled (IHL 15).
const auto kRecordRouteOptions = from_hex(
    "01 07 27 08 0a4d0102"
    "00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000");
const auto kRecordRoute =
    concat(concat(from_hex("4f000054 3d09 4000 4001 a9a5 0a4d0102 0a4d0101"), kRecordRouteOptions),
           from_hex("0800753c19c300019f98036b00000000b8fb0d0000000000"));

// `ping -s 3000`: the second of three fragments (MF, offset 1480) and the last (offset 2960).
const auto kMiddleFragment =
    concat(from_hex("450005dc 3d0a 20b9 4001 00c2 0a4d0102 0a4d0101"), counting(0xc0, 1480));
const auto kLastFragment =
    concat(from_hex("45000044 3d0a 0172 4001 25a1 0a4d0102 0a4d0101"), counting(0x88, 48));

Ipv4Repr echo_request_repr() {
  Ipv4Repr r;
  r.src = kHostA;
  r.dst = kHostB;
  r.protocol = IpProtocol::Icmp;
  r.ttl = 64;
  r.ident = 0x3d08;
  r.dont_frag = true;
  r.payload_len = 24;
  return r;
}

// A datagram with one header byte changed and the header checksum made valid again.
std::vector<std::byte> patched(std::vector<std::byte> d, std::size_t off, std::uint8_t v) {
  d[off] = std::byte{v};
  Ipv4ViewMut view(d);
  if (view.check_header()) view.fill_checksum();
  return d;
}

TEST(Ipv4, DecodesCapturedHeader) {
  auto view = Ipv4View::checked(kEchoRequest);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->version(), 4);
  EXPECT_EQ(view->ihl(), 5);
  EXPECT_EQ(view->header_len(), 20U);
  EXPECT_EQ(view->dscp(), 0);
  EXPECT_EQ(view->ecn(), 0);
  EXPECT_EQ(view->total_len(), 44);
  EXPECT_EQ(view->ident(), 0x3d08);
  EXPECT_FALSE(view->reserved_flag());
  EXPECT_TRUE(view->dont_frag());
  EXPECT_FALSE(view->more_frags());
  EXPECT_EQ(view->frag_offset(), 0);
  EXPECT_EQ(view->ttl(), 64);
  EXPECT_EQ(view->protocol(), IpProtocol::Icmp);
  EXPECT_EQ(view->checksum(), 0xe72c);
  EXPECT_EQ(view->src(), kHostA);
  EXPECT_EQ(view->dst(), kHostB);
  EXPECT_TRUE(view->options().empty());
  EXPECT_EQ(view->payload().size(), 24U);
  EXPECT_EQ(std::to_integer<int>(view->payload()[0]), 8);  // ICMP echo request
  EXPECT_TRUE(view->verify_checksum());
}

// RFC 791 §3.1: IHL is the header length in 32-bit words; options fill the words past five.
TEST(Ipv4, DecodesCapturedOptions) {
  auto view = Ipv4View::checked(kRecordRoute);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->ihl(), 15);
  EXPECT_EQ(view->header_len(), 60U);
  EXPECT_TRUE(std::ranges::equal(view->options(), kRecordRouteOptions));
  EXPECT_EQ(view->payload().size(), 24U);
  EXPECT_TRUE(view->verify_checksum());
}

// RFC 791 §3.1: the fragment offset is measured in units of 8 octets.
TEST(Ipv4, DecodesCapturedFragments) {
  auto middle = Ipv4View::checked(kMiddleFragment);
  ASSERT_TRUE(middle);
  EXPECT_FALSE(middle->dont_frag());
  EXPECT_TRUE(middle->more_frags());
  EXPECT_EQ(middle->frag_offset(), 1480);
  EXPECT_EQ(middle->payload().size(), 1480U);
  EXPECT_TRUE(middle->verify_checksum());

  auto last = Ipv4View::checked(kLastFragment);
  ASSERT_TRUE(last);
  EXPECT_FALSE(last->more_frags());
  EXPECT_EQ(last->frag_offset(), 2960);
  EXPECT_EQ(last->ident(), middle->ident());
  EXPECT_TRUE(last->verify_checksum());
}

TEST(Ipv4, BuildsWithSetters) {
  auto buf = poisoned(kEchoRequest.size());
  Ipv4ViewMut view(buf);
  view.set_version(4);
  view.set_header_len(20);
  view.set_dscp(0);
  view.set_ecn(0);
  view.set_total_len(44);
  view.set_ident(0x3d08);
  view.set_frag_offset(0);
  view.set_reserved_flag(false);
  view.set_dont_frag(true);
  view.set_more_frags(false);
  view.set_ttl(64);
  view.set_protocol(IpProtocol::Icmp);
  view.set_src(kHostA);
  view.set_dst(kHostB);
  std::copy(kEchoRequest.begin() + 20, kEchoRequest.end(), view.payload().begin());
  view.fill_checksum();
  EXPECT_EQ(buf, kEchoRequest);
}

TEST(Ipv4, SettersKeepNeighbouringBits) {
  auto buf = kMiddleFragment;
  Ipv4ViewMut view(buf);
  view.set_frag_offset(8);
  EXPECT_TRUE(view.more_frags());
  EXPECT_EQ(view.frag_offset(), 8);
  view.set_more_frags(false);
  EXPECT_EQ(view.frag_offset(), 8);
  view.set_dscp(46);  // EF
  view.set_ecn(2);    // ECT(0)
  EXPECT_EQ(view.dscp(), 46);
  EXPECT_EQ(view.ecn(), 2);
  EXPECT_EQ(view.version(), 4);
  EXPECT_EQ(view.header_len(), 20U);
  view.set_header_len(24);
  EXPECT_EQ(view.version(), 4);
  EXPECT_EQ(view.ihl(), 6);
}

TEST(Ipv4, ParsesToRepr) {
  auto repr = Ipv4Repr::parse(Ipv4View(kEchoRequest), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, echo_request_repr());
  EXPECT_EQ(repr->header_len(), 20U);
  EXPECT_EQ(repr->buffer_len(), 44U);
}

TEST(Ipv4, ParsesOptionsVerbatim) {
  auto repr = Ipv4Repr::parse(Ipv4View(kRecordRoute), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_TRUE(std::ranges::equal(repr->options.bytes(), kRecordRouteOptions));
  EXPECT_EQ(repr->header_len(), 60U);
  EXPECT_EQ(repr->payload_len, 24U);
}

TEST(Ipv4, ParsesFragmentFields) {
  auto repr = Ipv4Repr::parse(Ipv4View(kMiddleFragment), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_FALSE(repr->dont_frag);
  EXPECT_TRUE(repr->more_frags);
  EXPECT_EQ(repr->frag_offset, 1480);
  EXPECT_EQ(repr->payload_len, 1480U);
}

TEST(Ipv4, EmitsEveryHeaderByte) {
  auto buf = poisoned(20);
  echo_request_repr().emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, std::vector<std::byte>(kEchoRequest.begin(), kEchoRequest.begin() + 20));
}

TEST(Ipv4, EmitsOptionsAndDerivesHeaderLen) {
  auto repr = Ipv4Repr::parse(Ipv4View(kRecordRoute), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  auto buf = poisoned(60);
  repr->emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, std::vector<std::byte>(kRecordRoute.begin(), kRecordRoute.begin() + 60));
}

TEST(Ipv4, EmitsFragmentFields) {
  for (const auto* datagram : {&kMiddleFragment, &kLastFragment}) {
    auto repr = Ipv4Repr::parse(Ipv4View(*datagram), ChecksumPolicy::all());
    ASSERT_TRUE(repr);
    auto buf = poisoned(datagram->size());
    store_bytes(buf, 20, Bytes(*datagram).subspan(20));
    repr->emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
    EXPECT_EQ(buf, *datagram);
  }
}

TEST(Ipv4, EmitWithoutFillTxWritesZeroChecksum) {
  auto buf = poisoned(20);
  echo_request_repr().emit(Ipv4ViewMut(buf), ChecksumPolicy::none());
  EXPECT_EQ(Ipv4View(buf).checksum(), 0);
  auto expected = std::vector<std::byte>(kEchoRequest.begin(), kEchoRequest.begin() + 20);
  expected[10] = expected[11] = std::byte{0};
  EXPECT_EQ(buf, expected);
}

TEST(Ipv4, EmitTouchesOnlyTheHeader) {
  auto buf = poisoned(44);
  echo_request_repr().emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_TRUE(
      std::all_of(buf.begin() + 20, buf.end(), [](auto b) { return b == std::byte{0xa5}; }));
}

// RFC 791 §3.1: Total Length counts header and data; bytes past it (Ethernet padding) are not
// part of the datagram.
TEST(Ipv4, PayloadStopsAtTotalLen) {
  auto padded = kEchoRequest;
  padded.resize(46, std::byte{0});  // a 60-byte Ethernet frame's padding
  auto view = Ipv4View::checked(padded);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->payload().size(), 24U);
  auto repr = Ipv4Repr::parse(*view, ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->payload_len, 24U);
}

// RFC 791 §3.1: the reserved flag must be zero. Accepted on input but not kept; emit clears it.
TEST(Ipv4, ReservedFlagIsAcceptedButNotKept) {
  const auto evil = patched(kEchoRequest, 6, 0xc0);  // reserved + DF
  EXPECT_TRUE(Ipv4View(evil).reserved_flag());
  auto repr = Ipv4Repr::parse(Ipv4View(evil), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, echo_request_repr());
  auto buf = poisoned(20);
  repr->emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_FALSE(Ipv4View(buf).reserved_flag());
  EXPECT_TRUE(Ipv4View(buf).dont_frag());
}

TEST(Ipv4, UnknownProtocolIsRepresentable) {
  const auto d = patched(kEchoRequest, 9, 0xfd);  // RFC 3692 experimental
  auto repr = Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(static_cast<std::uint8_t>(repr->protocol), 0xfd);
  auto buf = poisoned(20);
  repr->emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, std::vector<std::byte>(d.begin(), d.begin() + 20));
}

TEST(Ipv4, DscpAndEcnRoundTrip) {
  const auto d = patched(kEchoRequest, 1, 0xb9);  // DSCP 46 (EF), ECN 1 (ECT(1))
  auto repr = Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->dscp, 46);
  EXPECT_EQ(repr->ecn, 1);
  auto buf = poisoned(20);
  repr->emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
  EXPECT_EQ(buf, std::vector<std::byte>(d.begin(), d.begin() + 20));
}

TEST(Ipv4, OptionsCompareOnlyTheirLength) {
  auto a = Ipv4Options::from_bytes(kRecordRouteOptions);
  auto b = a;
  b.buf[39] = std::byte{0x77};
  EXPECT_NE(a, b);
  a.len = b.len = 4;
  EXPECT_EQ(a, b);
}

TEST(Ipv4, RejectsTruncatedHeader) {
  for (std::size_t len = 0; len < 20; ++len) {
    const Ipv4View view(Bytes(kEchoRequest).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(view.check_header().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(Ipv4Repr::parse(view, ChecksumPolicy::none()).error(), Errc::truncated);
    EXPECT_EQ(Ipv4Repr::parse_quoted(view).error(), Errc::truncated);
  }
}

// RFC 791 §3.1: the version field is 4.
TEST(Ipv4, RejectsVersionOtherThanFour) {
  for (unsigned version : {0U, 5U, 6U, 15U}) {
    const auto d = patched(kEchoRequest, 0, static_cast<std::uint8_t>((version << 4) | 5));
    EXPECT_EQ(Ipv4View(d).check().error(), Errc::bad_version) << version;
    EXPECT_EQ(Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::none()).error(), Errc::bad_version);
    EXPECT_EQ(Ipv4Repr::parse_quoted(Ipv4View(d)).error(), Errc::bad_version);
  }
}

// RFC 791 §3.1: IHL is the header length in 32-bit words; minimum 5.
TEST(Ipv4, RejectsHeaderLenBelowFive) {
  for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
    auto d = kEchoRequest;
    d[0] = std::byte{static_cast<std::uint8_t>(0x40 | ihl)};
    EXPECT_EQ(Ipv4View(d).check().error(), Errc::bad_header_len) << int{ihl};
    EXPECT_EQ(Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::none()).error(), Errc::bad_header_len);
    EXPECT_EQ(Ipv4Repr::parse_quoted(Ipv4View(d)).error(), Errc::bad_header_len);
  }
}

TEST(Ipv4, RejectsHeaderLenPastBuffer) {
  // The record-route datagram cut inside its options: IHL says 60 bytes, 40 are there.
  const Ipv4View view(Bytes(kRecordRoute).first(40));
  EXPECT_EQ(view.check().error(), Errc::truncated);
  EXPECT_EQ(view.check_header().error(), Errc::truncated);
  EXPECT_EQ(Ipv4Repr::parse(view, ChecksumPolicy::none()).error(), Errc::truncated);
  EXPECT_EQ(Ipv4Repr::parse_quoted(view).error(), Errc::truncated);
}

// RFC 791 §3.1: Total Length counts the header and the data.
TEST(Ipv4, RejectsTotalLenBelowHeaderLen) {
  auto d = kRecordRoute;  // header_len 60
  Ipv4ViewMut(d).set_total_len(59);
  EXPECT_EQ(Ipv4View(d).check().error(), Errc::bad_length);
  EXPECT_EQ(Ipv4View(d).check_header().error(), Errc::bad_length);
  EXPECT_EQ(Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::none()).error(), Errc::bad_length);
  EXPECT_EQ(Ipv4Repr::parse_quoted(Ipv4View(d)).error(), Errc::bad_length);
  Ipv4ViewMut(d).set_total_len(60);  // a header without data is fine
  EXPECT_TRUE(Ipv4View(d).check());
}

TEST(Ipv4, RejectsTotalLenPastBuffer) {
  const Ipv4View view(Bytes(kEchoRequest).first(43));
  EXPECT_EQ(view.check().error(), Errc::truncated);
  EXPECT_EQ(Ipv4Repr::parse(view, ChecksumPolicy::none()).error(), Errc::truncated);
}

// RFC 1122 §3.2.1.2: a host must verify the header checksum and discard on failure.
TEST(Ipv4, RejectsBadChecksum) {
  auto d = kEchoRequest;
  d[8] = std::byte{63};  // TTL changed, checksum left as it was
  EXPECT_TRUE(Ipv4View(d).check());
  EXPECT_FALSE(Ipv4View(d).verify_checksum());
  EXPECT_EQ(Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::all()).error(), Errc::bad_checksum);
  auto repr = Ipv4Repr::parse(Ipv4View(d), ChecksumPolicy::none());
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->ttl, 63);
}

// The header quoted in an ICMP error: Linux quotes at most 576 bytes, so Total Length usually
// runs past the quote; the checksum is not verified.
TEST(Ipv4, ParsesQuotedHeaderCutShort) {
  const Ipv4View quote(Bytes(kMiddleFragment).first(28));
  EXPECT_EQ(quote.check().error(), Errc::truncated);
  EXPECT_TRUE(quote.check_header());
  EXPECT_EQ(quote.payload().size(), 8U);  // what is present, not Total Length
  auto repr = Ipv4Repr::parse_quoted(quote);
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->payload_len, 1480U);  // as the quoted Total Length declares
  EXPECT_EQ(repr->frag_offset, 1480);

  auto bad_sum = kEchoRequest;
  bad_sum[8] = std::byte{1};
  EXPECT_TRUE(Ipv4Repr::parse_quoted(Ipv4View(bad_sum)));
}

// RFC 791 §3.1: the offset is in units of 8 octets, so a byte offset must be a multiple of 8.
TEST(Ipv4DeathTest, EmitRequiresFragOffsetMultipleOfEight) {
  auto repr = echo_request_repr();
  repr.frag_offset = 12;
  auto buf = poisoned(20);
  EXPECT_DEATH(repr.emit(Ipv4ViewMut(buf), ChecksumPolicy::all()), "");
}

TEST(Ipv4DeathTest, EmitRequiresOptionsMultipleOfFour) {
  auto repr = echo_request_repr();
  repr.options = Ipv4Options::from_bytes(from_hex("01 01 01"));
  auto buf = poisoned(24);
  EXPECT_DEATH(repr.emit(Ipv4ViewMut(buf), ChecksumPolicy::all()), "");
}

// Every IPv4 datagram of a Linux capture parses with its checksum verified, and re-emits (the
// payload copied into place first, then the header emitted) to exactly the captured bytes.
// The parsed reprs are appended to *parsed.
void expect_every_datagram_round_trips(std::string_view name, std::vector<Ipv4Repr>* parsed) {
  const auto capture = test::load_capture(name);
  std::size_t seen = 0;
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    Bytes ip = capture.frames[i].span();
    if (capture.link_type == LinkType::Ethernet) {
      auto eth = EthernetView::checked(ip);
      ASSERT_TRUE(eth) << name << " frame " << i;
      if (eth->ethertype() != EtherType::Ipv4) continue;
      ip = eth->payload();
    }
    const Ipv4View view(ip);
    auto repr = Ipv4Repr::parse(view, ChecksumPolicy::all());
    ASSERT_TRUE(repr) << name << " frame " << i << ": " << repr.error().message();
    auto buf = poisoned(repr->buffer_len());
    std::ranges::copy(view.payload(), buf.begin() + static_cast<std::ptrdiff_t>(view.header_len()));
    repr->emit(Ipv4ViewMut(buf), ChecksumPolicy::all());
    EXPECT_EQ(test::to_hex(buf), test::to_hex(ip.first(view.total_len())))
        << name << " frame " << i;
    parsed->push_back(*repr);
    ++seen;
  }
  EXPECT_GT(seen, 0U) << name;
}

TEST(Ipv4, CapturedPingRoundTrips) {
  std::vector<Ipv4Repr> parsed;
  expect_every_datagram_round_trips("ping.pcap", &parsed);
  EXPECT_TRUE(std::ranges::all_of(parsed, [](auto& r) { return r.protocol == IpProtocol::Icmp; }));
}

TEST(Ipv4, CapturedRecordRouteRoundTrips) {
  std::vector<Ipv4Repr> parsed;
  expect_every_datagram_round_trips("ping_record_route.pcap", &parsed);
  EXPECT_TRUE(std::ranges::any_of(parsed, [](auto& r) { return !r.options.empty(); }));
}

TEST(Ipv4, CapturedFragmentsRoundTrip) {
  std::vector<Ipv4Repr> parsed;
  expect_every_datagram_round_trips("ping_frag.pcap", &parsed);
  EXPECT_TRUE(std::ranges::any_of(parsed, [](auto& r) { return r.more_frags; }));
  EXPECT_TRUE(std::ranges::any_of(parsed, [](auto& r) { return r.frag_offset > 0; }));
}

TEST(Ipv4, CapturedUdpRoundTrips) {
  std::vector<Ipv4Repr> parsed;
  expect_every_datagram_round_trips("udp.pcap", &parsed);
  EXPECT_TRUE(std::ranges::any_of(parsed, [](auto& r) { return r.protocol == IpProtocol::Udp; }));
}

TEST(Ipv4, CapturedIcmpErrorsRoundTrip) {
  std::vector<Ipv4Repr> parsed;
  expect_every_datagram_round_trips("icmp_errors.pcap", &parsed);
}

}  // namespace
}  // namespace tapir::wire
