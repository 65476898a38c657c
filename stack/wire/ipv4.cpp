#include "stack/wire/ipv4.hpp"

namespace tapir::wire {

namespace {

// The fields both parse modes share; the view has passed check_header().
Ipv4Repr from_header(const Ipv4View& view) {
  Ipv4Repr r;
  r.src = view.src();
  r.dst = view.dst();
  r.protocol = view.protocol();
  r.ttl = view.ttl();
  r.dscp = view.dscp();
  r.ecn = view.ecn();
  r.ident = view.ident();
  r.dont_frag = view.dont_frag();
  r.more_frags = view.more_frags();
  r.frag_offset = view.frag_offset();
  r.payload_len = std::size_t{view.total_len()} - view.header_len();
  r.options = Ipv4Options::from_bytes(view.options());
  return r;
}

}  // namespace

Result<Ipv4Repr> Ipv4Repr::parse(const Ipv4View& view, ChecksumPolicy policy) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  // RFC 1122 §3.2.1.2: a host must verify the header checksum and discard on failure.
  if (policy.verify_rx && !view.verify_checksum()) return fail(Errc::bad_checksum);
  return from_header(view);
}

Result<Ipv4Repr> Ipv4Repr::parse_quoted(const Ipv4View& view) {
  if (auto s = view.check_header(); !s) return tl::unexpected(s.error());
  return from_header(view);
}

void Ipv4Repr::emit(const Ipv4ViewMut& view, ChecksumPolicy policy) const {
  Expects(options.len % 4 == 0);
  Expects(buffer_len() <= 0xffffU);
  // Byte 0, byte 1 and bytes 6-7 are each written whole by these setters together.
  view.set_version(Ipv4View::version_4);
  view.set_header_len(header_len());
  view.set_dscp(dscp);
  view.set_ecn(ecn);
  view.set_total_len(static_cast<std::uint16_t>(buffer_len()));
  view.set_ident(ident);
  view.set_frag_offset(frag_offset);
  view.set_reserved_flag(false);
  view.set_dont_frag(dont_frag);
  view.set_more_frags(more_frags);
  view.set_ttl(ttl);
  view.set_protocol(protocol);
  view.set_src(src);
  view.set_dst(dst);
  store_bytes(view.buffer(), Ipv4View::min_header_len, options.bytes());
  if (policy.fill_tx) {
    view.fill_checksum();
  } else {
    view.set_checksum(0);
  }
}

}  // namespace tapir::wire
