#include "stack/wire/udp.hpp"

namespace tapir::wire {

Result<UdpRepr> UdpRepr::parse(const UdpView& view, Ipv4Address src_ip, Ipv4Address dst_ip,
                               ChecksumPolicy policy) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  // RFC 768: an all-zero transmitted checksum means the transmitter generated no checksum.
  if (policy.verify_rx && view.checksum() != 0 && !view.verify_checksum(src_ip, dst_ip)) {
    return fail(Errc::bad_checksum);
  }
  return UdpRepr{view.src_port(), view.dst_port(), std::size_t{view.len()} - UdpView::header_len};
}

void UdpRepr::emit(const UdpViewMut& view, Ipv4Address src_ip, Ipv4Address dst_ip,
                   ChecksumPolicy policy) const {
  Expects(buffer_len() <= 0xffffU && view.buffer().size() >= buffer_len());
  view.set_src_port(src_port);
  view.set_dst_port(dst_port);
  view.set_len(static_cast<std::uint16_t>(buffer_len()));
  if (policy.fill_tx) {
    view.fill_checksum(src_ip, dst_ip);
  } else {
    view.set_checksum(0);
  }
}

}  // namespace tapir::wire
