#include "drivers/runtime/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace tapir::drivers {

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  auto made = spdlog::stderr_color_mt(name);
  made->set_pattern("%H:%M:%S.%f %-4n %^%-5l%$ %v");
  return made;
}

void configure_logging(spdlog::level::level_enum level) {
  auto plain = spdlog::get("tapir");
  if (!plain) {
    plain = spdlog::stderr_color_mt("tapir");
    plain->set_pattern("%v");
  }
  spdlog::set_default_logger(plain);
  spdlog::set_level(level);
}

}  // namespace tapir::drivers
