#include "apps/http/mime.hpp"

#include <array>
#include <utility>

#include "apps/http/message.hpp"

namespace tapir::apps::http {

std::string_view content_type(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes = {{
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"txt", "text/plain; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},  // RFC 9239
      {"json", "application/json"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"svg", "image/svg+xml"},
      {"ico", "image/vnd.microsoft.icon"},
      {"pdf", "application/pdf"},
      {"wasm", "application/wasm"},
  }};
  const auto slash = file_name.rfind('/');
  const auto base = file_name.substr(slash == std::string_view::npos ? 0 : slash + 1);
  const auto dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    const auto extension = base.substr(dot + 1);
    for (const auto& [ext, type] : kTypes)
      if (iequals(extension, ext)) return type;
  }
  return "application/octet-stream";
}

}  // namespace tapir::apps::http
