#include "stack/tcp/reset.hpp"

namespace tapir::tcp {

std::optional<wire::TcpRepr> reset_for(const wire::TcpRepr& segment) {
  if (segment.rst) return std::nullopt;
  wire::TcpRepr reply;
  reply.src_port = segment.dst_port;
  reply.dst_port = segment.src_port;
  reply.rst = true;
  if (segment.ack_number) {
    reply.seq_number = *segment.ack_number;
  } else {
    const auto seg_len = static_cast<std::uint32_t>(segment.payload_len) + (segment.syn ? 1U : 0U) +
                         (segment.fin ? 1U : 0U);
    reply.seq_number = wire::SeqNum(0);
    reply.ack_number = segment.seq_number + seg_len;
  }
  return reply;
}

}  // namespace tapir::tcp
