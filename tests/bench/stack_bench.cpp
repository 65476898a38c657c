// Google Benchmark of the stack's per-frame paths with no device: frames in through
// Stack::receive, frames out into a sink that only counts them. What it measures is the stack
// alone (parse, demux, the one payload copy, building the reply), the part of the 1.6 µs
// per-frame budget (docs/performance.md) that is ours rather than the kernel's.
#include <cstddef>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "stack/stack.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/udp.hpp"

namespace {

using namespace tapir;  // NOLINT(build/namespaces): a benchmark

const MacAddress kOurMac({0x02, 0, 0, 0, 0, 0x02});
const MacAddress kPeerMac({0x02, 0, 0, 0, 0, 0x01});
const Ipv4Address kOurIp(10, 0, 0, 2);
const Ipv4Address kPeerIp(10, 0, 0, 1);

struct CountingSink final : FrameSink {
  std::size_t frames = 0, bytes = 0;
  void transmit(InterfaceId /*iface*/, Bytes frame) override {
    ++frames;
    bytes += frame.size();
  }
};

struct Fixture {
  std::unique_ptr<Stack> stack = *Stack::create(StackConfig{});
  InterfaceId iface =
      *stack->add_interface({Medium::Ethernet, kOurMac, 1500, *Ipv4Cidr::parse("10.0.0.2/24")});
  CountingSink sink;
  Instant now = instant_from_micros(1'000'000);

  Fixture() {
    // Teach the stack the peer's MAC (RFC 826: a request for our address adds the sender).
    std::vector<std::byte> arp(60);
    const wire::EthernetViewMut eth{BytesMut(arp)};
    wire::EthernetRepr{kPeerMac, kOurMac, wire::EtherType::Arp}.emit(eth);
    wire::ArpRepr{wire::ArpOperation::Request, kPeerMac, kPeerIp, MacAddress{}, kOurIp}.emit(
        wire::ArpViewMut(eth.payload()));
    stack->receive(iface, arp, now, sink);
    stack->poll(now, sink);
  }
};

// An Ethernet frame carrying an IPv4 datagram from the peer with the given transport bytes.
std::vector<std::byte> ipv4_frame(wire::IpProtocol protocol, std::size_t l4_len) {
  std::vector<std::byte> frame(14 + 20 + l4_len);
  const wire::EthernetViewMut eth{BytesMut(frame)};
  wire::EthernetRepr{kPeerMac, kOurMac, wire::EtherType::Ipv4}.emit(eth);
  wire::Ipv4Repr ip;
  ip.src = kPeerIp;
  ip.dst = kOurIp;
  ip.protocol = protocol;
  ip.payload_len = l4_len;
  ip.emit(wire::Ipv4ViewMut(eth.payload()), wire::ChecksumPolicy::all());
  return frame;
}

// The kernel pings us with a 1472-byte payload (a full-size frame); we reply at once.
void BM_EchoFullSizePing(benchmark::State& state) {
  Fixture f;
  const std::size_t data_len = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> data(data_len, std::byte{0x5a});
  auto frame = ipv4_frame(wire::IpProtocol::Icmp, 8 + data_len);
  const wire::Icmpv4Repr echo{wire::Icmpv4Repr::EchoRequest{0x1234, 1, Bytes(data)}};
  echo.emit(wire::Icmpv4ViewMut(BytesMut(frame).subspan(34)), wire::ChecksumPolicy::all());
  for (auto _ : state) {
    f.stack->receive(f.iface, frame, f.now, f.sink);
    benchmark::DoNotOptimize(f.sink.frames);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size() * 2));
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EchoFullSizePing)->Arg(56)->Arg(1472);

// A full-size UDP datagram in, read by the application, sent back, emitted by poll(): the
// whole UDP echo path through the socket API.
void BM_UdpEchoFullSize(benchmark::State& state) {
  Fixture f;
  auto sock = *f.stack->udp_socket();
  (void)sock.bind({Ipv4Address::any(), 7});
  constexpr std::size_t kPayload = 1472;
  auto frame = ipv4_frame(wire::IpProtocol::Udp, 8 + kPayload);
  const BytesMut l4 = BytesMut(frame).subspan(34);
  std::fill(l4.begin() + 8, l4.end(), std::byte{0x33});
  wire::UdpRepr{40000, 7, kPayload}.emit(wire::UdpViewMut(l4), kPeerIp, kOurIp,
                                         wire::ChecksumPolicy::all());
  std::vector<std::byte> buf(2048);
  for (auto _ : state) {
    f.stack->receive(f.iface, frame, f.now, f.sink);
    auto info = sock.recv_from(buf);
    (void)sock.send_to(Bytes(buf).first(info->len), info->remote);
    f.stack->poll(f.now, f.sink);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size() * 2));
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_UdpEchoFullSize);

