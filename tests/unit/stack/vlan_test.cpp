// Stack, IEEE 802.1Q VLAN interfaces (docs/vlan.md): a device carries an untagged interface and
// tagged ones (Linux's eth0 and eth0.10), or tagged ones only; 802.1ad service tags; each frame
// no interface takes is dropped and counted once; the tag's 4 bytes never eat into the MTU.
#include "stack/wire/vlan.hpp"

#include <gtest/gtest.h>

#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using wire::EtherType;

constexpr Ipv4Address kVlanIp(10, 0, 10, 2);
constexpr Ipv4Address kVlanPeerIp(10, 0, 10, 1);

// `frame` with a tag inserted after the MAC addresses: TPID `tpid`, then PCP, DEI, VID.
std::vector<std::byte> tag(Bytes frame, std::uint16_t vid, std::uint8_t pcp = 0,
                           EtherType tpid = EtherType::Vlan, bool dei = false) {
  std::vector<std::byte> out(frame.size() + 4);
  store_bytes(out, 0, frame.first(12));
  store_be16(out, 12, static_cast<std::uint16_t>(tpid));
  wire::VlanRepr{pcp, dei, vid, wire::EthernetView(frame).ethertype()}.emit(
      wire::VlanViewMut(BytesMut(out).subspan(14)));
  store_bytes(out, 18, frame.subspan(14));
  return out;
}

// An 802.1ad frame: S-tag (0x88a8) outside, C-tag (0x8100) inside.
std::vector<std::byte> qinq(Bytes frame, std::uint16_t svid, std::uint16_t cvid) {
  return tag(tag(frame, cvid), svid, 0, EtherType::QinQ);
}

// A frame the stack sent, its tags read with the stack's own codec and taken out, so the
// harness parsers read the rest.
struct Untagged {
  wire::VlanTags tags;
  std::size_t wire_len = 0;
  std::vector<std::byte> frame;  // without the tags
};

Untagged untag(Bytes frame) {
  Untagged u;
  u.wire_len = frame.size();
  auto tags = wire::parse_vlan_tags(wire::EthernetView(frame));
  EXPECT_TRUE(tags) << to_hex(frame);
  if (!tags) return u;
  u.tags = *tags;
  u.frame.assign(frame.begin(), frame.begin() + 12);
  u.frame.resize(14);
  store_be16(u.frame, 12, static_cast<std::uint16_t>(tags->ethertype));
  u.frame.insert(u.frame.end(), frame.begin() + static_cast<std::ptrdiff_t>(tags->payload_offset),
                 frame.end());
  return u;
}

InterfaceConfig vlan_interface(std::uint16_t vid, std::string_view cidr = "10.0.10.2/24",
                               std::uint8_t pcp = 0) {
  InterfaceConfig c = ethernet_interface(kMac, cidr);
  c.vlan = vid;
  c.pcp = pcp;
  return c;
}

std::vector<std::byte> ping(Ipv4Address src, Ipv4Address dst, std::uint16_t seq = 1) {
  return ipv4_packet(ip_header(src, dst, wire::IpProtocol::Icmp),
                     echo_request(0x77, seq, bytes_of("vlan")));
}

TEST(StackVlan, TaggedArpRequestGetsAReplyTaggedWithItsVidAndPcp) {
  // A device that carries VLAN 10 only, as `--vlan 10 --vlan-pcp 5` makes it.
  Host h(quiet_config(), vlan_interface(10, "10.0.10.2/24", 5));
  h.receive(tag(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 10, 3));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].iface, h.eth);
  const auto u = untag(sent[0].bytes);
  // IEEE 802.1Q-2018 §9.6: the reply carries the interface's VID and its own PCP (not the
  // request's), DEI 0.
  ASSERT_TRUE(u.tags.customer);
  EXPECT_FALSE(u.tags.service);
  EXPECT_EQ(u.tags.customer->vid, 10);
  EXPECT_EQ(u.tags.customer->pcp, 5);
  EXPECT_FALSE(u.tags.customer->dei);
  EXPECT_EQ(u.wire_len, 60U);  // 18 + 28, padded to the minimum frame (IEEE 802.3 §3.2.7)
  auto arp = parse_arp(u.frame);
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->arp.operation, wire::ArpOperation::Reply);
  EXPECT_EQ(arp->arp.source_protocol_addr, kVlanIp);
  EXPECT_EQ(arp->arp.target_hardware_addr, kPeerMac);
  EXPECT_EQ(arp->eth.dst, kPeerMac);
  EXPECT_EQ(h.count("eth.rx_tagged_frames"), 1U);
  EXPECT_EQ(h.count("eth.tx_tagged_frames"), 1U);
}

