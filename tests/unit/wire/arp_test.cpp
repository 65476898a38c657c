// ARP codec (RFC 826): the four kinds of wire test (captured bytes, setters, parse, emit into
// 0xA5), the captured arp.pcap round trip, and every rejection path of check() and parse().
#include "stack/wire/arp.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::from_hex;
using test::poisoned;

const MacAddress kMacA({0x02, 0xa7, 0xc8, 0x50, 0x30, 0x0d});
const MacAddress kMacB({0x8e, 0x58, 0x9c, 0xfb, 0x60, 0x9f});
const Ipv4Address kIpA(10, 0, 0, 1);
const Ipv4Address kIpB(10, 0, 0, 2);

// Linux 6.x over a veth, captured with tcpdump: 10.0.0.1 asks for 10.0.0.2 (the kernel's own
// request, 42 bytes, unpadded) ...
const auto kRequestFrame = from_hex(
    "ffffffffffff 02a7c850300d 0806"
    "0001 0800 06 04 0001 02a7c850300d 0a000001 000000000000 0a000002");
// ... and 10.0.0.2 answers.
const auto kReplyFrame = from_hex(
    "02a7c850300d 8e589cfb609f 0806"
    "0001 0800 06 04 0002 8e589cfb609f 0a000002 02a7c850300d 0a000001");
// The kernel's gratuitous ARP (arp_notify=1, after a MAC change): a request for its own address.
const auto kGratuitousFrame = from_hex(
    "ffffffffffff 02a7c850300e 0806"
    "0001 0800 06 04 0001 02a7c850300e 0a000001 000000000000 0a000001");
// iputils arping pads its request to 58 bytes: 16 bytes after the ARP packet.
const auto kArpingFrame = from_hex(
    "ffffffffffff 02a7c850300d 0806"
    "0001 0800 06 04 0001 02a7c850300d 0a000001 000000000000 0a000002"
    "00000000000000000000000000000000");

Bytes arp_of(const std::vector<std::byte>& frame) {
  return Bytes(frame).subspan(14);
}

std::vector<std::byte> arp_copy(const std::vector<std::byte>& frame) {
  return {frame.begin() + 14, frame.end()};
}

const ArpRepr kRequest{ArpOperation::Request, kMacA, kIpA, MacAddress{}, kIpB};
const ArpRepr kReply{ArpOperation::Reply, kMacB, kIpB, kMacA, kIpA};

TEST(Arp, DecodesCapturedRequest) {
  auto view = ArpView::checked(arp_of(kRequestFrame));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->hardware_type(), ArpHardwareType::Ethernet);
  EXPECT_EQ(view->protocol_type(), EtherType::Ipv4);
  EXPECT_EQ(view->hardware_len(), 6);
  EXPECT_EQ(view->protocol_len(), 4);
  EXPECT_EQ(view->operation(), ArpOperation::Request);
  EXPECT_EQ(view->packet_len(), 28U);
  ASSERT_TRUE(view->is_ethernet_ipv4());
  EXPECT_EQ(view->sender_hardware_addr(), kMacA);
  EXPECT_EQ(view->sender_protocol_addr(), kIpA);
  EXPECT_EQ(view->target_hardware_addr(), MacAddress{});
  EXPECT_EQ(view->target_protocol_addr(), kIpB);
  EXPECT_TRUE(view->padding().empty());
}

TEST(Arp, DecodesCapturedReply) {
  auto view = ArpView::checked(arp_of(kReplyFrame));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->operation(), ArpOperation::Reply);
  EXPECT_EQ(view->sender_hardware_addr(), kMacB);
  EXPECT_EQ(view->sender_protocol_addr(), kIpB);
  EXPECT_EQ(view->target_hardware_addr(), kMacA);
  EXPECT_EQ(view->target_protocol_addr(), kIpA);
}

// RFC 5227 §3: a gratuitous ARP (an announcement) is a request whose sender and target
// protocol addresses are both the sender's own address.
TEST(Arp, DecodesCapturedGratuitousArp) {
  auto repr = ArpRepr::parse(ArpView(arp_of(kGratuitousFrame)));
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->operation, ArpOperation::Request);
  EXPECT_EQ(repr->source_protocol_addr, repr->target_protocol_addr);
  EXPECT_EQ(repr->source_hardware_addr, MacAddress({0x02, 0xa7, 0xc8, 0x50, 0x30, 0x0e}));
}

