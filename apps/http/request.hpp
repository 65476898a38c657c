// An HTTP/1.1 request head (RFC 9112 §3): parsing it on the server, writing one on the client.
//
//   auto end = find_head_end(buffer);                  // message.hpp
//   if ((!end && buffer.size() >= limits.max_head_bytes) || *end > limits.max_head_bytes)
//     -> head_too_large(buffer)
//   auto request = parse_request(buffer.substr(0, *end), limits);
//   if (!request) -> answer request.error().status, then close the connection
//
// Errors carry the status to answer (400, 414, 431, 501, 505) and a few words for the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "apps/http/message.hpp"

namespace tapir::apps::http {

struct RequestLimits {
  // The whole head: request line, fields and the empty line (8 KiB, as nginx's default
  // large_client_header_buffers line size and Apache's LimitRequestLine are).
  std::size_t max_head_bytes = 8192;
  std::size_t max_fields = 100;  // Apache's LimitRequestFields
};

struct Request {
  std::string method;  // as sent: methods are case-sensitive (RFC 9110 §9.1)
  std::string target;  // the request-target as sent
  // The path of the target, still percent-encoded, always starting with '/': from origin-form
  // ("/a/b?q") or absolute-form ("http://host/a/b?q", RFC 9112 §3.2.2).
  std::string path;
  std::string query;  // after '?', without it; empty if none
  Version version;
  Fields fields;
  BodyFraming body;  // None, Length or Chunked

  // RFC 9112 §9.3: whether the connection persists after the response.
  bool keep_alive() const;
};

struct RequestError {
  Status status = Status::BadRequest;
  std::string why;  // for the log, e.g. "a bad header name \"Bad Name\""
};

// Parses a whole head (as find_head_end() delimits it). Checks, in order: the size limit (431),
// the request line (400; 505 for a major version other than 1), the target's characters and
// form (400), the fields (400; 431 past max_fields), Host (RFC 9112 §3.2: exactly one in
// HTTP/1.1, 400 otherwise), and the body's framing (400; 501 for a transfer coding other than
// chunked, RFC 9112 §6.1).
tl::expected<Request, RequestError> parse_request(std::string_view head,
                                                  const RequestLimits& limits = {});

// The answer to a head longer than max_head_bytes, from the bytes received (the head, or as
// much of it as came before the limit): 414 URI Too Long when the request line alone is over
// the limit (RFC 9112 §3), else 431 (RFC 6585 §5).
RequestError head_too_large(std::string_view received, const RequestLimits& limits = {});

// RFC 9112 §9.3: "close" in Connection ends the connection after this response; otherwise an
// HTTP/1.1 connection persists, an HTTP/1.0 one only with "keep-alive" in Connection.
bool keep_alive(Version version, const Fields& fields);

// "METHOD target HTTP/1.1\r\n", the fields, "\r\n".
std::string serialize_request(std::string_view method, std::string_view target,
                              const Fields& fields);

}  // namespace tapir::apps::http
