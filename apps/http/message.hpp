// What HTTP/1.1 requests and responses share (RFC 9110, RFC 9112): status codes, the version,
// header fields, the end of a message head, and the framing of a body.
//
// Everything here is pure: text in, values out, no I/O. A message head is the start line and
// the header fields up to the empty line; find_head_end() finds that line in the bytes read so
// far, parse_fields() checks and splits the field lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace tapir::apps::http {

// The status codes tapir-httpd sends (RFC 9110 §15). A client sees any number in 100..999.
enum class Status : std::uint16_t {
  Ok = 200,
  MovedPermanently = 301,
  BadRequest = 400,
  Forbidden = 403,
  NotFound = 404,
  MethodNotAllowed = 405,
  PayloadTooLarge = 413,
  UriTooLong = 414,
  RequestHeaderFieldsTooLarge = 431,  // RFC 6585 §5
  InternalServerError = 500,
  NotImplemented = 501,
  VersionNotSupported = 505,
};

constexpr unsigned code(Status s) {
  return static_cast<unsigned>(s);
}
// The reason phrase RFC 9110 §15 gives the code ("Not Found"), or "Unknown" for a code it
// does not define.
std::string_view reason_phrase(unsigned status);

// HTTP-version (RFC 9112 §2.3): HTTP/1.0 or HTTP/1.1.
struct Version {
  unsigned major = 1;
  unsigned minor = 1;

  constexpr bool operator==(const Version&) const = default;
};

// The error of a parse that failed: one line saying why.
inline tl::unexpected<std::string> failure(std::string why) {
  return tl::unexpected<std::string>(std::move(why));
}

// Case-insensitive comparison of ASCII text (field names, tokens, schemes).
bool iequals(std::string_view a, std::string_view b);
// tchar (RFC 9110 §5.6.2): the characters of a token (method, field name).
bool is_tchar(char c);
bool is_token(std::string_view s);

struct Field {
  std::string name;   // as received
  std::string value;  // leading and trailing whitespace removed
};

// The header fields of one message, in order.
class Fields {
 public:
  void add(std::string name, std::string value) {
    fields_.push_back({std::move(name), std::move(value)});
  }
  // The value of the first field named `name` (case-insensitive).
  std::optional<std::string_view> get(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  // Whether the comma-separated lists of every `name` field hold `token` (case-insensitive),
  // as for Connection: close (RFC 9110 §7.6.1) or Transfer-Encoding: chunked.
  bool has_token(std::string_view name, std::string_view token) const;
  // The last element of the combined lists of every `name` field, lower-cased; empty if none.
  std::string last_token(std::string_view name) const;

  const std::vector<Field>& all() const { return fields_; }
  std::size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

// The bytes of the head (start line, fields and the empty line) at the start of `buffer`, or
// nullopt if the empty line is not there yet. Lines end in CRLF or, leniently (RFC 9112 §2.2),
// a bare LF. Empty lines before the start line (RFC 9112 §2.2) count as part of the head.
std::optional<std::size_t> find_head_end(std::string_view buffer);

// The lines of a head (without their CRLF or LF), the final empty line left out and the empty
// lines before the start line skipped. An error if a line holds a bare CR.
tl::expected<std::vector<std::string_view>, std::string> split_head(std::string_view head);

// Parses the field lines (RFC 9112 §5): `name: value`, name a token with no whitespace before
// the colon, the value without control characters (HTAB allowed), obs-fold refused. The error
// says what is wrong with which line. At most max_fields fields.
tl::expected<Fields, std::string> parse_fields(const std::vector<std::string_view>& lines,
                                               std::size_t max_fields);

// A Content-Length value (RFC 9110 §8.6): digits only; a list of identical values is accepted
// as RFC 9110 allows. nullopt for anything else.
std::optional<std::uint64_t> parse_content_length(std::string_view value);

// How a message's body is delimited (RFC 9112 §6.3).
struct BodyFraming {
  enum class Kind : std::uint8_t {
    None,        // no body
    Length,      // exactly `length` bytes
    Chunked,     // the chunked transfer coding (chunked.hpp)
    UntilClose,  // everything until the connection closes (responses only)
  };
  Kind kind = Kind::None;
  std::uint64_t length = 0;

  constexpr bool operator==(const BodyFraming&) const = default;
};

// The framing the fields say, for a request (is_request: no body without Content-Length or
// Transfer-Encoding) or a response whose status and request method allow a body. Errors (RFC
// 9112 §6.3): both Transfer-Encoding and Content-Length, a bad Content-Length, or a
// Transfer-Encoding whose final coding is not chunked in a request. The error names the
// problem.
tl::expected<BodyFraming, std::string> body_framing(const Fields& fields, bool is_request);

}  // namespace tapir::apps::http
