// The describer: one tcpdump-like line per captured frame, and a clear mark where a layer is cut
// short. (tests/tools/decode_vs_tshark.py checks the verbose fields against tshark.)
#include "stack/wire/describe.hpp"

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

std::string line(std::string_view capture, std::size_t index) {
  const auto c = test::load_capture(capture);
  if (index >= c.frames.size()) return "<no such frame>";
  return describe(c.frames[index].span(), c.link_type);
}

TEST(Describe, ArpRequestAndReply) {
  EXPECT_EQ(line("arp.pcap", 0),
            "0a:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ARP, Request who-has 10.0.0.2 tell 10.0.0.1");
  EXPECT_EQ(line("arp.pcap", 1),
            "0a:00:00:00:00:02 > 0a:00:00:00:00:01, ARP, Reply 10.0.0.2 is-at 0a:00:00:00:00:02");
}

TEST(Describe, TcpSynWithLinuxOptions) {
  EXPECT_EQ(line("tcp.pcap", 0),
            "0a:00:00:00:00:01 > 0a:00:00:00:00:02, IPv4 10.0.0.1.40000 > 10.0.0.2.8080: TCP Flags "
            "[S], seq 3635614789, win 64240, options [mss 1460,sackOK,TS val 3378090412 ecr "
            "0,nop,wscale 10], length 0");
}

TEST(Describe, IcmpErrorNamesTheQuotedDatagram) {
  EXPECT_EQ(line("icmp_errors.pcap", 5),
            "0a:00:00:00:00:fe > 0a:00:00:00:00:01, IPv4 10.0.0.254 > 10.0.0.1: ICMP "
            "fragmentation needed, next-hop mtu 1000 (for 10.0.0.1 > 10.0.1.2 ICMP), length 556");
}

TEST(Describe, StackedVlanTags) {
  EXPECT_EQ(line("vlan.pcap", 3),
            "0a:00:00:00:00:01 > 0a:00:00:00:00:02, 802.1ad vlan 100, p 0, 802.1Q vlan 10, p 0, "
            "IPv4 10.0.0.1 > 10.0.0.2: ICMP echo request, id 29793, seq 3, length 18");
}

TEST(Describe, VxlanInnerFrame) {
  EXPECT_NE(line("vxlan.pcap", 2)
                .find(": VXLAN, vni 42: 0a:00:00:00:42:01 > 0a:00:00:00:42:02, "
                      "IPv4 10.0.42.1 > 10.0.42.2: ICMP echo request"),
            std::string::npos);
}

TEST(Describe, RawIpCapture) {
  EXPECT_EQ(line("raw_ip.pcap", 0).rfind("IPv4 10.0.0.1 > 10.0.0.2: ICMP echo request", 0), 0U);
}

TEST(Describe, FragmentsAreNotDissectedPastIp) {
  const auto c = test::load_capture("ping_frag.pcap");
  ASSERT_GE(c.frames.size(), 2U);
  EXPECT_NE(describe(c.frames[1].span()).find("ICMP fragment id"), std::string::npos);
}

TEST(Describe, TruncationIsMarkedNotReadPast) {
  const auto c = test::load_capture("tcp.pcap");
  ASSERT_FALSE(c.frames.empty());
  const Bytes frame = c.frames[0].span();
  EXPECT_EQ(describe(frame.first(10)), "[Ethernet: truncated]");
  EXPECT_EQ(describe(frame.first(30)), "0a:00:00:00:00:01 > 0a:00:00:00:00:02, [IPv4: truncated]");
  // The IPv4 header is whole but its Total Length runs past the cut.
  EXPECT_EQ(describe(frame.first(40)), "0a:00:00:00:00:01 > 0a:00:00:00:00:02, [IPv4: truncated]");
}

TEST(Describe, VerboseHasOneLinePerLayer) {
  const auto c = test::load_capture("udp.pcap");
  ASSERT_FALSE(c.frames.empty());
  DescribeBuffer out;
  describe_verbose(out, c.frames[0].span());
  const std::string text = fmt::to_string(out);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_NE(text.find("  UDP: src_port 40000, dst_port 7, len 20, checksum"), std::string::npos);
}

}  // namespace
}  // namespace tapir::wire
