// Stack, ARP: the reply to a request for our address (against Linux's own reply), requests for
// others, the merge rule, gratuitous ARP, the RFC 5227 announcements at start, and resolution:
// the broadcast request, its retries, giving up, the frames queued meanwhile and their bound.
#include <gtest/gtest.h>

#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using wire::ArpOperation;
using State = link::NeighborCache::State;

constexpr MacAddress kOtherMac({0x0a, 0x00, 0x00, 0x00, 0x00, 0x99});
constexpr Ipv4Address kThirdIp(10, 0, 0, 3);

const Capture& arp_capture() {
  static const Capture c = load_capture("arp.pcap");
  return c;
}

// Queues one datagram to 10.0.0.1:9 from a fresh socket, which the test keeps.
UdpSocket send_one(Host& h, std::string_view text, Ipv4Address to = kPeerIp) {
  auto s = h.udp(0);
  auto r = s.send_to(bytes_of(text), {to, 9});
  EXPECT_TRUE(r) << r.error().message();
  return s;
}

TEST(StackArp, RepliesToARequestForOurAddressAsLinuxDoes) {
  Host h;
  // arp.pcap frame 1: arping from 10.0.0.1 asks who has 10.0.0.2 (58 bytes: a zero trailer).
  h.receive(captured(arp_capture(), 1));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  // RFC 826: swap the sender into the target fields, put our addresses in, send a reply.
  const auto reply = parse_arp(sent[0]);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->eth.dst, kPeerMac);
  EXPECT_EQ(reply->eth.src, kMac);
  EXPECT_EQ(reply->arp.operation, ArpOperation::Reply);
  EXPECT_EQ(reply->arp.source_hardware_addr, kMac);
  EXPECT_EQ(reply->arp.source_protocol_addr, kIp);
  EXPECT_EQ(reply->arp.target_hardware_addr, kPeerMac);
  EXPECT_EQ(reply->arp.target_protocol_addr, kPeerIp);
  // Byte for byte Linux's reply (frame 2, 42 bytes on a veth), padded with zeros to Ethernet's
  // 60-byte minimum (RFC 894).
  auto expected = captured(arp_capture(), 2);
  ASSERT_EQ(expected.size(), 42U);
  expected.resize(wire::EthernetView::min_frame_len, std::byte{0});
  EXPECT_EQ(to_hex(sent[0].bytes), to_hex(expected));
  EXPECT_EQ(h.count("arp.rx_requests"), 1U);
  EXPECT_EQ(h.count("arp.tx_replies"), 1U);
  EXPECT_EQ(h.count("eth.tx_frames"), 1U);
  // The requester is learnt: we are its target.
  const auto* e = h.stack->neighbors().find(h.eth, kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, State::Reachable);
  EXPECT_EQ(e->mac, kPeerMac);
}

TEST(StackArp, RepliesToEachRequestOfTheCapture) {
  Host h;
  h.receive(captured(arp_capture(), 1));
  h.receive(captured(arp_capture(), 3));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  auto expected = captured(arp_capture(), 4);
  expected.resize(60, std::byte{0});
  EXPECT_EQ(sent[1].bytes, expected);
}

TEST(StackArp, NoReplyAndNoEntryForARequestForAnotherAddress) {
  Host h;
  h.receive(arp_request(kPeerMac, kPeerIp, kThirdIp));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("arp.rx_not_for_us"), 1U);
  EXPECT_EQ(h.count("arp.tx_replies"), 0U);
  // RFC 826 "Packet Reception": update the sender's entry if we have one (the merge flag);
  // add it if we are the target. Here we are not, and had none.
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp), nullptr);
}

TEST(StackArp, AReplyNotForUsCreatesNoEntry) {
  Host h;
  // Broadcast, so it reaches ARP, but for a third host.
  h.receive(arp_frame({ArpOperation::Reply, kPeerMac, kPeerIp, kOtherMac, kThirdIp},
                      MacAddress::broadcast()));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("arp.rx_replies"), 1U);
  EXPECT_EQ(h.count("arp.rx_not_for_us"), 1U);
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp), nullptr);
}