TEST(Arp, RawAddressBytesFollowTheLengths) {
  const ArpView view(arp_of(kReplyFrame));
  ASSERT_TRUE(view.check());
  const auto frame = Bytes(kReplyFrame);
  EXPECT_TRUE(std::ranges::equal(view.sender_hardware_bytes(), frame.subspan(22, 6)));
  EXPECT_TRUE(std::ranges::equal(view.sender_protocol_bytes(), frame.subspan(28, 4)));
  EXPECT_TRUE(std::ranges::equal(view.target_hardware_bytes(), frame.subspan(32, 6)));
  EXPECT_TRUE(std::ranges::equal(view.target_protocol_bytes(), frame.subspan(38, 4)));

  // Any other hardware/protocol pair: hlen 2, plen 3 -> 8 + 2 * 5 = 18 bytes, then padding.
  const auto other = from_hex("0006 1234 02 03 0001 aaaa bbbbbb cccc dddddd eeee");
  const ArpView v(other);
  ASSERT_TRUE(v.check());
  EXPECT_FALSE(v.is_ethernet_ipv4());
  EXPECT_EQ(v.packet_len(), 18U);
  EXPECT_EQ(test::to_hex(v.sender_hardware_bytes()), "aaaa");
  EXPECT_EQ(test::to_hex(v.sender_protocol_bytes()), "bbbbbb");
  EXPECT_EQ(test::to_hex(v.target_hardware_bytes()), "cccc");
  EXPECT_EQ(test::to_hex(v.target_protocol_bytes()), "dddddd");
  EXPECT_EQ(test::to_hex(v.padding()), "eeee");
}

TEST(Arp, BuildsWithSetters) {
  const auto expected = arp_copy(kReplyFrame);
  auto buf = poisoned(expected.size());
  const ArpViewMut view(buf);
  view.set_hardware_type(ArpHardwareType::Ethernet);
  view.set_protocol_type(EtherType::Ipv4);
  view.set_hardware_len(6);
  view.set_protocol_len(4);
  view.set_operation(ArpOperation::Reply);
  view.set_sender_hardware_addr(kMacB);
  view.set_sender_protocol_addr(kIpB);
  view.set_target_hardware_addr(kMacA);
  view.set_target_protocol_addr(kIpA);
  EXPECT_EQ(buf, expected);
}

TEST(Arp, ParsesToRepr) {
  auto request = ArpRepr::parse(ArpView(arp_of(kRequestFrame)));
  ASSERT_TRUE(request);
  EXPECT_EQ(*request, kRequest);
  auto reply = ArpRepr::parse(ArpView(arp_of(kReplyFrame)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, kReply);
}

TEST(Arp, EmitsEveryByte) {
  EXPECT_EQ(ArpRepr::buffer_len(), 28U);
  auto buf = poisoned(ArpRepr::buffer_len());
  kRequest.emit(ArpViewMut(buf));
  EXPECT_EQ(buf, arp_copy(kRequestFrame));
  buf = poisoned(ArpRepr::buffer_len());
  kReply.emit(ArpViewMut(buf));
  EXPECT_EQ(buf, arp_copy(kReplyFrame));
}

// Frames from NICs and some stacks are padded to 60 bytes (iputils arping pads to 58): the
// bytes after the 28-byte packet are padding and are ignored.
TEST(Arp, IgnoresTrailingPadding) {
  const ArpView view(arp_of(kArpingFrame));
  ASSERT_TRUE(view.check());
  EXPECT_EQ(view.padding().size(), 16U);
  auto repr = ArpRepr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kRequest);

  auto padded60 = kRequestFrame;
  padded60.resize(60, std::byte{0x5a});
  auto repr60 = ArpRepr::parse(ArpView(arp_of(padded60)));
  ASSERT_TRUE(repr60);
  EXPECT_EQ(*repr60, kRequest);
}

TEST(Arp, UnknownOperationIsRepresentable) {
  auto packet = arp_copy(kRequestFrame);
  packet[7] = std::byte{3};  // RFC 903 RARP request
  auto repr = ArpRepr::parse(ArpView(packet));
  ASSERT_TRUE(repr);
  EXPECT_EQ(static_cast<std::uint16_t>(repr->operation), 3);
  auto buf = poisoned(ArpRepr::buffer_len());
  repr->emit(ArpViewMut(buf));
  EXPECT_EQ(buf, packet);
}

