// The Content-Type of a file by its extension (case-insensitive), as common servers map them:
// html/htm, txt, css, js, json, png, jpg/jpeg, gif, svg, ico, pdf, wasm; anything else
// (bin, no extension, unknown) is application/octet-stream.
#pragma once

#include <string_view>

namespace tapir::apps::http {

std::string_view content_type(std::string_view file_name);

}  // namespace tapir::apps::http
