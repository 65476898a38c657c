// An HTTP/1.1 response head (RFC 9112 §4): written by the server, parsed by the client.
//
//   ResponseHead head{.status = 200};
//   head.fields.add("Content-Length", "5");
//   std::string text = head.serialize();        // "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
//
//   auto parsed = ResponseHead::parse(bytes_up_to_the_empty_line);
//   auto framing = response_framing(*parsed, "GET");   // how the body is delimited
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "apps/http/message.hpp"

namespace tapir::apps::http {

struct ResponseHead {
  Version version;
  unsigned status = 200;
  std::string reason;  // empty: reason_phrase(status) when serialized
  Fields fields;

  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4), then the
  // fields. The error says what is wrong.
  static tl::expected<ResponseHead, std::string> parse(std::string_view head,
                                                       std::size_t max_fields = 100);
  // The status line, each field, and the empty line.
  std::string serialize() const;

  bool informational() const { return status >= 100 && status < 200; }
  bool success() const { return status >= 200 && status < 300; }
  bool redirect() const { return status >= 300 && status < 400; }
  // "404 Not Found", with the reason sent, or RFC 9110's if none was.
  std::string status_text() const;
};

// RFC 9112 §6.3: how the body of this response to a request of `method` is delimited. No body
// for HEAD, 1xx, 204 and 304; else chunked, Content-Length, or until the connection closes.
tl::expected<BodyFraming, std::string> response_framing(const ResponseHead& head,
                                                        std::string_view method);

// The IMF-fixdate of RFC 9110 §5.6.7 for seconds since 1970 (UTC):
// "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::int64_t unix_seconds);

// The small HTML page tapir-httpd sends with an error status:
// "<!DOCTYPE html>...<h1>404 Not Found</h1>...".
std::string error_body(unsigned status);

}  // namespace tapir::apps::http