TEST(StackVlan, LinuxCraftedTaggedFramesAreTakenOrDroppedByTheirVlan) {
  // vlan.pcap (tests/captures/README.md): 1: VID 10 PCP 5 ARP who-has 10.0.0.2; 2: VID 20 DEI 1
  // echo request; 3: priority-tagged (VID 0, PCP 3) echo request; 4: S-VID 100, C-VID 10 echo
  // request. Here 10.0.0.2 is on VLAN 10 only (`--vlan 10`).
  const auto capture = load_capture("vlan.pcap");
  Host h(quiet_config(), vlan_interface(10, "10.0.0.2/24"));
  h.receive(captured(capture, 1));
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = untag(sent[0].bytes);
  ASSERT_TRUE(u.tags.customer);
  EXPECT_EQ(u.tags.customer->vid, 10);
  EXPECT_EQ(u.tags.customer->pcp, 0);  // ours, not the request's 5
  auto arp = parse_arp(u.frame);
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->arp.operation, wire::ArpOperation::Reply);
  EXPECT_EQ(arp->arp.target_protocol_addr, kPeerIp);
  for (std::size_t n : {std::size_t{2}, std::size_t{3}, std::size_t{4}})
    h.receive(captured(capture, n));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("eth.rx_unknown_vlan"), 1U);    // VID 20
  EXPECT_EQ(h.count("eth.rx_untagged"), 1U);        // the priority tag: no untagged interface
  EXPECT_EQ(h.count("eth.rx_service_tagged"), 1U);  // 802.1ad, not configured
  // With the QinQ pair configured, frame 4 is answered with both tags.
  InterfaceConfig q = vlan_interface(10, "10.0.0.2/24");
  q.service_vlan = 100;
  Host hq(quiet_config(), q);
  hq.receive(qinq(arp_request(kPeerMac, kPeerIp, kIp), 100, 10));
  hq.take();
  hq.receive(captured(capture, 4));
  sent = hq.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto r = untag(sent[0].bytes);
  ASSERT_TRUE(r.tags.service && r.tags.customer);
  EXPECT_EQ(r.tags.service->vid, 100);
  EXPECT_EQ(r.tags.customer->vid, 10);
  auto reply = parse_ipv4(r.frame);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(std::holds_alternative<wire::Icmpv4Repr::EchoReply>(parse_icmp(*reply)->message));
}

TEST(StackVlan, PingOnATaggedInterfaceIsAnsweredTagged) {
  Host h(quiet_config(), vlan_interface(10));
  h.receive(tag(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 10));
  h.take();
  h.receive(tag(to_us(ping(kVlanPeerIp, kVlanIp)), 10));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = untag(sent[0].bytes);
  ASSERT_TRUE(u.tags.customer);
  EXPECT_EQ(u.tags.customer->vid, 10);
  auto reply = parse_ipv4(u.frame);  // the header checksum verified
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->ip.src, kVlanIp);
  EXPECT_EQ(reply->ip.dst, kVlanPeerIp);
  EXPECT_EQ(reply->eth.dst, kPeerMac);
  auto icmp = parse_icmp(*reply);  // the ICMP checksum verified
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(std::holds_alternative<wire::Icmpv4Repr::EchoReply>(icmp->message));
}

// Linux's eth0 (10.0.0.2/24, untagged) and eth0.10 (10.0.10.2/24, VID 10) on one device.
struct TwoVlans : Host {
  TwoVlans() {
    InterfaceConfig child = vlan_interface(10);
    child.mac = MacAddress{};  // takes the device's MAC
    child.link = eth;
    auto id = stack->add_interface(child);
    EXPECT_TRUE(id) << id.error().message();
    vlan10 = id.value_or(0);
  }
  InterfaceId vlan10 = 0;
};

