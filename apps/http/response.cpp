#include "apps/http/response.hpp"

#include <array>
#include <charconv>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace tapir::apps::http {

tl::expected<ResponseHead, std::string> ResponseHead::parse(std::string_view head,
                                                            std::size_t max_fields) {
  auto lines = split_head(head);
  if (!lines) return tl::unexpected(lines.error());
  if (lines->empty()) return failure("an empty response");
  const std::string_view line = lines->front();
  // "HTTP/1.1 200 OK": the version, a space, three digits, then a space and the reason (which
  // may be empty; a missing space after the code is accepted, as most clients do).
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || !digit(line[5]) || line[6] != '.' ||
      !digit(line[7]) || line[8] != ' ' || !digit(line[9]) || !digit(line[10]) ||
      !digit(line[11]) || (line.size() > 12 && line[12] != ' '))
    return failure(fmt::format("a malformed status line \"{}\"", line.substr(0, 64)));
  ResponseHead r;
  r.version = {static_cast<unsigned>(line[5] - '0'), static_cast<unsigned>(line[7] - '0')};
  if (r.version.major != 1)
    return failure(fmt::format("HTTP/{}.{} is not supported", r.version.major, r.version.minor));
  r.status =
      static_cast<unsigned>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
  if (r.status < 100) return failure(fmt::format("a bad status code {}", r.status));
  if (line.size() > 13) r.reason = std::string(line.substr(13));
  lines->erase(lines->begin());
  if (lines->size() > max_fields) return failure("too many header fields");
  auto fields = parse_fields(*lines, max_fields);
  if (!fields) return tl::unexpected(fields.error());
  r.fields = std::move(*fields);
  return r;
}

std::string ResponseHead::serialize() const {
  std::string out = fmt::format("HTTP/{}.{} {} {}\r\n", version.major, version.minor, status,
                                reason.empty() ? reason_phrase(status) : std::string_view(reason));
  for (const auto& f : fields.all())
    out += fmt::format("{}: {}\r\n", f.name, f.value);
  out += "\r\n";
  return out;
}

std::string ResponseHead::status_text() const {
  return fmt::format("{} {}", status,
                     reason.empty() ? reason_phrase(status) : std::string_view(reason));
}

tl::expected<BodyFraming, std::string> response_framing(const ResponseHead& head,
                                                        std::string_view method) {
  // RFC 9112 §6.3 item 1.
  if (method == "HEAD" || head.informational() || head.status == 204 || head.status == 304)
    return BodyFraming{BodyFraming::Kind::None, 0};
  return body_framing(head.fields, false);
}

std::string http_date(std::int64_t unix_seconds) {
  // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
  std::int64_t days = unix_seconds / 86400;
  std::int64_t secs = unix_seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  const auto weekday = static_cast<std::size_t>((days % 7 + 11) % 7);  // 1970-01-01: Thursday
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[weekday], day,
                     kMonths[static_cast<std::size_t>(month - 1)], year, secs / 3600,
                     secs / 60 % 60, secs % 60);
}

std::string error_body(unsigned status) {
  const auto text = fmt::format("{} {}", status, reason_phrase(status));
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><title>{0}</title></head>\n<body><h1>{0}</h1>"
      "<hr><p>tapir-httpd</p></body></html>\n",
      text);
}

}  // namespace tapir::apps::http
