// The reply to a segment that finds no connection (RFC 9293 §3.10.7.1, "If the state is
// CLOSED"): the first piece of the TCP issue's stack/tcp, used by the demux for every segment
// that matches no connection and no listener.
#pragma once

#include <optional>

#include "stack/wire/tcp.hpp"

namespace tapir::tcp {

// RFC 9293 §3.10.7.1: "An incoming segment containing a RST is discarded. An incoming segment
// not containing a RST causes a RST to be sent in response":
//   ACK off:  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
//   ACK on:   <SEQ=SEG.ACK><CTL=RST>
// SEG.LEN counts the data and one for each of SYN and FIN. Ports are swapped; the window is
// zero and no options are sent (as Linux's tcp_v4_send_reset). nullopt for a RST.
std::optional<wire::TcpRepr> reset_for(const wire::TcpRepr& segment);

}  // namespace tapir::tcp