TEST(StackVlan, UntaggedAndTaggedInterfacesAnswerOnlyOnTheirOwnVlan) {
  TwoVlans h;
  EXPECT_EQ(h.stack->interface(h.vlan10).mac, kMac);
  // Asked on the wrong VLAN, each address is unknown there (each interface has its own ARP).
  h.receive(arp_request(kPeerMac, kVlanPeerIp, kVlanIp));
  h.receive(tag(arp_request(kPeerMac, kPeerIp, kIp), 10));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("arp.rx_not_for_us"), 2U);
  // On its own VLAN each answers, through the device (the sink sees the device's interface).
  h.receive(arp_request(kPeerMac, kPeerIp, kIp));
  h.receive(tag(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 10));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(sent[0].iface, h.eth);
  EXPECT_EQ(sent[1].iface, h.eth);
  EXPECT_EQ(wire::EthernetView(sent[0].bytes).ethertype(), EtherType::Arp);  // untagged
  const auto u = untag(sent[1].bytes);
  ASSERT_TRUE(u.tags.customer);
  EXPECT_EQ(u.tags.customer->vid, 10);
  auto arp = parse_arp(u.frame);
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->arp.source_protocol_addr, kVlanIp);
  // The neighbour learnt on each VLAN is that VLAN's: a ping to each address is answered on
  // its own VLAN only; a ping for the other VLAN's address is not ours on this one.
  h.receive(to_us(ping(kPeerIp, kIp)));
  h.receive(tag(to_us(ping(kVlanPeerIp, kVlanIp)), 10));
  const auto replies = h.take();
  ASSERT_EQ(replies.size(), 2U);
  EXPECT_EQ(wire::EthernetView(replies[0].bytes).ethertype(), EtherType::Ipv4);
  const auto r10 = untag(replies[1].bytes);
  ASSERT_TRUE(r10.tags.customer);
  EXPECT_EQ(parse_ipv4(r10.frame)->ip.src, kVlanIp);
  // Receiving with the child's id is the same as with the device's: frames come from devices.
  h.receive(h.vlan10, tag(to_us(ping(kVlanPeerIp, kVlanIp, 2)), 10));
  EXPECT_EQ(h.take().size(), 1U);
}

TEST(StackVlan, FramesNoInterfaceTakesAreDroppedAndCountedOnce) {
  TwoVlans h;
  const auto before = nonzero_counters(*h.stack);
  const auto frame = to_us(ping(kVlanPeerIp, kVlanIp));
  // IEEE 802.1Q-2018 §8.6.2 (ingress filtering): VID 20 has no interface on this device.
  h.receive(tag(frame, 20));
  // 802.1ad: an S-tagged frame, and no interface has a service VLAN.
  h.receive(qinq(frame, 100, 10));
  // 802.1Q-2018 §9.6, Table 9-2: VID 4095 is reserved, never sent in a tag.
  h.receive(tag(frame, 0xfff));
  // A C-tag inside a C-tag (not 802.1ad), and a tag cut short.
  h.receive(tag(tag(frame, 10), 10));
  h.receive(Bytes(tag(frame, 10)).first(16));
  EXPECT_TRUE(h.take().empty());
  auto expected = before;
  expected["eth.rx_frames"] += 5;
  expected["eth.rx_unknown_vlan"] = 1;
  expected["eth.rx_service_tagged"] = 1;
  expected["eth.rx_bad_vlan"] = 3;
  EXPECT_EQ(nonzero_counters(*h.stack), expected);
}

TEST(StackVlan, UntaggedFramesOnATaggedOnlyDeviceAreDroppedAndCounted) {
  Host h(quiet_config(), vlan_interface(10));
  h.receive(arp_request(kPeerMac, kVlanPeerIp, kVlanIp));
  h.receive(to_us(ping(kVlanPeerIp, kVlanIp)));
  // IEEE 802.1Q-2018 §9.6, Table 9-2: a priority tag (VID 0) is not VLAN 10 either.
  h.receive(tag(to_us(ping(kVlanPeerIp, kVlanIp)), 0, 6));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("eth.rx_untagged"), 3U);
  EXPECT_EQ(h.count("arp.rx_requests"), 0U);
  EXPECT_EQ(h.count("ipv4.rx_packets"), 0U);
}

TEST(StackVlan, PriorityTaggedFramesGoToTheUntaggedInterface) {
  // IEEE 802.1Q-2018 §9.6, Table 9-2: the null VID (0) means the tag carries only priority;
  // the frame belongs to the untagged interface. The reply goes out untagged, as Linux's.
  Host h;
  h.receive(tag(arp_request(kPeerMac, kPeerIp, kIp), 0, 5));
  h.receive(tag(to_us(ping(kPeerIp, kIp)), 0, 5, EtherType::Vlan, true));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(wire::EthernetView(sent[0].bytes).ethertype(), EtherType::Arp);
  EXPECT_EQ(wire::EthernetView(sent[1].bytes).ethertype(), EtherType::Ipv4);
  EXPECT_TRUE(parse_ipv4(sent[1]));
  EXPECT_EQ(h.count("eth.rx_untagged"), 0U);
}