TEST(StackArp, MergeUpdatesAnExistingEntryFromAnyArp) {
  Host h;
  h.learn(kPeerIp, kOtherMac);
  ASSERT_EQ(h.stack->neighbors().find(h.eth, kPeerIp)->mac, kOtherMac);
  h.advance(5s);
  // RFC 826 "Packet Reception": update the sender's entry if we have one (the merge flag),
  // whoever the packet is for: here a request for a third host.
  h.receive(arp_request(kPeerMac, kPeerIp, kThirdIp));
  EXPECT_TRUE(h.take().empty());
  const auto* e = h.stack->neighbors().find(h.eth, kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mac, kPeerMac);
  EXPECT_EQ(e->confirmed, h.now);
  // And traffic now goes to the new MAC.
  auto s = send_one(h, "x");
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, kPeerMac);
}

TEST(StackArp, GratuitousArpUpdatesAnExistingEntryOnly) {
  // arp.pcap frames 5 and 6: gratuitous request and reply for 10.0.0.1 (sender = target),
  // broadcast. Neither is for us.
  for (std::size_t frame : {5U, 6U}) {
    SCOPED_TRACE(frame);
    Host fresh;
    fresh.receive(captured(arp_capture(), frame));
    EXPECT_TRUE(fresh.take().empty());
    // RFC 826 "Packet Reception": ... A gratuitous ARP (sender = target) updates an existing
    // entry this way too. With none, nothing is learnt.
    EXPECT_EQ(fresh.stack->neighbors().find(fresh.eth, kPeerIp), nullptr);

    Host known;
    known.learn(kPeerIp, kOtherMac);
    known.receive(captured(arp_capture(), frame));
    EXPECT_TRUE(known.take().empty());
    const auto* e = known.stack->neighbors().find(known.eth, kPeerIp);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->mac, kPeerMac);
  }
}

TEST(StackArp, AProbeForOurAddressIsAnsweredAndTeachesNothing) {
  Host h;
  // RFC 5227 §2.1.1: a probe has sender address 0.0.0.0.
  h.receive(arp_request(kPeerMac, Ipv4Address::any(), kIp));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto reply = parse_arp(sent[0]);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->arp.operation, ArpOperation::Reply);
  EXPECT_EQ(reply->eth.dst, kPeerMac);
  EXPECT_EQ(reply->arp.target_protocol_addr, Ipv4Address::any());
  // RFC 826 "Packet Reception": ... An RFC 5227 probe (sender 0.0.0.0) teaches nothing.
  for (const auto& e : h.stack->neighbors().entries())
    EXPECT_EQ(e.state, State::Free);
}

TEST(StackArp, SendersClaimingOurAddressOrAGroupMacAreNeverLearnt) {
  Host h;
  // A broadcast or own MAC as sender, or someone claiming our address: never learnt.
  h.receive(arp_request(kPeerMac, kIp, kIp));                     // claims our address
  h.receive(arp_request(MacAddress::broadcast(), kPeerIp, kIp));  // group MAC as sender
  h.receive(arp_frame({ArpOperation::Request, kPeerMac, Ipv4Address::broadcast(), {}, kIp},
                      MacAddress::broadcast()));
  h.receive(arp_frame({ArpOperation::Request, kPeerMac, Ipv4Address(224, 0, 0, 9), {}, kIp},
                      MacAddress::broadcast()));
  h.receive(arp_frame({ArpOperation::Request, MacAddress{}, kPeerIp, {}, kIp},  // a zero MAC
                      MacAddress::broadcast()));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("arp.rx_bad_sender"), 5U);
  for (const auto& e : h.stack->neighbors().entries())
    EXPECT_EQ(e.state, State::Free);
}

TEST(StackArp, MalformedAndUnsupportedPacketsAreCounted) {
  Host h;
  auto request = arp_request(kPeerMac, kPeerIp, kIp);
  // Truncated: the addresses cut off.
  h.receive(Bytes(request).first(wire::EthernetView::header_len + 20));
  // Not Ethernet/IPv4: protocol type IPv6.
  auto other = request;
  store_be16(other, wire::EthernetView::header_len + 2, 0x86dd);
  h.receive(other);
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("arp.rx_malformed"), 1U);
  EXPECT_EQ(h.count("arp.rx_unsupported"), 1U);
  EXPECT_EQ(h.count("arp.rx_requests"), 0U);
}

