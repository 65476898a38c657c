// apps/http/url.hpp: the URLs tapir-get takes, and the clear errors for those it cannot.
#include <string>

#include <gtest/gtest.h>

#include "apps/http/url.hpp"

namespace tapir::apps::http {
namespace {

std::string error_of(std::string_view text) {
  auto url = Url::parse(text);
  EXPECT_FALSE(url) << text;
  return url ? std::string() : url.error();
}

TEST(HttpUrl, AddressPortAndPath) {
  auto url = Url::parse("http://10.0.0.1:8000/files/a.bin?x=1");
  ASSERT_TRUE(url) << url.error();
  EXPECT_EQ(url->host, Ipv4Address(10, 0, 0, 1));
  EXPECT_EQ(url->port, 8000);
  EXPECT_EQ(url->target, "/files/a.bin?x=1");
  EXPECT_EQ(url->authority, "10.0.0.1:8000");
}

TEST(HttpUrl, Defaults) {
  auto url = Url::parse("http://10.0.0.1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->authority, "10.0.0.1");
  EXPECT_EQ(Url::parse("http://10.0.0.1:80/")->authority, "10.0.0.1");
  EXPECT_EQ(Url::parse("http://10.0.0.1?q")->target, "/?q");
  EXPECT_EQ(Url::parse("HTTP://10.0.0.1/A")->target, "/A");
}

TEST(HttpUrl, SchemeMayBeLeftOut) {
  auto url = Url::parse("10.0.0.1:8080/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/x");
}

TEST(HttpUrl, FragmentIsDropped) {
  EXPECT_EQ(Url::parse("http://10.0.0.1/a#top")->target, "/a");
  EXPECT_EQ(Url::parse("http://10.0.0.1#top")->target, "/");
}

TEST(HttpUrl, NamesAreRefusedForWantOfDns) {
  const auto e = error_of("http://example.com/");
  EXPECT_NE(e.find("\"example.com\": not an IPv4 address"), std::string::npos) << e;
  EXPECT_NE(e.find("no DNS"), std::string::npos) << e;
  EXPECT_NE(error_of("http://localhost:8000/").find("no DNS"), std::string::npos);
  EXPECT_NE(error_of("http://10.0.0/").find("no DNS"), std::string::npos);
  EXPECT_NE(error_of("http://10.0.0.256/").find("no DNS"), std::string::npos);
}

TEST(HttpUrl, UnsupportedFormsSayWhy) {
  EXPECT_EQ(error_of("https://10.0.0.1/"), "https is not supported (no TLS); use http://");
  EXPECT_EQ(error_of("ftp://10.0.0.1/"), "the scheme \"ftp\" is not supported; use http://");
  EXPECT_EQ(error_of("http://[::1]/"), "IPv6 addresses are not supported");
  EXPECT_EQ(error_of("http://user:pw@10.0.0.1/"),
            "user information (user@) in the URL is not supported");
  EXPECT_EQ(error_of(""), "an empty URL");
  EXPECT_EQ(error_of("http:///x"), "no host in the URL");
  EXPECT_EQ(error_of("http://10.0.0.1/a b"),
            "a space or control character in the URL (percent-encode it)");
}

TEST(HttpUrl, BadPorts) {
  EXPECT_EQ(error_of("http://10.0.0.1:0/"), "\"0\": not a port in 1..65535");
  EXPECT_EQ(error_of("http://10.0.0.1:65536/"), "\"65536\": not a port in 1..65535");
  EXPECT_EQ(error_of("http://10.0.0.1:/"), "\"\": not a port in 1..65535");
  EXPECT_EQ(error_of("http://10.0.0.1:8a/"), "\"8a\": not a port in 1..65535");
  EXPECT_EQ(Url::parse("http://10.0.0.1:65535/")->port, 65535);
}

}  // namespace
}  // namespace tapir::apps::http
