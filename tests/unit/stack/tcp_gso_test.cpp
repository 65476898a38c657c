// TCP segmentation offload (stack/base/frame_info.hpp): on an interface with gso_max_size the
// stack joins a connection's back-to-back full-sized segments into one frame for the device to
// cut, and takes large segments whose checksum the device vouches for. The wire here cuts TSO
// frames as the kernel's tcp_gso_segment does (each piece gets the headers with its sequence
// number, FIN and PSH on the last piece only, CWR on the first only, fresh checksums), so the
// other stack sees what the Linux kernel behind a TAP would pass up.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/checksum.hpp"
#include "stack/stack.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir {
namespace {

constexpr std::size_t kEth = wire::EthernetView::header_len;

struct Frame {
  std::vector<std::byte> bytes;
  FrameInfo info;
};

// Frames one stack sent; offloaded ones are kept whole (with their info) and also cut.
struct Wire final : FrameSink {
  std::vector<Frame> frames;     // as the peer receives them (TSO frames cut)
  std::vector<Frame> offloaded;  // the TSO frames as the stack handed them over
  void transmit(InterfaceId /*iface*/, Bytes frame) override {
    frames.push_back({{frame.begin(), frame.end()}, {}});
  }
  void transmit_offloaded(InterfaceId /*iface*/, Bytes frame, const FrameInfo& info) override {
    offloaded.push_back({{frame.begin(), frame.end()}, info});
    cut(frame, info);
  }

  // What the kernel does with a VIRTIO_NET_HDR_GSO_TCPV4 frame.
  void cut(Bytes frame, const FrameInfo& info) {
    const std::size_t ip_len = info.csum_start - kEth;
    const wire::TcpView tcp(frame.subspan(info.csum_start));
    const std::size_t headers = info.csum_start + tcp.header_len();
    const std::size_t payload = frame.size() - headers;
    const auto flags = std::to_integer<std::uint8_t>(frame[info.csum_start + 13]);
    const std::uint32_t seq = load_be32(frame, info.csum_start + 4);
    const std::uint16_t ident = load_be16(frame, kEth + 4);
    std::size_t i = 0;
    for (std::size_t off = 0; off < payload; off += info.gso_size, ++i) {
      const std::size_t n = std::min<std::size_t>(info.gso_size, payload - off);
      std::vector<std::byte> seg(headers + n);
      std::copy_n(frame.begin(), headers, seg.begin());
      std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(headers + off), n,
                  seg.begin() + static_cast<std::ptrdiff_t>(headers));
      const BytesMut s(seg);
      const bool last = off + n == payload;
      std::uint8_t f = flags;
      if (!last) f &= static_cast<std::uint8_t>(~0x09U);     // FIN, PSH: the last piece only
      if (off != 0) f &= static_cast<std::uint8_t>(~0x80U);  // CWR: the first only
      s[info.csum_start + 13] = std::byte{f};
      store_be32(s, info.csum_start + 4, seq + static_cast<std::uint32_t>(off));
      const wire::Ipv4ViewMut ip(s.subspan(kEth, ip_len + tcp.header_len() + n));
      ip.set_total_len(static_cast<std::uint16_t>(ip_len + tcp.header_len() + n));
      ip.set_ident(static_cast<std::uint16_t>(ident + i));
      ip.fill_checksum();
      wire::TcpViewMut(s.subspan(info.csum_start)).fill_checksum(ip.src(), ip.dst());
      frames.push_back({std::move(seg), {}});
    }
  }
};

struct Pair {
  std::unique_ptr<Stack> a, b;
  InterfaceId ia = 0, ib = 0;
  Wire a_out, b_out;
  Instant now = instant_from_micros(1'000'000);

  explicit Pair(std::size_t a_gso) {
    a = *Stack::create(StackConfig{});
    b = *Stack::create(StackConfig{});
    ia = *a->add_interface({.mac = MacAddress({2, 0, 0, 0, 0, 1}),
                            .address = *Ipv4Cidr::parse("10.0.0.1/24"),
                            .gso_max_size = a_gso});
    ib = *b->add_interface(
        {.mac = MacAddress({2, 0, 0, 0, 0, 2}), .address = *Ipv4Cidr::parse("10.0.0.2/24")});
  }
  // Moves frames both ways, one batch at a time, polling after each (as the runner does).
  void settle() {
    for (int i = 0; i < 10000; ++i) {
      a->poll(now, a_out);
      b->poll(now, b_out);
      if (a_out.frames.empty() && b_out.frames.empty()) return;
      auto to_b = std::move(a_out.frames);
      auto to_a = std::move(b_out.frames);
      a_out.frames.clear();
      b_out.frames.clear();
      for (const auto& f : to_b)
        b->receive(ib, f.bytes, now, b_out);
      for (const auto& f : to_a)
        a->receive(ia, f.bytes, now, a_out);
    }
    ADD_FAILURE() << "the stacks never went quiet";
  }
};

