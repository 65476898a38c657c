#include "apps/tunnel/vxlan_tunnel.hpp"

#include <algorithm>

#include "stack/wire/ethernet.hpp"

namespace tapir::tunnel {
namespace {

// The frame (at least an Ethernet header) carries an IEEE 802.1Q or 802.1ad tag.
bool tagged(Bytes frame) {
  const auto type = static_cast<wire::EtherType>(load_be16(frame, 12));
  return type == wire::EtherType::Vlan || type == wire::EtherType::QinQ;
}

}  // namespace

std::string_view to_string(Drop drop) {
  switch (drop) {
    case Drop::too_small:
      return "too small";
    case Drop::too_large:
      return "too large";
    case Drop::wrong_source:
      return "wrong source";
    case Drop::bad_header:
      return "bad header";
    case Drop::wrong_vni:
      return "wrong VNI";
    case Drop::inner_vlan:
      return "inner VLAN tag";
  }
  return "unknown";
}

std::size_t VxlanTunnel::max_frame_len_for(std::size_t tap_mtu) {
  // An Ethernet header and one IEEE 802.1Q tag around the MTU's payload.
  return std::min(tap_mtu + min_frame_len + 4, max_frame_limit);
}

VxlanTunnel::VxlanTunnel(const TunnelConfig& config)
    : config_(config), repr_{config.vni & wire::VxlanView::kMaxVni} {
  config_.max_frame_len = std::min(config_.max_frame_len, max_frame_limit);
}

void VxlanTunnel::set_max_frame_len(std::size_t len) {
  config_.max_frame_len = std::min(len, max_frame_limit);
}

tl::expected<void, Drop> VxlanTunnel::write_header(Bytes frame, BytesMut header) {
  Expects(header.size() >= header_len);
  if (frame.size() < min_frame_len) {
    counters_.tx_too_small.inc();
    return tl::unexpected(Drop::too_small);
  }
  if (frame.size() > config_.max_frame_len) {
    counters_.tx_too_large.inc();
    return tl::unexpected(Drop::too_large);
  }
  // RFC 7348 §6.1: a VTEP SHOULD NOT include an inner VLAN tag unless configured otherwise.
  if (!config_.carry_vlan && tagged(frame)) {
    counters_.tx_inner_vlan.inc();
    return tl::unexpected(Drop::inner_vlan);
  }
  // RFC 7348 §5: flags 0x08 (the I flag), the reserved fields zero, our VNI.
  repr_.emit(wire::VxlanViewMut(header.first(header_len)));
  counters_.tx_frames.inc();
  counters_.tx_bytes.inc(frame.size());
  return {};
}

tl::expected<BytesMut, Drop> VxlanTunnel::encapsulate(BytesMut buffer, std::size_t frame_len) {
  Expects(buffer.size() >= headroom && buffer.size() - headroom >= frame_len);
  auto frame = buffer.subspan(headroom, frame_len);
  if (auto r = write_header(frame, buffer.first(headroom)); !r) return tl::unexpected(r.error());
  return buffer.first(headroom + frame_len);
}

tl::expected<Bytes, Drop> VxlanTunnel::decapsulate(Bytes datagram, Ipv4Address source) {
  if (config_.check_source && source != config_.remote) {
    counters_.rx_wrong_source.inc();
    return tl::unexpected(Drop::wrong_source);
  }
  // RFC 7348 §5: the I flag MUST be set for a valid VNI; reserved bits are ignored on receipt.
  auto view = wire::VxlanView::checked(datagram);
  if (!view) {
    counters_.rx_bad_header.inc();
    return tl::unexpected(Drop::bad_header);
  }
  auto repr = wire::VxlanRepr::parse(*view);
  if (!repr) {
    counters_.rx_bad_header.inc();
    return tl::unexpected(Drop::bad_header);
  }
  // RFC 7348 §4.1: only hosts of the same VXLAN segment (VNI) communicate; a frame for another
  // VNI is not ours to deliver.
  if (repr->vni != repr_.vni) {
    counters_.rx_wrong_vni.inc();
    return tl::unexpected(Drop::wrong_vni);
  }
  Bytes inner = view->payload();
  if (inner.size() < min_frame_len) {
    counters_.rx_too_small.inc();
    return tl::unexpected(Drop::too_small);
  }
  if (inner.size() > config_.max_frame_len) {
    counters_.rx_too_large.inc();
    return tl::unexpected(Drop::too_large);
  }
  // RFC 7348 §6.1: decapsulated frames with an inner VLAN tag SHOULD be discarded unless
  // configured otherwise.
  if (!config_.carry_vlan && tagged(inner)) {
    counters_.rx_inner_vlan.inc();
    return tl::unexpected(Drop::inner_vlan);
  }
  counters_.rx_frames.inc();
  counters_.rx_bytes.inc(inner.size());
  return inner;
}

}  // namespace tapir::tunnel