// A 4000-byte ping arrives in three fragments, is reassembled and answered in three.
void BM_EchoFragmentedPing(benchmark::State& state) {
  Fixture f;
  constexpr std::size_t kData = 3972;
  std::vector<std::byte> data(kData, std::byte{0x11});
  std::vector<std::byte> l4(8 + kData);
  wire::Icmpv4Repr{wire::Icmpv4Repr::EchoRequest{0x1234, 1, Bytes(data)}}.emit(
      wire::Icmpv4ViewMut(BytesMut(l4)), wire::ChecksumPolicy::all());
  std::vector<std::vector<std::byte>> frags;
  for (std::size_t off = 0; off < l4.size(); off += 1480) {
    const std::size_t n = std::min<std::size_t>(1480, l4.size() - off);
    auto frame = ipv4_frame(wire::IpProtocol::Icmp, n);
    wire::Ipv4Repr ip;
    ip.src = kPeerIp;
    ip.dst = kOurIp;
    ip.protocol = wire::IpProtocol::Icmp;
    ip.ident = 7;
    ip.frag_offset = static_cast<std::uint16_t>(off);
    ip.more_frags = off + n < l4.size();
    ip.payload_len = n;
    ip.emit(wire::Ipv4ViewMut(BytesMut(frame).subspan(14)), wire::ChecksumPolicy::all());
    std::copy_n(l4.begin() + static_cast<std::ptrdiff_t>(off), n, frame.begin() + 34);
    frags.push_back(std::move(frame));
  }
  for (auto _ : state) {
    for (const auto& fr : frags)
      f.stack->receive(f.iface, fr, f.now, f.sink);
  }
  state.counters["pings/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EchoFragmentedPing);

// ---- TCP: two stacks joined in memory ----------------------------------------------------------

// Frames one stack sent, kept in buffers allocated up front (as tcp_steady_state_alloc_test).
struct FrameQueue final : FrameSink {
  std::vector<std::vector<std::byte>> frames = std::vector<std::vector<std::byte>>(4096);
  std::size_t count = 0;
  FrameQueue() {
    for (auto& f : frames)
      f.reserve(1600);
  }
  void transmit(InterfaceId /*iface*/, Bytes frame) override {
    if (count < frames.size()) frames[count++].assign(frame.begin(), frame.end());
  }
};

struct TcpPair {
  std::unique_ptr<Stack> a = *Stack::create(StackConfig{});
  std::unique_ptr<Stack> b = *Stack::create(StackConfig{});
  InterfaceId ia =
      *a->add_interface({Medium::Ethernet, kPeerMac, 1500, *Ipv4Cidr::parse("10.0.0.1/24")});
  InterfaceId ib =
      *b->add_interface({Medium::Ethernet, kOurMac, 1500, *Ipv4Cidr::parse("10.0.0.2/24")});
  FrameQueue a_out, b_out;
  Instant now = instant_from_micros(1'000'000);
  std::size_t frames = 0;

  void settle() {
    for (int i = 0; i < 10000; ++i) {
      a->poll(now, a_out);
      b->poll(now, b_out);
      if (a_out.count == 0 && b_out.count == 0) return;
      const std::size_t na = a_out.count, nb = b_out.count;
      frames += na + nb;
      a_out.count = b_out.count = 0;
      for (std::size_t k = 0; k < na; ++k)
        b->receive(ib, a_out.frames[k], now, b_out);
      for (std::size_t k = 0; k < nb; ++k)
        a->receive(ia, b_out.frames[k], now, a_out);
    }
  }
};

// Bulk data from A to B through the socket API: A's send path (segmentation, the one copy from
// the send ring into frames), B's receive path (demux, the one copy into the receive ring, ACKs
// every second segment) and A's ACK processing. Both stacks' CPU is in the figure.
void BM_TcpBulkTransfer(benchmark::State& state) {
  TcpPair p;
  auto listener = *p.b->tcp_listen({Ipv4Address::any(), 9}, 8);
  auto client = *p.a->tcp_socket();
  (void)client.connect({kOurIp, 9});
  p.settle();
  auto server = *listener.accept();
  std::vector<std::byte> out(64 * 1024, std::byte{0x5a});
  std::vector<std::byte> in(64 * 1024);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    auto n = client.send(out);
    p.settle();
    while (auto r = server.recv(in)) {
      if (*r == 0) break;
      bytes += *r;
    }
    p.now += std::chrono::microseconds(50);
    (void)n;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["frames"] =
      benchmark::Counter(static_cast<double>(p.frames), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TcpBulkTransfer);

// A whole connection: handshake, 100 bytes each way, close from the client (TIME-WAIT parked).
void BM_TcpConnection(benchmark::State& state) {
  TcpPair p;
  auto listener = *p.b->tcp_listen({Ipv4Address::any(), 7}, 64);
  std::vector<std::byte> buf(100, std::byte{0x42});
  std::vector<std::byte> in(2048);
  for (auto _ : state) {
    auto client = *p.a->tcp_socket();
    if (auto c = client.connect({kOurIp, 7}); !c) {
      state.SkipWithError(("connect: " + c.error().message()).c_str());
      break;
    }
    p.settle();
    auto server = listener.accept();
    if (!server) {
      state.SkipWithError(("accept: " + server.error().message() + " in state " +
                           std::string(tcp::to_string(client.state())))
                              .c_str());
      break;
    }
    (void)client.send(buf);
    p.settle();
    (void)server->recv(in);
    (void)server->send(buf);
    p.settle();
    (void)client.recv(in);
    client.close();
    p.settle();
    server->close();
    p.settle();
    p.now += std::chrono::microseconds(100);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TcpConnection);

}  // namespace

BENCHMARK_MAIN();