TEST(StackVlan, AServiceVlanInterfaceTakesItsQinqFrames) {
  // 802.1ad: an interface with service_vlan 100 and vlan 10 takes frames with S-VID 100 and
  // C-VID 10 and sends its own with both tags, the S-tag outside (802.1Q-2018 §9.5).
  InterfaceConfig c = vlan_interface(10, "10.0.10.2/24", 4);
  c.service_vlan = 100;
  Host h(quiet_config(), c);
  h.receive(qinq(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 100, 10));
  h.receive(qinq(to_us(ping(kVlanPeerIp, kVlanIp)), 100, 10));
  h.receive(qinq(to_us(ping(kVlanPeerIp, kVlanIp)), 200, 10));  // another S-VID
  h.receive(tag(to_us(ping(kVlanPeerIp, kVlanIp)), 10));        // C-tag only
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  for (const auto& f : sent) {
    EXPECT_EQ(wire::EthernetView(f.bytes).ethertype(), EtherType::QinQ);
    const auto u = untag(f.bytes);
    ASSERT_TRUE(u.tags.service);
    ASSERT_TRUE(u.tags.customer);
    EXPECT_EQ(u.tags.service->vid, 100);
    EXPECT_EQ(u.tags.customer->vid, 10);
    EXPECT_EQ(u.tags.service->pcp, 4);
    EXPECT_EQ(u.tags.payload_offset, 22U);
  }
  EXPECT_TRUE(parse_ipv4(untag(sent[1].bytes).frame));
  EXPECT_EQ(h.count("eth.rx_service_tagged"), 1U);
  EXPECT_EQ(h.count("eth.rx_unknown_vlan"), 1U);
}

TEST(StackVlan, TheTagMakesFramesLongerNotTheMtuSmaller) {
  Host h(quiet_config(), vlan_interface(10));
  h.receive(tag(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 10));
  h.take();
  auto sock = h.udp(7);
  // A 1500-byte datagram (1472 bytes of UDP payload) leaves whole: a 1518-byte frame.
  std::vector<std::byte> data(1472, std::byte{0x42});
  ASSERT_TRUE(sock.send_to(data, {kVlanPeerIp, 9}));
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].bytes.size(), 1518U);
  auto u = untag(sent[0].bytes);
  auto p = parse_ipv4(u.frame);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ip.buffer_len(), 1500U);
  EXPECT_FALSE(p->ip.more_frags);
  // One byte more is fragmented exactly as untagged (RFC 791 §3.2): 1500 + 21 bytes.
  data.push_back(std::byte{0x43});
  ASSERT_TRUE(sock.send_to(data, {kVlanPeerIp, 9}));
  h.poll();
  sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(sent[0].bytes.size(), 1518U);
  EXPECT_EQ(sent[1].bytes.size(), 60U);  // 18 + 20 + 1, padded to the minimum frame
  std::vector<ParsedIpv4> frags;
  for (const auto& f : sent)
    frags.push_back(std::move(*parse_ipv4(untag(f.bytes).frame)));
  EXPECT_EQ(frags[0].ip.buffer_len(), 1500U);
  EXPECT_EQ(frags[1].ip.buffer_len(), 20U + 1U);
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->size(), 8U + 1473U);
}

TEST(StackVlan, AQinqInterfaceCarriesAFullMtuDatagramIn1522Bytes) {
  InterfaceConfig c = vlan_interface(10);
  c.service_vlan = 100;
  Host h(quiet_config(), c);
  h.receive(qinq(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 100, 10));
  h.take();
  auto sock = h.udp(7);
  std::vector<std::byte> data(1472, std::byte{0x42});
  ASSERT_TRUE(sock.send_to(data, {kVlanPeerIp, 9}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].bytes.size(), 1522U);
  EXPECT_TRUE(parse_ipv4(untag(sent[0].bytes).frame));
}

