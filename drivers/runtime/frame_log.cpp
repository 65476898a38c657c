#include "drivers/runtime/frame_log.hpp"

#include <string_view>

namespace tapir::drivers {

void FrameLog::on_frame(InterfaceId iface, Medium medium, bool outgoing, Bytes frame) {
  if (!enabled()) return;
  line_.clear();
  wire::describe(line_, frame,
                 medium == Medium::Ethernet ? wire::LinkType::Ethernet : wire::LinkType::Raw);
  log_->trace("{} if{} {}", outgoing ? "out" : "in ", iface,
              std::string_view(line_.data(), line_.size()));
}

}  // namespace tapir::drivers