std::vector<std::byte> pattern(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = std::byte{static_cast<std::uint8_t>((i * 7 + i / 251) & 0xffU)};
  return v;
}

// Sends `data` from a to b over one connection; returns what b received.
std::vector<std::byte> transfer(Pair& p, const std::vector<std::byte>& data) {
  auto listener = *p.b->tcp_listen({Ipv4Address::any(), 9000}, 8);
  auto client = *p.a->tcp_socket();
  EXPECT_TRUE(client.connect({Ipv4Address(10, 0, 0, 2), 9000}));
  p.settle();
  auto server = listener.accept();
  EXPECT_TRUE(server);
  std::vector<std::byte> got;
  std::vector<std::byte> buf(65536);
  std::size_t sent = 0;
  for (int round = 0; round < 10000 && got.size() < data.size(); ++round) {
    if (sent < data.size())
      if (auto n = client.send(Bytes(data).subspan(sent))) sent += *n;
    p.settle();
    while (auto n = server->recv(buf)) {
      if (*n == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    p.settle();
  }
  return got;
}

// The checksum a TSO frame carries once the device completes it (RFC 1071 over the segment,
// starting from the pseudo-header sum the stack left in the field).
bool completed_checksum_verifies(const Frame& f) {
  std::vector<std::byte> copy = f.bytes;
  const BytesMut s(copy);
  const std::size_t at = std::size_t{f.info.csum_start} + f.info.csum_offset;
  store_be16(s, at, checksum_finish(checksum_add(s.subspan(f.info.csum_start))));
  const wire::Ipv4View ip(s.subspan(kEth));
  return wire::TcpView(s.subspan(f.info.csum_start)).verify_checksum(ip.src(), ip.dst());
}

TEST(TcpGso, BulkDataLeavesInTsoFramesOfWholeSegments) {
  Pair p(65535 + kEth);
  const auto data = pattern(2 * 1024 * 1024);
  EXPECT_EQ(transfer(p, data), data);
  const auto& c = p.a->counters().tcp;
  EXPECT_GT(c.tx_gso_frames.value(), 0U);
  ASSERT_FALSE(p.a_out.offloaded.empty());
  std::size_t offloaded_bytes = 0;
  for (const auto& f : p.a_out.offloaded) {
    // Ethernet + IPv4 (20) + TCP: the checksum is the device's to finish.
    EXPECT_TRUE(f.info.checksum_partial);
    EXPECT_EQ(f.info.csum_start, kEth + 20);
    EXPECT_EQ(f.info.csum_offset, 16);
    // RFC 7323 timestamps on every segment: 1448 bytes of payload each on a 1500-byte MTU.
    EXPECT_EQ(f.info.gso_size, 1448);
    EXPECT_LE(f.bytes.size(), 65535 + kEth);
    EXPECT_GT(f.bytes.size(), 1514U);
    // IPv4 total length covers the whole frame; DF is set (RFC 1191).
    const wire::Ipv4View ip(Bytes(f.bytes).subspan(kEth));
    EXPECT_EQ(ip.total_len(), f.bytes.size() - kEth);
    EXPECT_TRUE(ip.dont_frag());
    EXPECT_TRUE(completed_checksum_verifies(f));
    offloaded_bytes += f.bytes.size();
  }
  // Nearly all the data went in TSO frames, of about 40 segments each on average (each ACK
  // lets out a window's worth at once).
  EXPECT_GT(offloaded_bytes, data.size() * 9 / 10);
  EXPECT_GT(c.tx_gso_joined.value(), 20 * c.tx_gso_frames.value());
  // The peer, without offloads, checked every checksum and sent plain frames.
  EXPECT_EQ(p.b->counters().tcp.rx_bad_checksum.value(), 0U);
  EXPECT_TRUE(p.b_out.offloaded.empty());
}

// The frames a TSO stack's frames are cut into are the segments a stack without TSO sends for
// the same data at the same instants: TSO changes how many frames cross the device, never what
// the peer's TCP sees.
TEST(TcpGso, CutFramesAreTheSegmentsWithoutTso) {
  const auto data = pattern(512 * 1024);
  Pair with(65535 + kEth);
  Pair without(0);
  // Record what b receives in each run.
  auto run = [&](Pair& p) {
    std::vector<wire::TcpRepr> segs;
    auto listener = *p.b->tcp_listen({Ipv4Address::any(), 9000}, 8);
    auto client = *p.a->tcp_socket();
    EXPECT_TRUE(client.connect({Ipv4Address(10, 0, 0, 2), 9000}));
    p.settle();
    auto server = *listener.accept();
    std::vector<std::byte> buf(65536);
    std::size_t sent = 0, got = 0;
    for (int round = 0; round < 10000 && got < data.size(); ++round) {
      if (sent < data.size())
        if (auto n = client.send(Bytes(data).subspan(sent))) sent += *n;
      for (int i = 0; i < 100; ++i) {
        p.a->poll(p.now, p.a_out);
        p.b->poll(p.now, p.b_out);
        if (p.a_out.frames.empty() && p.b_out.frames.empty()) break;
        auto to_b = std::move(p.a_out.frames);
        auto to_a = std::move(p.b_out.frames);
        p.a_out.frames.clear();
        p.b_out.frames.clear();
        for (const auto& f : to_b) {
          const wire::Ipv4View ip(Bytes(f.bytes).subspan(kEth));
          auto seg = wire::TcpRepr::parse(wire::TcpView(ip.payload()), ip.src(), ip.dst(),
                                          wire::ChecksumPolicy::all());
          EXPECT_TRUE(seg);
          if (seg) segs.push_back(*seg);
          p.b->receive(p.ib, f.bytes, p.now, p.b_out);
        }
        for (const auto& f : to_a)
          p.a->receive(p.ia, f.bytes, p.now, p.a_out);
      }
      while (auto n = server.recv(buf)) {
        if (*n == 0) break;
        got += *n;
      }
    }
    EXPECT_EQ(got, data.size());
    return segs;
  };
  const auto a = run(with);
  const auto b = run(without);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    wire::TcpRepr x = a[i], y = b[i];
    // PSH is the sender's hint, set once per frame it builds; the cut pieces carry it on the
    // last one only (RFC 9293 §3.9.1: a receiver may not rely on it).
    x.psh = y.psh = false;
    EXPECT_EQ(x, y) << "segment " << i;
  }
  EXPECT_GT(with.a->counters().tcp.tx_gso_frames.value(), 0U);
  EXPECT_EQ(without.a->counters().tcp.tx_gso_frames.value(), 0U);
}

// One large segment (as the kernel's GSO hands a TAP) is taken whole when the device vouches
// for its checksum, and dropped as corrupt when nothing does (RFC 9293 §3.1).
TEST(TcpGso, LargeSegmentWithTrustedChecksumIsTakenWhole) {
  for (const bool trusted : {true, false}) {
    Pair p(0);
    auto listener = *p.b->tcp_listen({Ipv4Address::any(), 9000}, 8);
    auto client = *p.a->tcp_socket();
    ASSERT_TRUE(client.connect({Ipv4Address(10, 0, 0, 2), 9000}));
    p.settle();
    auto server = *listener.accept();
    // a's next data segments, joined by hand into one 40-segment frame with a partial checksum.
    const auto data = pattern(40 * 1448);
    ASSERT_EQ(*client.send(Bytes(data)), data.size());
    p.a->poll(p.now, p.a_out);
    ASSERT_GE(p.a_out.frames.size(), 10U);  // the initial window: RFC 6928's ten segments
    const auto& first = p.a_out.frames.front().bytes;
    const std::size_t headers =
        kEth + 20 + wire::TcpView(Bytes(first).subspan(kEth + 20)).header_len();
    std::vector<std::byte> big(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(headers));
    std::size_t payload = 0;
    for (const auto& f : p.a_out.frames) {
      big.insert(big.end(), f.bytes.begin() + static_cast<std::ptrdiff_t>(headers), f.bytes.end());
      payload += f.bytes.size() - headers;
    }
    p.a_out.frames.clear();
    const BytesMut s(big);
    const wire::Ipv4ViewMut ip(s.subspan(kEth));
    ip.set_total_len(static_cast<std::uint16_t>(big.size() - kEth));
    ip.fill_checksum();
    // The kernel's CHECKSUM_PARTIAL: the pseudo-header sum, folded, in the checksum field.
    store_be16(s, kEth + 20 + 16,
               static_cast<std::uint16_t>(~checksum_finish(pseudo_header_sum(
                   ip.src(), ip.dst(), 6, static_cast<std::uint16_t>(big.size() - kEth - 20)))));
    FrameInfo info;
    info.checksum_trusted = trusted;
    p.b->receive(p.ib, big, p.now, p.b_out, info);
    std::vector<std::byte> buf(65536);
    auto n = server.recv(buf);
    if (trusted) {
      ASSERT_TRUE(n);
      EXPECT_EQ(*n, payload);
      EXPECT_TRUE(std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(payload),
                             buf.begin()));
      EXPECT_EQ(p.b->counters().tcp.rx_bad_checksum.value(), 0U);
    } else {
      EXPECT_FALSE(n && *n > 0);
      EXPECT_EQ(p.b->counters().tcp.rx_bad_checksum.value(), 1U);
    }
  }
}

}  // namespace
}  // namespace tapir
