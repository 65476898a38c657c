// TCP in the CLOSED state (RFC 9293 §3.10.7.1): the reset rule alone, then through the Stack
// against Linux's own resets (tests/captures/tcp_rst.pcap).
#include "stack/tcp/reset.hpp"

#include <gtest/gtest.h>

#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using wire::SeqNum;
using wire::TcpRepr;

TcpRepr segment(std::uint32_t seq) {
  TcpRepr s;
  s.src_port = 40000;
  s.dst_port = 9999;
  s.seq_number = SeqNum(seq);
  s.window_len = 512;
  return s;
}

// RFC 9293 §3.10.7.1: ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SEG.LEN counts the
// data and one for each of SYN and FIN.
TEST(TcpReset, WithoutAckTheResetAcknowledgesTheSegment) {
  auto syn = segment(1000);
  syn.syn = true;
  syn.max_seg_size = 1460;
  const auto r = tcp::reset_for(syn);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rst);
  EXPECT_EQ(r->src_port, 9999);
  EXPECT_EQ(r->dst_port, 40000);
  EXPECT_EQ(r->seq_number, SeqNum(0));
  EXPECT_EQ(r->ack_number, SeqNum(1001));
  EXPECT_FALSE(r->syn);
  EXPECT_EQ(r->window_len, 0);
  EXPECT_FALSE(r->max_seg_size);  // no options
  EXPECT_EQ(r->payload_len, 0U);

  auto all = segment(0xfffffff0U);  // SYN, 20 data bytes, FIN: wraps around 2^32
  all.syn = true;
  all.fin = true;
  all.payload_len = 20;
  EXPECT_EQ(tcp::reset_for(all)->ack_number, SeqNum(0xfffffff0U) + 22);
}

// RFC 9293 §3.10.7.1: ACK on: <SEQ=SEG.ACK><CTL=RST>.
TEST(TcpReset, WithAckTheResetTakesItsSequenceFromTheAck) {
  auto data = segment(5000);
  data.ack_number = SeqNum(777777);
  data.psh = true;
  data.payload_len = 6;
  const auto r = tcp::reset_for(data);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rst);
  EXPECT_EQ(r->seq_number, SeqNum(777777));
  EXPECT_FALSE(r->ack_number);
  EXPECT_FALSE(r->psh);
}

// RFC 9293 §3.10.7.1: "An incoming segment containing a RST is discarded."
TEST(TcpReset, AResetIsNeverAnswered) {
  auto rst = segment(9000);
  rst.rst = true;
  EXPECT_FALSE(tcp::reset_for(rst));
  rst.ack_number = SeqNum(1);
  EXPECT_FALSE(tcp::reset_for(rst));
}

const Capture& rst_capture() {
  static const Capture c = load_capture("tcp_rst.pcap");
  return c;
}

// Linux's reply (veth does not pad) against ours (padded with zeros to Ethernet's 60 bytes).
void expect_linux_reply(const SentFrame& ours, const std::vector<std::byte>& linux_reply) {
  ASSERT_GE(ours.bytes.size(), linux_reply.size());
  EXPECT_EQ(to_hex(Bytes(ours.bytes).first(linux_reply.size())), to_hex(linux_reply));
  for (std::size_t i = linux_reply.size(); i < ours.bytes.size(); ++i)
    EXPECT_EQ(ours.bytes[i], std::byte{0});
}

// RFC 9293 §3.10.7.1, through the stack: a SYN to a port nobody listens on gets RST+ACK, a data
// segment with ACK a bare RST, a RST nothing; each exactly as Linux sent it (DF set, IP
// identification zero, window zero, no options).
TEST(StackTcp, SegmentsToAClosedPortGetLinuxsResets) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  h.receive(captured(rst_capture(), 1));  // SYN
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  expect_linux_reply(sent[0], captured(rst_capture(), 2));
  h.receive(captured(rst_capture(), 3));  // PSH+ACK with 6 bytes
  sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  expect_linux_reply(sent[0], captured(rst_capture(), 4));
  h.receive(captured(rst_capture(), 5));  // RST
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("tcp.rx_segments"), 3U);
  EXPECT_EQ(h.count("tcp.rx_no_socket"), 3U);
  EXPECT_EQ(h.count("tcp.tx_resets"), 2U);
}

TEST(StackTcp, ABadChecksumOrAMalformedHeaderIsDroppedSilently) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto syn = captured(rst_capture(), 1);
  syn[14 + 20 + 16] ^= std::byte{0xff};  // the TCP checksum
  h.receive(syn);
  auto bad_offset = captured(rst_capture(), 1);
  bad_offset[14 + 20 + 12] = std::byte{0x40};  // data offset 4 words: below the minimum
  h.receive(bad_offset);
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("tcp.rx_bad_checksum"), 1U);
  EXPECT_EQ(h.count("tcp.rx_malformed"), 1U);
  EXPECT_EQ(h.count("tcp.tx_resets"), 0U);
}

// RFC 1122 §4.2.3.10: a segment to a broadcast address is not answered.
TEST(StackTcp, ASegmentToABroadcastAddressGetsNoReset) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto header = ip_header(kPeerIp, Ipv4Address(10, 0, 0, 255), wire::IpProtocol::Tcp);
  auto syn = segment(1);
  syn.syn = true;
  std::vector<std::byte> l4(syn.buffer_len());
  syn.emit(wire::TcpViewMut(BytesMut(l4)), kPeerIp, Ipv4Address(10, 0, 0, 255),
           wire::ChecksumPolicy::all());
  h.receive(to_us(ipv4_packet(header, l4), MacAddress::broadcast()));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("tcp.rx_no_socket"), 1U);
  EXPECT_EQ(h.count("tcp.tx_resets"), 0U);
}

}  // namespace
}  // namespace tapir::test
