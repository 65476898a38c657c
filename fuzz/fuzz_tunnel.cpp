// tapir-tunnel's sans-IO core (apps/tunnel/vxlan_tunnel.hpp) under arbitrary datagrams and
// frames. The input: one byte of settings (check_source, carry_vlan, the TAP's MTU), the
// tunnel's VNI (3 bytes), the datagram's source address (4 bytes), then the datagram, which is
// also offered as a frame from the TAP. Invariants: every call moves exactly one counter; an
// accepted datagram has the I flag and our VNI (RFC 7348 §5, §4.1), an inner frame inside the
// datagram right after the header, within the bounds, untagged unless tags are carried
// (§6.1); encapsulating what was accepted gives back the same frame behind the header
// 08 000000 VNI 00, which decapsulates to it again.
#include <cstring>
#include <vector>

#include "apps/tunnel/vxlan_tunnel.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace tapir;
using namespace tapir::tunnel;

namespace {

std::uint64_t total(const TunnelCounters& c, bool rx) {
  std::uint64_t sum = 0;
  c.for_each_counter([&](std::string_view name, const Counter& counter) {
    if (name.ends_with("_bytes") || name.ends_with("_dropped_full") || name.ends_with("_errors"))
      return;  // bytes, and what only the I/O side counts
    if (name.starts_with(rx ? "tunnel.rx_" : "tunnel.tx_")) sum += counter.value();
  });
  return sum;
}

bool tagged(Bytes frame) {
  const auto type = load_be16(frame, 12);
  return type == 0x8100 || type == 0x88a8;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  const Bytes input = as_bytes(data, size);
  const std::uint8_t settings = load_u8(input, 0);
  const std::uint32_t vni = load_be32(input, 0) & 0xffffffU;
  const Ipv4Address remote(10, 9, 0, 2);
  const Ipv4Address source = (settings & 0x04) != 0 ? Ipv4Address::from_bytes(input, 4) : remote;
  static constexpr std::size_t kMtus[] = {68, 1450, 1500, 9000, 65535};
  TunnelConfig config{.vni = vni,
                      .remote = remote,
                      .check_source = (settings & 0x01) != 0,
                      .carry_vlan = (settings & 0x02) != 0,
                      .max_frame_len = VxlanTunnel::max_frame_len_for(kMtus[(settings >> 3) % 5])};
  VxlanTunnel tunnel(config);
  const Bytes datagram = input.subspan(8);

  // Tunnel -> TAP.
  auto inner = tunnel.decapsulate(datagram, source);
  FUZZ_CHECK(total(tunnel.counters(), true) == 1);
  if (inner) {
    FUZZ_CHECK(tunnel.counters().rx_frames.value() == 1);
    FUZZ_CHECK(inner->data() == datagram.data() + VxlanTunnel::header_len);
    FUZZ_CHECK(inner->size() == datagram.size() - VxlanTunnel::header_len);
    FUZZ_CHECK(inner->size() >= VxlanTunnel::min_frame_len);
    FUZZ_CHECK(inner->size() <= config.max_frame_len);
    FUZZ_CHECK((load_u8(datagram, 0) & 0x08) != 0);
    FUZZ_CHECK((load_be32(datagram, 4) >> 8) == vni);
    FUZZ_CHECK(!config.check_source || source == remote);
    FUZZ_CHECK(config.carry_vlan || !tagged(*inner));

    // And back: the same frame behind our header.
    std::vector<std::byte> buffer(VxlanTunnel::headroom + inner->size(), std::byte{0xa5});
    store_bytes(buffer, VxlanTunnel::headroom, *inner);
    auto out = tunnel.encapsulate(buffer, inner->size());
    FUZZ_CHECK(out && out->size() == datagram.size());
    FUZZ_CHECK(load_be32(*out, 0) == 0x08000000U && load_be32(*out, 4) == (vni << 8));
    auto again = tunnel.decapsulate(*out, remote);
    FUZZ_CHECK(again && again->size() == inner->size() &&
               std::memcmp(again->data(), inner->data(), inner->size()) == 0);
  }

  // TAP -> tunnel: the datagram's bytes as a frame.
  VxlanTunnel sender(config);
  std::vector<std::byte> header(VxlanTunnel::header_len, std::byte{0xa5});
  auto sent = sender.write_header(datagram, header);
  FUZZ_CHECK(total(sender.counters(), false) == 1);
  if (sent) {
    FUZZ_CHECK(datagram.size() >= VxlanTunnel::min_frame_len);
    FUZZ_CHECK(datagram.size() <= config.max_frame_len);
    FUZZ_CHECK(config.carry_vlan || !tagged(datagram));
    FUZZ_CHECK(load_be32(header, 0) == 0x08000000U && load_be32(header, 4) == (vni << 8));
  } else {
    FUZZ_CHECK(load_u8(header, 0) == 0xa5);  // nothing written for a dropped frame
  }
  return 0;
}
