// UDP codec: the four kinds of wire test (captured bytes, setters, parse, emit into 0xA5), the
// checksum rules of RFC 768 (zero = none sent, computed zero sent as 0xFFFF), every rejection
// path, and every UDP datagram of the Linux captures re-emitted byte for byte.
#include "stack/wire/udp.hpp"

#include <algorithm>
#include <string_view>

#include <gtest/gtest.h>

#include "stack/wire/ethernet.hpp"
#include "stack/wire/ipv4.hpp"
#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::from_hex;
using test::poisoned;

const Ipv4Address kHostA(10, 77, 1, 2);
const Ipv4Address kRouter(10, 77, 1, 1);
const Ipv4Address kHostB(10, 77, 2, 2);

// From Linux netns over veths with transmit checksum offload off (so the checksums on the wire
// are complete). The UDP datagrams only (the IPv4 payload).

// "hello tapir" from 10.77.1.2:36707 to 10.77.2.2:7777.
const auto kPayload = from_hex("68656c6c6f207461706972");
const auto kHello = from_hex("8f63 1e61 0013 9fa8 68656c6c6f207461706972");
// An empty datagram from 10.77.1.2:49141 to 10.77.1.1:9.
const auto kEmpty = from_hex("bff5 0009 0008 2943");
// "no checksum" sent with SO_NO_CHECK from 10.77.1.2:45578 to 10.77.1.1:9: checksum field zero.
const auto kNoChecksum = from_hex("b20a 0009 0013 0000 6e6f20636865636b73756d");

TEST(Udp, DecodesCapturedHeader) {
  auto view = UdpView::checked(kHello);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->src_port(), 36707);
  EXPECT_EQ(view->dst_port(), 7777);
  EXPECT_EQ(view->len(), 19);
  EXPECT_EQ(view->checksum(), 0x9fa8);
  EXPECT_TRUE(std::ranges::equal(view->payload(), kPayload));
  EXPECT_TRUE(view->verify_checksum(kHostA, kHostB));
  EXPECT_FALSE(view->verify_checksum(kHostA, kRouter));  // the pseudo-header takes part
}

TEST(Udp, BuildsWithSetters) {
  auto buf = poisoned(kHello.size());
  UdpViewMut view(buf);
  view.set_src_port(36707);
  view.set_dst_port(7777);
  view.set_len(19);
  std::ranges::copy(kPayload, view.payload().begin());
  view.fill_checksum(kHostA, kHostB);
  EXPECT_EQ(buf, kHello);
}

TEST(Udp, ParsesToRepr) {
  auto repr = UdpRepr::parse(UdpView(kHello), kHostA, kHostB, ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (UdpRepr{36707, 7777, 11}));
  EXPECT_EQ(repr->buffer_len(), 19U);
  auto empty = UdpRepr::parse(UdpView(kEmpty), kHostA, kRouter, ChecksumPolicy::all());
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, (UdpRepr{49141, 9, 0}));
}

// The payload is in place before emit (the checksum covers it); emit writes the header.
TEST(Udp, EmitsEveryHeaderByte) {
  const UdpRepr repr{36707, 7777, 11};
  auto buf = poisoned(repr.buffer_len());
  std::ranges::copy(kPayload, buf.begin() + 8);
  repr.emit(UdpViewMut(buf), kHostA, kHostB, ChecksumPolicy::all());
  EXPECT_EQ(buf, kHello);

  const UdpRepr empty{49141, 9, 0};
  buf = poisoned(empty.buffer_len());
  empty.emit(UdpViewMut(buf), kHostA, kRouter, ChecksumPolicy::all());
  EXPECT_EQ(buf, kEmpty);
}

// Without fill_tx the checksum field is zero: RFC 768, no checksum sent.
TEST(Udp, EmitWithoutFillTxSendsNoChecksum) {
  const UdpRepr repr{45578, 9, 11};
  auto buf = poisoned(repr.buffer_len());
  std::copy(kNoChecksum.begin() + 8, kNoChecksum.end(), buf.begin() + 8);
  repr.emit(UdpViewMut(buf), kHostA, kRouter, ChecksumPolicy::none());
  EXPECT_EQ(buf, kNoChecksum);
}

// RFC 768: if the computed checksum is zero, it is transmitted as all ones.
TEST(Udp, ComputedZeroChecksumIsSentAsAllOnes) {
  // Two payload bytes equal to the checksum of the datagram with a zero payload make the
  // ones' complement sum all ones, so the computed checksum is zero.
  const UdpRepr repr{1234, 5678, 2};
  auto buf = poisoned(repr.buffer_len());
  buf[8] = buf[9] = std::byte{0};
  repr.emit(UdpViewMut(buf), kHostA, kHostB, ChecksumPolicy::all());
  const std::uint16_t sum = UdpView(buf).checksum();
  store_be16(buf, 8, sum);
  repr.emit(UdpViewMut(buf), kHostA, kHostB, ChecksumPolicy::all());
  EXPECT_EQ(UdpView(buf).checksum(), 0xffff);
  EXPECT_TRUE(UdpView(buf).verify_checksum(kHostA, kHostB));
  EXPECT_TRUE(UdpRepr::parse(UdpView(buf), kHostA, kHostB, ChecksumPolicy::all()));
}