TEST(StackVlan, FramesWaitingOnArpLeaveTaggedWhenItResolves) {
  Host h(quiet_config(), vlan_interface(10, "10.0.10.2/24", 2));
  auto sock = h.udp(7);
  ASSERT_TRUE(sock.send_to(bytes_of("held"), {kVlanPeerIp, 9}));
  h.poll();
  auto sent = h.take();
  // RFC 826 / RFC 1122 §2.3.2.2: the datagram waits; the request is broadcast on VLAN 10.
  ASSERT_EQ(sent.size(), 1U);
  auto req = untag(sent[0].bytes);
  ASSERT_TRUE(req.tags.customer);
  EXPECT_EQ(req.tags.customer->vid, 10);
  EXPECT_EQ(req.tags.customer->pcp, 2);
  ASSERT_TRUE(is_arp_request_for(SentFrame{0, req.frame}, kVlanPeerIp));
  h.receive(tag(arp_reply(kPeerMac, kVlanPeerIp, kMac, kVlanIp), 10));
  sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = untag(sent[0].bytes);
  ASSERT_TRUE(u.tags.customer);
  EXPECT_EQ(u.tags.customer->vid, 10);
  EXPECT_EQ(u.wire_len, 60U);
  auto p = parse_ipv4(u.frame);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, kPeerMac);
  EXPECT_EQ(p->eth.src, kMac);
  EXPECT_EQ(vec(udp_payload(*p)), bytes_of("held"));
}

TEST(StackVlan, AnnouncementsAreTagged) {
  // RFC 5227 §2.3 announcements on the interface's own VLAN.
  Host h(StackConfig{}, vlan_interface(10));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = untag(sent[0].bytes);
  ASSERT_TRUE(u.tags.customer);
  EXPECT_EQ(u.tags.customer->vid, 10);
  EXPECT_TRUE(is_arp_request_for(SentFrame{0, u.frame}, kVlanIp));
}

TEST(StackVlan, TcpConnectsOverATaggedInterface) {
  Host a(quiet_config(), vlan_interface(10, "10.0.10.1/24"));
  InterfaceConfig cb = vlan_interface(10, "10.0.10.2/24");
  cb.mac = kPeerMac;
  Host b(quiet_config(), cb);
  auto listener = b.stack->tcp_listen({Ipv4Address::any(), 80});
  ASSERT_TRUE(listener);
  auto client = a.stack->tcp_socket();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->connect({kVlanIp, 80}));
  // Every frame between them must be tagged VID 10: count them as they cross.
  std::size_t crossed = 0;
  const auto shuttle = [&] {
    for (int i = 0; i < 50; ++i) {
      a.poll();
      b.poll();
      auto from_a = a.take();
      auto from_b = b.take();
      if (from_a.empty() && from_b.empty()) return;
      for (auto* side : {&from_a, &from_b})
        for (const auto& f : *side) {
          const auto u = untag(f.bytes);
          ASSERT_TRUE(u.tags.customer);
          EXPECT_EQ(u.tags.customer->vid, 10);
          ++crossed;
        }
      for (const auto& f : from_a)
        b.receive(f.bytes);
      for (const auto& f : from_b)
        a.receive(f.bytes);
    }
    ADD_FAILURE() << "the hosts never went quiet";
  };
  shuttle();
  ASSERT_TRUE(client->send(bytes_of("GET /")));
  shuttle();
  auto conn = listener->accept();
  ASSERT_TRUE(conn) << conn.error().message();
  std::array<std::byte, 16> buf{};
  auto n = conn->recv(buf);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(vec(Bytes(buf).first(*n)), bytes_of("GET /"));
  EXPECT_GE(crossed, 5U);  // ARP both ways, SYN, SYN-ACK, ACK, data
  EXPECT_EQ(a.count("eth.rx_unknown_vlan") + b.count("eth.rx_untagged"), 0U);
}

