// The named loggers of the drivers and apps (DESIGN.md, Logging: one per layer, `eth`, `arp`,
// `ipv4`, `icmp`, `udp`, `tcp`, `bridge`, `drv`). The core never configures sinks; this is
// where a program does: every logger writes to stderr (stdout belongs to the program's own
// output, e.g. tapir-ping's replies), as `12:00:01.123456 drv  warn  <message>`.
#pragma once

#include <memory>
#include <string>

#include <spdlog/common.h>
#include <spdlog/logger.h>

namespace tapir::drivers {

// The logger called `name`, created on first use (writing to stderr, at the global level).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// Sets the level of every logger, those made later included, and makes the default logger
// (spdlog::info(...)) write bare lines to stderr: what a program says to its user.
void configure_logging(spdlog::level::level_enum level);

}  // namespace tapir::drivers
