#include "apps/http/request.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace tapir::apps::http {
namespace {

tl::unexpected<RequestError> error(Status status, std::string why) {
  return tl::unexpected(RequestError{status, std::move(why)});
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
std::optional<Version> parse_version(std::string_view s) {
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || !is_digit(s[5]) || s[6] != '.' ||
      !is_digit(s[7]))
    return std::nullopt;
  return Version{static_cast<unsigned>(s[5] - '0'), static_cast<unsigned>(s[7] - '0')};
}

// The characters a request-target may hold (RFC 3986 §2: unreserved, reserved, '%'): visible
// ASCII. Raw spaces, control characters and bytes above 0x7e are refused.
bool valid_target(std::string_view t) {
  return std::all_of(t.begin(), t.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

}  // namespace

bool keep_alive(Version version, const Fields& fields) {
  if (fields.has_token("Connection", "close")) return false;
  if (version.major == 1 && version.minor >= 1) return true;
  return fields.has_token("Connection", "keep-alive");
}

bool Request::keep_alive() const {
  return http::keep_alive(version, fields);
}

RequestError head_too_large(std::string_view received, const RequestLimits& limits) {
  const auto start = received.find_first_not_of("\r\n");  // empty lines before it are skipped
  if (start == std::string_view::npos) return {Status::BadRequest, "only empty lines"};
  const auto lf = received.find('\n', start);
  if (lf == std::string_view::npos || lf > limits.max_head_bytes)
    return {Status::UriTooLong, "the request line is too long"};
  return {Status::RequestHeaderFieldsTooLarge, "the request head is too large"};
}

tl::expected<Request, RequestError> parse_request(std::string_view head,
                                                  const RequestLimits& limits) {
  if (head.size() > limits.max_head_bytes)
    return error(Status::RequestHeaderFieldsTooLarge, "the request head is too large");
  auto lines = split_head(head);
  if (!lines) return error(Status::BadRequest, lines.error());
  if (lines->empty()) return error(Status::BadRequest, "an empty request");

  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
  const std::string_view line = lines->front();
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return error(Status::BadRequest, "a malformed request line");
  Request r;
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const auto version_text = line.substr(sp2 + 1);
  if (!is_token(r.method)) return error(Status::BadRequest, "a malformed method");
  auto version = parse_version(version_text);
  if (!version) return error(Status::BadRequest, "a malformed HTTP version");
  if (version->major != 1)
    return error(Status::VersionNotSupported,
                 fmt::format("HTTP/{}.{} is not supported", version->major, version->minor));
  r.version = *version;

  if (r.target.empty() || !valid_target(r.target))
    return error(Status::BadRequest, "a bad character in the request target");
  std::string_view rest = r.target;
  if (rest.front() != '/') {
    // absolute-form (RFC 9112 §3.2.2): the path after the authority.
    constexpr std::string_view kScheme = "http://";
    if (rest.size() < kScheme.size() || !iequals(rest.substr(0, kScheme.size()), kScheme))
      return error(Status::BadRequest, "a request target that is not a path or an http URL");
    rest.remove_prefix(kScheme.size());
    const auto slash = rest.find_first_of("/?");
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
  }
  rest = rest.substr(0, rest.find('#'));  // a fragment is never sent (RFC 9110 §4.2.5); dropped
  const auto question = rest.find('?');
  r.path = std::string(rest.substr(0, question));
  if (question != std::string_view::npos) r.query = std::string(rest.substr(question + 1));
  if (r.path.empty() || r.path.front() != '/') r.path.insert(r.path.begin(), '/');

  lines->erase(lines->begin());
  if (lines->size() > limits.max_fields)
    return error(Status::RequestHeaderFieldsTooLarge, "too many header fields");
  auto fields = parse_fields(*lines, limits.max_fields);
  if (!fields) return error(Status::BadRequest, fields.error());
  r.fields = std::move(*fields);

  const auto hosts = r.fields.count("Host");
  if (hosts > 1) return error(Status::BadRequest, "more than one Host header");
  if (hosts == 0 && r.version.minor >= 1) return error(Status::BadRequest, "no Host header");

  if (r.fields.count("Transfer-Encoding") > 0 && r.fields.count("Content-Length") == 0 &&
      r.fields.last_token("Transfer-Encoding") != "chunked")
    return error(Status::NotImplemented, "a transfer coding other than chunked");
  auto body = body_framing(r.fields, true);
  if (!body) return error(Status::BadRequest, body.error());
  r.body = *body;
  return r;
}

std::string serialize_request(std::string_view method, std::string_view target,
                              const Fields& fields) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", method, target);
  for (const auto& f : fields.all())
    out += fmt::format("{}: {}\r\n", f.name, f.value);
  out += "\r\n";
  return out;
}

}  // namespace tapir::apps::http
