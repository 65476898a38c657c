// Per-frame costs of the wire layer: the Internet checksum over full-size payloads and the
// codecs' check/parse/emit on captured Linux frames. Run: build/default/bin/bench_wire
#include <vector>

#include <benchmark/benchmark.h>

#include "stack/base/checksum.hpp"
#include "stack/base/random.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"

namespace {

using namespace tapir;

std::vector<std::byte> random_bytes(std::size_t n) {
  Random rng(1);
  std::vector<std::byte> v(n);
  for (auto& b : v)
    b = static_cast<std::byte>(rng.next_u32());
  return v;
}

void BM_InternetChecksum(benchmark::State& state) {
  const auto data = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(internet_checksum(data));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_InternetChecksum)->Arg(20)->Arg(64)->Arg(1460)->Arg(9000);

const Ipv4Address kSrc(10, 0, 0, 1);
const Ipv4Address kDst(10, 0, 0, 2);
constexpr std::size_t kMss = 1448;  // 1500 - 20 (IPv4) - 20 (TCP) - 12 (timestamps)

wire::TcpRepr data_segment() {
  wire::TcpRepr tcp{};
  tcp.src_port = 40000;
  tcp.dst_port = 80;
  tcp.seq_number = wire::SeqNum(0x12345678);
  tcp.ack_number = wire::SeqNum(0x9abcdef0);
  tcp.psh = true;
  tcp.window_len = 502;
  tcp.timestamps = wire::TcpTimestamps{1000, 2000};
  tcp.payload_len = kMss;
  return tcp;
}

// Builds a full-size Ethernet/IPv4/TCP frame the way the stack will send one: the payload is
// copied once into place, then each layer's header is emitted around it with its checksum.
void build_frame(std::vector<std::byte>& frame, Bytes payload) {
  const auto tcp = data_segment();
  wire::Ipv4Repr ip{};
  ip.src = kSrc;
  ip.dst = kDst;
  ip.protocol = wire::IpProtocol::Tcp;
  ip.dont_frag = true;
  ip.payload_len = tcp.buffer_len();
  const std::size_t ip_at = wire::EthernetRepr::buffer_len();
  const std::size_t tcp_at = ip_at + ip.header_len();
  store_bytes(frame, tcp_at + tcp.header_len(), payload);
  tcp.emit(wire::TcpViewMut(BytesMut(frame).subspan(tcp_at)), kSrc, kDst,
           wire::ChecksumPolicy::all());
  ip.emit(wire::Ipv4ViewMut(BytesMut(frame).subspan(ip_at)), wire::ChecksumPolicy::all());
  wire::EthernetRepr{MacAddress({2, 0, 0, 0, 0, 1}), MacAddress({2, 0, 0, 0, 0, 2}),
                     wire::EtherType::Ipv4}
      .emit(wire::EthernetViewMut(frame));
}

std::size_t frame_len() {
  return wire::EthernetRepr::buffer_len() + 20 + data_segment().buffer_len();
}

void BM_EmitFullSizeTcpFrame(benchmark::State& state) {
  const auto payload = random_bytes(kMss);
  std::vector<std::byte> frame(frame_len());
  for (auto _ : state) {
    build_frame(frame, payload);
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(BM_EmitFullSizeTcpFrame);

// The receive side: check and parse every layer of a full-size frame, checksums verified.
void BM_ParseFullSizeTcpFrame(benchmark::State& state) {
  std::vector<std::byte> frame(frame_len());
  build_frame(frame, random_bytes(kMss));
  for (auto _ : state) {
    auto eth = wire::EthernetView::checked(frame);
    auto ip = wire::Ipv4View::checked(eth->payload());
    auto ip_repr = wire::Ipv4Repr::parse(*ip, wire::ChecksumPolicy::all());
    auto tcp = wire::TcpView::checked(ip->payload());
    auto tcp_repr =
        wire::TcpRepr::parse(*tcp, ip_repr->src, ip_repr->dst, wire::ChecksumPolicy::all());
    if (!tcp_repr) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(tcp_repr);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(BM_ParseFullSizeTcpFrame);

// What a trace log line costs (only paid when the trace level is on).
void BM_DescribeTcpFrame(benchmark::State& state) {
  std::vector<std::byte> frame(frame_len());
  build_frame(frame, random_bytes(kMss));
  wire::DescribeBuffer out;
  for (auto _ : state) {
    out.clear();
    wire::describe(out, frame);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_DescribeTcpFrame);

}  // namespace

BENCHMARK_MAIN();