TEST(StackArp, AnnouncesTwiceTwoSecondsApartAtStart) {
  Host h(StackConfig{});  // the default: RFC 5227's ANNOUNCE_NUM 2, ANNOUNCE_INTERVAL 2 s
  EXPECT_LE(h.stack->next_deadline(), h.now);
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  // RFC 5227 §2.3: an ARP announcement is a request with our address as both sender and
  // target (and a zero target MAC), broadcast ANNOUNCE_NUM times ANNOUNCE_INTERVAL apart.
  const auto check_announcement = [&](const SentFrame& f) {
    const auto a = parse_arp(f);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->frame_len, 60U);
    EXPECT_EQ(a->eth.dst, MacAddress::broadcast());
    EXPECT_EQ(a->eth.src, kMac);
    EXPECT_EQ(a->arp, (wire::ArpRepr{ArpOperation::Request, kMac, kIp, MacAddress{}, kIp}));
  };
  check_announcement(sent[0]);
  EXPECT_EQ(h.stack->next_deadline(), kT0 + 2s);
  h.now = kT0 + 2s - 1us;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  h.now = kT0 + 2s;
  h.poll();
  sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  check_announcement(sent[0]);
  EXPECT_EQ(h.stack->next_deadline(), kNever);
  h.now = kT0 + 60s;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("arp.tx_announcements"), 2U);
}

TEST(StackArp, NoAnnouncementsWhenConfiguredOff) {
  Host h;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.stack->next_deadline(), kNever);
}

TEST(StackArp, ResolutionRetriesOncePerSecondThreeTimesThenFails) {
  Host h;
  auto s = send_one(h, "lost");
  int wakes = 0;
  s.set_read_waker([&] { ++wakes; });
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  // RFC 826: a request carries our addresses and the target's protocol address.
  const auto req = parse_arp(sent[0]);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->eth.dst, MacAddress::broadcast());
  EXPECT_EQ(req->arp, (wire::ArpRepr{ArpOperation::Request, kMac, kIp, MacAddress{}, kPeerIp}));
  EXPECT_EQ(req->frame_len, 60U);
  EXPECT_EQ(h.stack->neighbors().pending(), 1U);
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp)->state, State::Incomplete);
  // RFC 1122 §2.3.2.1: at most one per second.
  EXPECT_EQ(h.stack->next_deadline(), kT0 + 1s);
  h.now = kT0 + 1s - 1us;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  for (int i = 1; i <= 2; ++i) {
    h.now = kT0 + i * 1s;
    h.poll();
    sent = h.take();
    ASSERT_EQ(sent.size(), 1U) << "retry " << i;
    EXPECT_TRUE(is_arp_request_for(sent[0], kPeerIp));
  }
  EXPECT_EQ(s.recv_from({}).error(), std::errc::operation_would_block);
  EXPECT_EQ(wakes, 0);
  // RFC 1122 §2.3.2.1: give up after a bounded number of requests.
  h.now = kT0 + 3s;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(s.readable());
  EXPECT_EQ(s.recv_from({}).error(), std::errc::host_unreachable);
  EXPECT_EQ(s.recv_from({}).error(), std::errc::operation_would_block);  // reported once
  EXPECT_EQ(h.count("arp.tx_requests"), 3U);
  EXPECT_EQ(h.count("arp.resolve_failed"), 1U);
  EXPECT_EQ(h.count("arp.tx_pending_dropped"), 1U);
  EXPECT_EQ(h.stack->neighbors().pending(), 0U);
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp), nullptr);
  EXPECT_EQ(h.stack->next_deadline(), kNever);
}

TEST(StackArp, FramesQueuedDuringResolutionAreSentInOrderOnTheReply) {
  Host h;
  auto s = h.udp(5000);
  for (std::string_view text : {"one", "two", "three"})
    ASSERT_TRUE(s.send_to(bytes_of(text), {kPeerIp, 9}));
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);  // one request for three datagrams
  EXPECT_TRUE(is_arp_request_for(sent[0], kPeerIp));
  EXPECT_EQ(h.stack->neighbors().pending(), 3U);
  h.advance(300ms);
  // RFC 1122 §2.3.2.2: keep (a bounded number of) datagrams while the address resolves.
  h.receive(arp_reply(kPeerMac, kPeerIp));
  sent = h.take();
  ASSERT_EQ(sent.size(), 3U);
  const char* texts[] = {"one", "two", "three"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto p = parse_ipv4(sent[i]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->eth.dst, kPeerMac);
    EXPECT_EQ(p->eth.src, kMac);
    EXPECT_EQ(p->ip.dst, kPeerIp);
    ASSERT_TRUE(parse_udp(*p));
    EXPECT_EQ(vec(udp_payload(*p)), bytes_of(texts[i]));
    // Ethernet's minimum frame: pad with zeros (RFC 894).
    EXPECT_EQ(sent[i].bytes.size(), 60U);
  }
  EXPECT_EQ(h.count("arp.resolved"), 1U);
  EXPECT_EQ(h.stack->neighbors().pending(), 0U);
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp)->state, State::Reachable);
  // No more requests after the resolution, and nothing else is due.
  h.now = kT0 + 10s;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  EXPECT_FALSE(s.readable());
}