TEST(Arp, RejectsTruncatedFixedPart) {
  const auto packet = arp_copy(kRequestFrame);
  for (std::size_t len = 0; len < ArpView::header_len; ++len) {
    const ArpView view(Bytes(packet).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(ArpRepr::parse(view).error(), Errc::truncated) << "len " << len;
  }
}

// RFC 826, Packet format: the fixed part is followed by two hardware addresses of ar$hln bytes
// and two protocol addresses of ar$pln bytes.
TEST(Arp, RejectsAddressesPastTheBuffer) {
  const auto packet = arp_copy(kRequestFrame);
  for (std::size_t len = ArpView::header_len; len < 28; ++len) {
    const ArpView view(Bytes(packet).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(ArpRepr::parse(view).error(), Errc::truncated) << "len " << len;
  }
  EXPECT_TRUE(ArpView(packet).check());

  // The lengths, not the Ethernet/IPv4 layout, decide: hlen 255, plen 255 needs 1028 bytes.
  auto big = packet;
  big[4] = std::byte{0xff};
  big[5] = std::byte{0xff};
  big.resize(1027);
  EXPECT_EQ(ArpView(big).check().error(), Errc::truncated);
  big.resize(1028);
  EXPECT_TRUE(ArpView(big).check());
}

// RFC 826, Packet format: only Ethernet (ar$hrd 1) with IPv4 (ar$pro 0x0800), hlen 6 and plen 4
// is handled by the repr.
TEST(Arp, RejectsNonEthernetHardware) {
  auto packet = arp_copy(kRequestFrame);
  packet[1] = std::byte{6};  // IEEE 802 networks
  EXPECT_TRUE(ArpView(packet).check());
  EXPECT_EQ(ArpRepr::parse(ArpView(packet)).error(), Errc::unsupported);
}

TEST(Arp, RejectsNonIpv4Protocol) {
  auto packet = arp_copy(kRequestFrame);
  packet[2] = std::byte{0x86};  // 0x86dd
  packet[3] = std::byte{0xdd};
  EXPECT_TRUE(ArpView(packet).check());
  EXPECT_EQ(ArpRepr::parse(ArpView(packet)).error(), Errc::unsupported);
}

TEST(Arp, RejectsHardwareLenOtherThanSix) {
  auto packet = arp_copy(kRequestFrame);
  packet[4] = std::byte{8};
  packet.resize(8 + 2 * (8 + 4));
  EXPECT_TRUE(ArpView(packet).check());
  EXPECT_EQ(ArpRepr::parse(ArpView(packet)).error(), Errc::unsupported);
}

TEST(Arp, RejectsProtocolLenOtherThanFour) {
  auto packet = arp_copy(kRequestFrame);
  packet[5] = std::byte{16};
  packet.resize(8 + 2 * (6 + 16));
  EXPECT_TRUE(ArpView(packet).check());
  EXPECT_EQ(ArpRepr::parse(ArpView(packet)).error(), Errc::unsupported);
}

// tests/captures/arp.pcap: every ARP frame parses and re-emits to its own 28 bytes.
TEST(Arp, EveryCapturedFrameRoundTrips) {
  const auto capture = test::load_capture("arp.pcap");
  ASSERT_EQ(capture.link_type, LinkType::Ethernet);
  int requests = 0;
  int replies = 0;
  int gratuitous = 0;
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    const auto frame = capture.frames[i].span();
    auto eth = EthernetView::checked(frame);
    ASSERT_TRUE(eth) << "frame " << i;
    if (eth->ethertype() != EtherType::Arp) continue;
    const ArpView view(eth->payload());
    auto repr = ArpRepr::parse(view);
    ASSERT_TRUE(repr) << "frame " << i << ": " << repr.error().message();
    auto buf = poisoned(ArpRepr::buffer_len());
    repr->emit(ArpViewMut(buf));
    EXPECT_EQ(test::to_hex(buf), test::to_hex(eth->payload().first(28))) << "frame " << i;
    requests += repr->operation == ArpOperation::Request ? 1 : 0;
    replies += repr->operation == ArpOperation::Reply ? 1 : 0;
    gratuitous += repr->source_protocol_addr == repr->target_protocol_addr ? 1 : 0;
  }
  EXPECT_EQ(requests + replies, static_cast<int>(capture.frames.size()));
  EXPECT_GT(requests, 0);
  EXPECT_GT(replies, 0);
  EXPECT_GT(gratuitous, 0);
}

}  // namespace
}  // namespace tapir::wire
