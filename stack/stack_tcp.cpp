// TCP input of Stack. For now every segment finds no connection, so it is answered as RFC 9293
// §3.10.7.1 says for the CLOSED state; the TCP issue adds listeners and connections in front.
#include "stack/stack.hpp"
#include "stack/tcp/reset.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir {

void Stack::receive_tcp(InterfaceId iface, const wire::Ipv4Repr& ip, Bytes payload, Instant now,
                        FrameSink& sink) {
  auto& c = counters_.tcp;
  c.rx_segments.inc();
  const wire::TcpView view(payload);
  auto parsed = wire::TcpRepr::parse(view, ip.src, ip.dst, config_.checksums);
  if (!parsed) {
    // RFC 9293 §3.10.7.1 applies to segments that are TCP at all: a bad checksum or a malformed
    // header is dropped silently (RFC 9293 §3.1, RFC 1122 §4.2.2.7).
    (parsed.error() == Errc::bad_checksum ? c.rx_bad_checksum : c.rx_malformed).inc();
    return;
  }
  c.rx_no_socket.inc();
  // Never answer a segment sent to a broadcast or multicast address (RFC 1122 §4.2.3.10).
  if (!is_local_address(ip.dst) || is_broadcast_for(iface, ip.dst)) return;
  const auto reset = tcp::reset_for(*parsed);
  if (!reset) return;  // a RST is never answered
  IpSend send = IpSend::to(ip.dst, ip.src, wire::IpProtocol::Tcp);
  // As Linux's resets: DF set, identification zero.
  send.dont_frag = true;
  send.ident = 0;
  auto prepared = prepare_ipv4(send, reset->buffer_len());
  if (!prepared) return;
  reset->emit(wire::TcpViewMut(prepared->l4), send.src, send.dst, config_.checksums);
  if (send_built_ipv4(send, prepared->hop, reset->buffer_len(), now, sink)) c.tx_resets.inc();
}

}  // namespace tapir