TEST(StackVlan, AddInterfaceChecksVlanConfiguration) {
  TwoVlans h;
  auto add = [&](auto&& edit) {
    InterfaceConfig c = vlan_interface(20, "10.0.20.2/24");
    c.link = h.eth;
    edit(c);
    return h.stack->add_interface(c);
  };
  const auto invalid = std::errc::invalid_argument;
  // IEEE 802.1Q-2018 §9.6, Table 9-2: 0 and 4095 are not VLANs.
  EXPECT_EQ(add([](InterfaceConfig& c) { c.vlan = 0; }).error(), invalid);
  EXPECT_EQ(add([](InterfaceConfig& c) { c.vlan = 4095; }).error(), invalid);
  EXPECT_EQ(add([](InterfaceConfig& c) { c.service_vlan = 4095; }).error(), invalid);
  EXPECT_EQ(add([](InterfaceConfig& c) { c.pcp = 8; }).error(), invalid);       // 3 bits
  EXPECT_EQ(add([](InterfaceConfig& c) { c.vlan = 10; }).error(), invalid);     // VID 10 taken
  EXPECT_EQ(add([](InterfaceConfig& c) { c.vlan.reset(); }).error(), invalid);  // untagged too
  EXPECT_EQ(add([](InterfaceConfig& c) { c.link = 9; }).error(), invalid);
  EXPECT_EQ(add([&](InterfaceConfig& c) { c.link = h.vlan10; }).error(), invalid);  // not a device
  EXPECT_EQ(add([](InterfaceConfig& c) { c.mtu = 1501; }).error(), invalid);  // above the link's
  EXPECT_EQ(add([](InterfaceConfig& c) { c.medium = Medium::Ip; }).error(), invalid);
  InterfaceConfig tun;
  tun.medium = Medium::Ip;
  tun.address = *Ipv4Cidr::parse("10.0.30.2/24");
  tun.vlan = 30;
  EXPECT_EQ(h.stack->add_interface(tun).error(), invalid);  // no tags without Ethernet
  EXPECT_EQ(h.stack->interface_count(), 2U);
  // The same VID on the same S-VLAN is taken; on another S-VLAN it is another VLAN.
  auto q = add([](InterfaceConfig& c) {
    c.vlan = 10;
    c.service_vlan = 100;
  });
  EXPECT_TRUE(q) << q.error().message();
}

// Records what a FrameTracer is shown: the interface and the received tag.
struct TagTracer final : FrameTracer {
  struct Seen {
    InterfaceId iface;
    bool outgoing;
    wire::VlanTags tags;
  };
  void on_frame(InterfaceId iface, Medium, bool outgoing, Bytes frame) override {
    auto tags = wire::parse_vlan_tags(wire::EthernetView(frame));
    seen.push_back({iface, outgoing, tags.value_or(wire::VlanTags{})});
  }
  std::vector<Seen> seen;
};

TEST(StackVlan, TheTracerSeesTheDeviceAndTheTagAsOnTheWire) {
  TwoVlans h;
  TagTracer tracer;
  h.stack->set_tracer(&tracer);
  // The received PCP and DEI stay in the frame the tracer sees (and wire::describe prints).
  h.receive(tag(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 10, 6, EtherType::Vlan, true));
  ASSERT_EQ(tracer.seen.size(), 2U);
  EXPECT_EQ(tracer.seen[0].iface, h.eth);
  EXPECT_FALSE(tracer.seen[0].outgoing);
  ASSERT_TRUE(tracer.seen[0].tags.customer);
  EXPECT_EQ(tracer.seen[0].tags.customer->pcp, 6);
  EXPECT_TRUE(tracer.seen[0].tags.customer->dei);
  EXPECT_EQ(tracer.seen[1].iface, h.eth);  // the reply leaves by the device
  EXPECT_TRUE(tracer.seen[1].outgoing);
  ASSERT_TRUE(tracer.seen[1].tags.customer);
  EXPECT_EQ(tracer.seen[1].tags.customer->vid, 10);
  EXPECT_EQ(tracer.seen[1].tags.customer->pcp, 0);
  h.stack->set_tracer(nullptr);
}

TEST(StackVlan, ForwardsBetweenVlansOfOneDevice) {
  // A router on a stick (RFC 1812 over IEEE 802.1Q): one device, two VLANs, forwarding on.
  StackConfig config = quiet_config();
  config.forwarding = true;
  Host h(config, vlan_interface(10));
  InterfaceConfig v20 = vlan_interface(20, "10.0.20.2/24");
  v20.link = h.eth;
  ASSERT_TRUE(h.stack->add_interface(v20));
  constexpr Ipv4Address kHost20(10, 0, 20, 7);
  constexpr MacAddress kMac20({0x0a, 0, 0, 0, 0, 0x20});
  h.receive(tag(arp_request(kPeerMac, kVlanPeerIp, kVlanIp), 10));
  h.receive(tag(arp_request(kMac20, kHost20, Ipv4Address(10, 0, 20, 2)), 20));
  h.take();
  h.receive(tag(to_us(ping(kVlanPeerIp, kHost20)), 10));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = untag(sent[0].bytes);
  ASSERT_TRUE(u.tags.customer);
  EXPECT_EQ(u.tags.customer->vid, 20);
  auto p = parse_ipv4(u.frame);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, kMac20);
  EXPECT_EQ(p->ip.dst, kHost20);
  EXPECT_EQ(p->ip.ttl, 63);
}

}  // namespace
}  // namespace tapir::test
