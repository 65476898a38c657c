// The URLs tapir-get takes: http://HOST[:PORT][/PATH][?QUERY] (RFC 3986, RFC 9110 §4.2.1).
//
// tapir has no DNS resolver, so HOST must be an IPv4 address literal (10.0.0.1); a name is
// refused with an error that says so. The scheme may be left out ("10.0.0.1/x" means
// http://10.0.0.1/x, as curl takes it). Not supported, each with its own error: https (no
// TLS), IPv6 literals, user information (user@). A fragment (#...) is dropped: it is never
// sent (RFC 9110 §4.2.5).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "stack/base/ipv4_address.hpp"

namespace tapir::apps::http {

struct Url {
  Ipv4Address host;
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, as sent in the request line
  std::string authority;     // the Host field: "10.0.0.1", or "10.0.0.1:8080" for another port

  // The error is one line naming the problem, e.g.
  //   "example.com": not an IPv4 address (tapir has no DNS resolver; use an address such as
  //   10.0.0.1)
  static tl::expected<Url, std::string> parse(std::string_view text);
};

}  // namespace tapir::apps::http