// RFC 768 and RFC 1122 §4.1.3.4: a zero checksum field means none was sent; accept it.
TEST(Udp, AcceptsZeroChecksum) {
  EXPECT_FALSE(UdpView(kNoChecksum).verify_checksum(kHostA, kRouter));
  auto repr = UdpRepr::parse(UdpView(kNoChecksum), kHostA, kRouter, ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (UdpRepr{45578, 9, 11}));
}

// RFC 768: Length counts header and data; bytes after it (padding) are not the datagram's.
TEST(Udp, PayloadStopsAtLen) {
  auto padded = kHello;
  padded.resize(kHello.size() + 7, std::byte{0});
  auto view = UdpView::checked(padded);
  ASSERT_TRUE(view);
  EXPECT_TRUE(std::ranges::equal(view->payload(), kPayload));
  EXPECT_TRUE(view->verify_checksum(kHostA, kHostB));
  auto repr = UdpRepr::parse(*view, kHostA, kHostB, ChecksumPolicy::all());
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->payload_len, 11U);
}

TEST(Udp, RejectsTruncatedHeader) {
  for (std::size_t len = 0; len < 8; ++len) {
    const UdpView view(Bytes(kHello).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(UdpRepr::parse(view, kHostA, kHostB, ChecksumPolicy::none()).error(),
              Errc::truncated);
  }
}

// RFC 768: Length counts the header and the data, so its minimum value is eight.
TEST(Udp, RejectsLenBelowEight) {
  for (std::uint16_t len = 0; len < 8; ++len) {
    auto d = kHello;
    UdpViewMut(d).set_len(len);
    EXPECT_EQ(UdpView(d).check().error(), Errc::bad_length) << len;
    EXPECT_EQ(UdpRepr::parse(UdpView(d), kHostA, kHostB, ChecksumPolicy::none()).error(),
              Errc::bad_length);
  }
}

TEST(Udp, RejectsLenPastBuffer) {
  const UdpView view(Bytes(kHello).first(18));
  EXPECT_EQ(view.check().error(), Errc::truncated);
  EXPECT_EQ(UdpRepr::parse(view, kHostA, kHostB, ChecksumPolicy::none()).error(), Errc::truncated);
}

// RFC 1122 §4.1.3.4: a datagram whose (non-zero) checksum does not verify is discarded.
TEST(Udp, RejectsBadChecksum) {
  auto d = kHello;
  d.back() ^= std::byte{0x20};
  EXPECT_EQ(UdpRepr::parse(UdpView(d), kHostA, kHostB, ChecksumPolicy::all()).error(),
            Errc::bad_checksum);
  EXPECT_TRUE(UdpRepr::parse(UdpView(d), kHostA, kHostB, ChecksumPolicy::none()));
  // The right bytes under the wrong pseudo-header do not verify either.
  EXPECT_EQ(UdpRepr::parse(UdpView(kHello), kHostA, kRouter, ChecksumPolicy::all()).error(),
            Errc::bad_checksum);
}

// Every UDP datagram of a Linux capture parses with its checksum verified (or none sent) and
// re-emits (payload copied into place first, then the header emitted) to the captured bytes.
void expect_every_datagram_round_trips(std::string_view name, std::size_t* seen) {
  const auto capture = test::load_capture(name);
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    Bytes bytes = capture.frames[i].span();
    if (capture.link_type == LinkType::Ethernet) {
      auto eth = EthernetView::checked(bytes);
      ASSERT_TRUE(eth) << name << " frame " << i;
      if (eth->ethertype() != EtherType::Ipv4) continue;
      bytes = eth->payload();
    }
    auto ip = Ipv4View::checked(bytes);
    ASSERT_TRUE(ip) << name << " frame " << i;
    if (ip->protocol() != IpProtocol::Udp || ip->more_frags() || ip->frag_offset() != 0) continue;
    const UdpView view(ip->payload());
    auto repr = UdpRepr::parse(view, ip->src(), ip->dst(), ChecksumPolicy::all());
    ASSERT_TRUE(repr) << name << " frame " << i << ": " << repr.error().message();
    auto buf = poisoned(repr->buffer_len());
    std::ranges::copy(view.payload(), buf.begin() + 8);
    const auto policy = view.checksum() == 0 ? ChecksumPolicy::none() : ChecksumPolicy::all();
    repr->emit(UdpViewMut(buf), ip->src(), ip->dst(), policy);
    EXPECT_EQ(test::to_hex(buf), test::to_hex(view.buffer().first(view.len())))
        << name << " frame " << i;
    ++*seen;
  }
}

TEST(Udp, CapturedDatagramsRoundTrip) {
  std::size_t seen = 0;
  expect_every_datagram_round_trips("udp.pcap", &seen);
  EXPECT_GT(seen, 0U);
}

}  // namespace
}  // namespace tapir::wire
