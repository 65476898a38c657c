#include "apps/http/url.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/core.h>

#include "apps/http/message.hpp"

namespace tapir::apps::http {

tl::expected<Url, std::string> Url::parse(std::string_view text) {
  if (text.empty()) return failure("an empty URL");
  if (std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u >= 0x7f;
      }))
    return failure("a space or control character in the URL (percent-encode it)");
  std::string_view rest = text;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    const auto scheme = rest.substr(0, scheme_end);
    if (iequals(scheme, "https")) return failure("https is not supported (no TLS); use http://");
    if (!iequals(scheme, "http"))
      return failure(fmt::format("the scheme \"{}\" is not supported; use http://", scheme));
    rest.remove_prefix(scheme_end + 3);
  }
  rest = rest.substr(0, rest.find('#'));
  const auto path_start = rest.find_first_of("/?");
  const auto authority = rest.substr(0, path_start);
  Url url;
  if (path_start != std::string_view::npos) {
    url.target = std::string(rest.substr(path_start));
    if (url.target.front() == '?') url.target.insert(url.target.begin(), '/');
  }
  if (authority.empty()) return failure("no host in the URL");
  if (authority.find('@') != std::string_view::npos)
    return failure("user information (user@) in the URL is not supported");
  if (authority.front() == '[') return failure("IPv6 addresses are not supported");

  auto host = authority;
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const auto port_text = authority.substr(colon + 1);
    unsigned long port = 0;
    const auto* end = port_text.data() + port_text.size();
    auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc{} || ptr != end || port < 1 || port > 65535)
      return failure(fmt::format("\"{}\": not a port in 1..65535", port_text));
    url.port = static_cast<std::uint16_t>(port);
  }
  auto address = Ipv4Address::parse(host);
  if (!address)
    return failure(fmt::format(
        "\"{}\": not an IPv4 address (tapir has no DNS resolver; use an address such as "
        "10.0.0.1)",
        host));
  url.host = *address;
  url.authority = url.port == 80 ? std::string(host) : fmt::format("{}:{}", host, url.port);
  return url;
}

}  // namespace tapir::apps::http
