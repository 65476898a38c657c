// FrameLog: the stack's FrameTracer for trace logs. At level trace of its logger (`eth` by
// default) it writes one tcpdump-like line per frame in and out (stack/wire/describe.hpp):
//
//   12:00:01.000123 eth  trace in  if0 0a:..:01 > 02:..:02, IPv4 10.0.0.1 > 10.0.0.2: ICMP ...
//
// Below trace it returns before formatting anything. The line buffer is reused, so after the
// first frames it allocates nothing of its own.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "stack/base/bytes.hpp"
#include "stack/stack.hpp"
#include "stack/wire/describe.hpp"

namespace tapir::drivers {

class FrameLog final : public FrameTracer {
 public:
  explicit FrameLog(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  // Whether on_frame would write anything: the app sets the tracer only then.
  bool enabled() const { return log_->should_log(spdlog::level::trace); }

  void on_frame(InterfaceId iface, Medium medium, bool outgoing, Bytes frame) override;

 private:
  std::shared_ptr<spdlog::logger> log_;
  wire::DescribeBuffer line_;
};

}  // namespace tapir::drivers
