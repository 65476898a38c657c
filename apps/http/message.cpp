#include "apps/http/message.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <fmt/core.h>

namespace tapir::apps::http {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// Calls f(element) for each element of a comma-separated list (RFC 9110 §5.6.1), empty
// elements skipped, whitespace around each removed.
template <class F>
void for_each_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto element = trim(list.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// A field value may hold visible characters, SP, HTAB and obs-text (RFC 9110 §5.5); never
// NUL, CR, LF or another control character.
bool valid_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

}  // namespace

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

std::optional<std::string_view> Fields::get(std::string_view name) const {
  for (const auto& f : fields_)
    if (iequals(f.name, name)) return std::string_view(f.value);
  return std::nullopt;
}

std::size_t Fields::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.name, name); }));
}

bool Fields::has_token(std::string_view name, std::string_view token) const {
  bool found = false;
  for (const auto& f : fields_) {
    if (!iequals(f.name, name)) continue;
    for_each_element(f.value, [&](std::string_view e) { found = found || iequals(e, token); });
  }
  return found;
}

std::string Fields::last_token(std::string_view name) const {
  std::string_view last;
  for (const auto& f : fields_) {
    if (!iequals(f.name, name)) continue;
    for_each_element(f.value, [&](std::string_view e) { last = e; });
  }
  std::string out(last);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::optional<std::size_t> find_head_end(std::string_view buffer) {
  std::size_t pos = 0;
  // Empty lines before the start line are part of the head (and skipped by split_head).
  for (;;) {
    if (buffer.substr(pos, 2) == "\r\n") {
      pos += 2;
    } else if (buffer.substr(pos, 1) == "\n") {
      pos += 1;
    } else {
      break;
    }
  }
  for (;;) {
    const auto lf = buffer.find('\n', pos);
    if (lf == std::string_view::npos) return std::nullopt;
    // The line after this one is empty: CRLF or LF right after it.
    const auto next = lf + 1;
    if (buffer.substr(next, 2) == "\r\n") return next + 2;
    if (buffer.substr(next, 1) == "\n") return next + 1;
    pos = next;
  }
}

tl::expected<std::vector<std::string_view>, std::string> split_head(std::string_view head) {
  std::vector<std::string_view> lines;
  bool start = true;
  while (!head.empty()) {
    const auto lf = head.find('\n');
    auto line = head.substr(0, lf);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return failure("a bare CR in the head");
    if (line.empty()) {
      if (start) continue;  // before the start line
      break;                // the end of the head
    }
    start = false;
    lines.push_back(line);
  }
  return lines;
}

tl::expected<Fields, std::string> parse_fields(const std::vector<std::string_view>& lines,
                                               std::size_t max_fields) {
  Fields fields;
  for (const auto line : lines) {
    if (is_ows(line.front())) {
      // RFC 9112 §5.2: obs-fold; a server may reject it with 400, and so we do, client too.
      return failure("a folded header line (obs-fold)");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return failure("a header line without a colon");
    const auto name = line.substr(0, colon);
    // RFC 9112 §5.1: no whitespace between the field name and the colon.
    if (!is_token(name)) return failure(fmt::format("a bad header name \"{}\"", name));
    const auto value = trim(line.substr(colon + 1));
    if (!valid_value(value))
      return failure(fmt::format("a control character in the {} header", name));
    if (fields.size() == max_fields) return failure("too many header fields");
    fields.add(std::string(name), std::string(value));
  }
  return fields;
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  std::optional<std::uint64_t> result;
  bool ok = true;
  bool any = false;
  for_each_element(value, [&](std::string_view e) {
    any = true;
    std::uint64_t v = 0;
    const auto* end = e.data() + e.size();
    auto [ptr, ec] = std::from_chars(e.data(), end, v);
    if (ec != std::errc{} || ptr != end ||
        !std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ok = false;
      return;
    }
    if (result && *result != v) ok = false;
    result = v;
  });
  if (!ok || !any) return std::nullopt;
  return result;
}

tl::expected<BodyFraming, std::string> body_framing(const Fields& fields, bool is_request) {
  const bool has_te = fields.count("Transfer-Encoding") > 0;
  const auto lengths = fields.count("Content-Length");
  if (has_te && lengths > 0) {
    // RFC 9112 §6.3 item 3: possibly an attempt at request smuggling; refused either way.
    return failure("both Transfer-Encoding and Content-Length");
  }
  if (has_te) {
    if (fields.last_token("Transfer-Encoding") == "chunked")
      return BodyFraming{BodyFraming::Kind::Chunked, 0};
    // RFC 9112 §6.3 item 4: a request whose final coding is not chunked cannot be framed; a
    // response is read until the connection closes.
    if (is_request) return failure("a Transfer-Encoding other than chunked");
    return BodyFraming{BodyFraming::Kind::UntilClose, 0};
  }
  if (lengths > 0) {
    // Several Content-Length fields must agree; parse the combined list.
    std::string combined;
    for (const auto& f : fields.all()) {
      if (!iequals(f.name, "Content-Length")) continue;
      if (!combined.empty()) combined += ',';
      combined += f.value;
    }
    auto length = parse_content_length(combined);
    if (!length) return failure(fmt::format("a bad Content-Length \"{}\"", combined));
    return BodyFraming{BodyFraming::Kind::Length, *length};
  }
  if (is_request) return BodyFraming{BodyFraming::Kind::None, 0};
  return BodyFraming{BodyFraming::Kind::UntilClose, 0};
}

}  // namespace tapir::apps::http