TEST(StackArp, PendingFramesAreBounded) {
  StackConfig config = quiet_config();
  config.arp_pending_frames = 4;
  config.arp_pending_per_neighbor = 4;
  Host h(config);
  auto s = h.udp(5000);
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(s.send_to(bytes_of("d"), {kPeerIp, 9}));
  h.poll();
  EXPECT_EQ(h.take().size(), 1U);  // the request
  EXPECT_EQ(h.stack->neighbors().pending(), 4U);
  EXPECT_EQ(h.count("arp.tx_pending_full"), 2U);  // each drop counted once, here
  // A second neighbour finds the queue full too.
  ASSERT_TRUE(s.send_to(bytes_of("e"), {kThirdIp, 9}));
  h.poll();
  EXPECT_EQ(h.count("arp.tx_pending_full"), 3U);
  h.receive(arp_reply(kPeerMac, kPeerIp));
  EXPECT_EQ(h.take().size(), 4U);
  EXPECT_EQ(h.stack->neighbors().pending(), 0U);
}

TEST(StackArp, OneNeighbourHoldsAtMostItsShareOfThePendingFrames) {
  StackConfig config = quiet_config();
  config.arp_pending_frames = 8;
  config.arp_pending_per_neighbor = 5;
  Host h(config);
  auto s = h.udp(5000);
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(s.send_to(bytes_of("d"), {kPeerIp, 9}));
  ASSERT_TRUE(s.send_to(bytes_of("e"), {kThirdIp, 9}));
  h.poll();
  EXPECT_EQ(h.take().size(), 2U);  // a request for each
  // One neighbour that never answers must not hold the whole queue (Linux: unres_qlen).
  EXPECT_EQ(h.stack->neighbors().pending(), 6U);
  EXPECT_EQ(h.count("arp.tx_pending_full"), 2U);  // each drop counted once, here
  h.receive(arp_reply(kOtherMac, kThirdIp));
  EXPECT_EQ(h.take().size(), 1U);
  h.receive(arp_reply(kPeerMac, kPeerIp));
  EXPECT_EQ(h.take().size(), 5U);
}

TEST(StackArp, AnOldEntryIsReconfirmedByUnicastRequests) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(5000);
  // Within the reachable time: sent at once, no request.
  h.now = kT0 + 29s;
  ASSERT_TRUE(s.send_to(bytes_of("a"), {kPeerIp, 9}));
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_TRUE(parse_ipv4(sent[0]));
  // Past it: still sent at once, then re-confirmed.
  h.now = kT0 + 31s;
  ASSERT_TRUE(s.send_to(bytes_of("b"), {kPeerIp, 9}));
  h.poll();
  sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_TRUE(parse_ipv4(sent[0]));
  // RFC 1122 §2.3.2.1: re-confirmation goes unicast to the MAC we hold.
  const auto probe = parse_arp(sent[1]);
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->eth.dst, kPeerMac);
  EXPECT_EQ(probe->arp.target_protocol_addr, kPeerIp);
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp)->state, State::Probe);
  // Answered: Reachable again, no more requests.
  h.advance(100ms);
  h.receive(arp_reply(kPeerMac, kPeerIp));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp)->state, State::Reachable);
  h.advance(5s);
  h.poll();
  EXPECT_TRUE(h.take().empty());
}

TEST(StackArp, AnUnansweredReconfirmationRemovesTheEntry) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(5000);
  h.now = kT0 + 31s;
  ASSERT_TRUE(s.send_to(bytes_of("b"), {kPeerIp, 9}));
  h.poll();
  ASSERT_EQ(h.take().size(), 2U);  // the datagram, the first unicast request
  for (int i = 1; i <= 2; ++i) {
    h.now = kT0 + 31s + i * 1s;
    h.poll();
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(parse_arp(sent[0])->eth.dst, kPeerMac);
  }
  h.now = kT0 + 34s;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.stack->neighbors().find(h.eth, kPeerIp), nullptr);
  // The next datagram starts a fresh, broadcast resolution.
  ASSERT_TRUE(s.send_to(bytes_of("c"), {kPeerIp, 9}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(parse_arp(sent[0])->eth.dst, MacAddress::broadcast());
}

}  // namespace
}  // namespace tapir::test
