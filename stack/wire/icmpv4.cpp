#include "stack/wire/icmpv4.hpp"

namespace tapir::wire {

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// The quoted datagram of an error: its header, and every byte after that header.
struct Quoted {
  Ipv4Repr header;
  Bytes data;
};

Result<Quoted> parse_quote(Bytes quote) {
  auto header = Ipv4Repr::parse_quoted(Ipv4View(quote));
  if (!header) return tl::unexpected(header.error());
  return Quoted{*header, quote.subspan(header->header_len())};
}

// Copies data to out at off, unless it is already there.
void place(BytesMut out, std::size_t off, Bytes data) {
  Expects(off <= out.size() && out.size() - off >= data.size());
  if (data.data() != out.data() + off) store_bytes(out, off, data);
}

}  // namespace

Result<Icmpv4Repr> Icmpv4Repr::parse(const Icmpv4View& view, ChecksumPolicy policy) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  // RFC 1122 §3.2.2: ICMP messages with a bad checksum are silently discarded.
  if (policy.verify_rx && !view.verify_checksum()) return fail(Errc::bad_checksum);
  const auto type = view.type();
  const auto code = view.code();
  switch (type) {
    case Icmpv4Type::EchoRequest:
      if (code != 0) break;
      return Icmpv4Repr{EchoRequest{view.ident(), view.seq_no(), view.payload()}};
    case Icmpv4Type::EchoReply:
      if (code != 0) break;
      return Icmpv4Repr{EchoReply{view.ident(), view.seq_no(), view.payload()}};
    case Icmpv4Type::DstUnreachable: {
      auto q = parse_quote(view.payload());
      if (!q) return tl::unexpected(q.error());
      return Icmpv4Repr{DstUnreachable{static_cast<Icmpv4DstUnreachable>(code), view.next_hop_mtu(),
                                       q->header, q->data}};
    }
    case Icmpv4Type::TimeExceeded: {
      auto q = parse_quote(view.payload());
      if (!q) return tl::unexpected(q.error());
      return Icmpv4Repr{TimeExceeded{static_cast<Icmpv4TimeExceeded>(code), q->header, q->data}};
    }
    default:
      break;
  }
  return Icmpv4Repr{Other{type, code, view.rest_of_header(), view.payload()}};
}

std::size_t Icmpv4Repr::buffer_len() const {
  return Icmpv4View::header_len +
         std::visit(
             Overloaded{
                 [](const DstUnreachable& m) { return m.header.header_len() + m.data.size(); },
                 [](const TimeExceeded& m) { return m.header.header_len() + m.data.size(); },
                 [](const auto& m) { return m.data.size(); },
             },
             message);
}

void Icmpv4Repr::emit(const Icmpv4ViewMut& view, ChecksumPolicy policy) const {
  const BytesMut out = view.buffer().first(buffer_len());
  const Icmpv4ViewMut v(out);
  constexpr std::size_t data_off = Icmpv4View::header_len;
  // An error's quoted header at data_off, then its data after it.
  const auto emit_quote = [&](const Ipv4Repr& header, Bytes data) {
    header.emit(Ipv4ViewMut(out.subspan(data_off, header.header_len())), ChecksumPolicy::all());
    place(out, data_off + header.header_len(), data);
  };
  std::visit(Overloaded{
                 [&](const EchoRequest& m) {
                   v.set_type(Icmpv4Type::EchoRequest);
                   v.set_code(0);
                   v.set_ident(m.ident);
                   v.set_seq_no(m.seq_no);
                   place(out, data_off, m.data);
                 },
                 [&](const EchoReply& m) {
                   v.set_type(Icmpv4Type::EchoReply);
                   v.set_code(0);
                   v.set_ident(m.ident);
                   v.set_seq_no(m.seq_no);
                   place(out, data_off, m.data);
                 },
                 [&](const DstUnreachable& m) {
                   v.set_type(Icmpv4Type::DstUnreachable);
                   v.set_code(static_cast<std::uint8_t>(m.code));
                   v.set_rest_of_header(0);
                   v.set_next_hop_mtu(m.next_hop_mtu);
                   emit_quote(m.header, m.data);
                 },
                 [&](const TimeExceeded& m) {
                   v.set_type(Icmpv4Type::TimeExceeded);
                   v.set_code(static_cast<std::uint8_t>(m.code));
                   v.set_rest_of_header(0);
                   emit_quote(m.header, m.data);
                 },
                 [&](const Other& m) {
                   v.set_type(m.type);
                   v.set_code(m.code);
                   v.set_rest_of_header(m.rest_of_header);
                   place(out, data_off, m.data);
                 },
             },
             message);
  if (policy.fill_tx) {
    v.fill_checksum();
  } else {
    v.set_checksum(0);
  }
}

}  // namespace tapir::wire
