// apps/http/request.hpp: request heads as tapir-httpd parses them (RFC 9112 §3), with the
// status each malformed one gets, and keep-alive (RFC 9112 §9.3).
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "apps/http/request.hpp"

namespace tapir::apps::http {
namespace {

Request parsed(std::string_view head) {
  auto r = parse_request(head);
  EXPECT_TRUE(r) << (r ? "" : r.error().why);
  return r ? *r : Request{};
}

Status refused(std::string_view head, const RequestLimits& limits = {}) {
  auto r = parse_request(head, limits);
  EXPECT_FALSE(r) << head;
  return r ? Status::Ok : r.error().status;
}

TEST(HttpRequest, SimpleGet) {
  auto r = parsed("GET /index.html HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: curl/7.88\r\n\r\n");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/index.html");
  EXPECT_EQ(r.path, "/index.html");
  EXPECT_EQ(r.query, "");
  EXPECT_EQ(r.version, (Version{1, 1}));
  EXPECT_EQ(r.fields.get("host"), "10.0.0.2");
  EXPECT_EQ(r.body, (BodyFraming{BodyFraming::Kind::None, 0}));
  EXPECT_TRUE(r.keep_alive());
}

TEST(HttpRequest, QueryAndFragmentAreSplitOff) {
  auto r = parsed("GET /a/b?x=1&y=%20#frag HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_EQ(r.query, "x=1&y=%20");
}

TEST(HttpRequest, AbsoluteFormGivesItsPath) {
  // RFC 9112 §3.2.2: a server MUST accept the absolute-form.
  EXPECT_EQ(parsed("GET http://10.0.0.2:8080/x/y?q HTTP/1.1\r\nHost: a\r\n\r\n").path, "/x/y");
  EXPECT_EQ(parsed("GET HTTP://10.0.0.2 HTTP/1.1\r\nHost: a\r\n\r\n").path, "/");
  EXPECT_EQ(parsed("GET http://10.0.0.2?q=1 HTTP/1.1\r\nHost: a\r\n\r\n").query, "q=1");
}

TEST(HttpRequest, Http10NeedsNoHost) {
  auto r = parsed("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.version, (Version{1, 0}));
  EXPECT_FALSE(r.keep_alive());
}

TEST(HttpRequest, LaterMinorVersionsAreTakenAs11) {
  EXPECT_EQ(parsed("GET / HTTP/1.2\r\nHost: a\r\n\r\n").version, (Version{1, 2}));
}

TEST(HttpRequest, OtherMethodsParse) {
  // The file server answers them with 405; the parser takes any token.
  EXPECT_EQ(parsed("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n").method, "DELETE");
  EXPECT_EQ(parsed("get /x HTTP/1.1\r\nHost: a\r\n\r\n").method, "get");  // case-sensitive
}

TEST(HttpRequest, BodyFramingOfRequests) {
  EXPECT_EQ(parsed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n").body,
            (BodyFraming{BodyFraming::Kind::Length, 12}));
  EXPECT_EQ(parsed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").body,
            (BodyFraming{BodyFraming::Kind::Chunked, 0}));
}

TEST(HttpRequest, MalformedRequestLinesAre400) {
  EXPECT_EQ(refused("GET /\r\n\r\n"), Status::BadRequest);                       // HTTP/0.9
  EXPECT_EQ(refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);  // two spaces
  EXPECT_EQ(refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / http/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused(" / HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("\r\n"), Status::BadRequest);
}

TEST(HttpRequest, OtherMajorVersionsAre505) {
  EXPECT_EQ(refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), Status::VersionNotSupported);
  EXPECT_EQ(refused("GET / HTTP/0.9\r\n\r\n"), Status::VersionNotSupported);
}

TEST(HttpRequest, BadTargetsAre400) {
  EXPECT_EQ(refused("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused(std::string_view("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 33)),
            Status::BadRequest);
  EXPECT_EQ(refused("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), Status::BadRequest);
}

TEST(HttpRequest, HostRules) {
  // RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, gets 400.
  EXPECT_EQ(refused("GET / HTTP/1.1\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), Status::BadRequest);
}

TEST(HttpRequest, BadFieldsAre400) {
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), Status::BadRequest);
}

TEST(HttpRequest, BadBodyFramingIs400Or501) {
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Status::BadRequest);
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"),
            Status::BadRequest);
  // RFC 9112 §6.1: a transfer coding the server does not understand: 501.
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Status::NotImplemented);
}

TEST(HttpRequest, HeadLargerThanTheLimitIs431) {
  RequestLimits limits;
  limits.max_head_bytes = 64;
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(40, 'x') + "\r\n\r\n";
  EXPECT_EQ(refused(head, limits), Status::RequestHeaderFieldsTooLarge);
  limits.max_head_bytes = head.size();
  EXPECT_TRUE(parse_request(head, limits));
}

TEST(HttpRequest, TooManyFieldsIs431) {
  RequestLimits limits;
  limits.max_fields = 3;
  EXPECT_TRUE(parse_request("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits));
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits),
            Status::RequestHeaderFieldsTooLarge);
}

TEST(HttpRequest, HeadTooLargeWhileReceiving) {
  // The buffer filled up without the end of the head: 414 while the request line is
  // incomplete, 431 once it is in.
  EXPECT_EQ(head_too_large("GET /" + std::string(9000, 'a')).status, Status::UriTooLong);
  EXPECT_EQ(head_too_large("\r\nGET /" + std::string(9000, 'a')).status, Status::UriTooLong);
  EXPECT_EQ(head_too_large("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a')).status,
            Status::RequestHeaderFieldsTooLarge);
  EXPECT_EQ(head_too_large(std::string(9000, '\n')).status, Status::BadRequest);
  // The whole of a long request line came at once: still 414.
  EXPECT_EQ(head_too_large("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n").status,
            Status::UriTooLong);
}

TEST(HttpKeepAlive, Http11PersistsUnlessClose) {
  EXPECT_TRUE(parsed("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive());
  EXPECT_FALSE(parsed("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive());
  EXPECT_FALSE(
      parsed("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n").keep_alive());
  EXPECT_TRUE(parsed("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n").keep_alive());
}

TEST(HttpKeepAlive, Http10ClosesUnlessKeepAlive) {
  EXPECT_FALSE(parsed("GET / HTTP/1.0\r\n\r\n").keep_alive());
  EXPECT_TRUE(parsed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
  EXPECT_FALSE(
      parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").keep_alive());
}

TEST(HttpRequest, SerializedForTheClient) {
  Fields f;
  f.add("Host", "10.0.0.1:8000");
  f.add("Connection", "close");
  EXPECT_EQ(serialize_request("GET", "/a?b", f),
            "GET /a?b HTTP/1.1\r\nHost: 10.0.0.1:8000\r\nConnection: close\r\n\r\n");
  // And what is written parses back.
  auto r = parsed(serialize_request("HEAD", "/x", f));
  EXPECT_EQ(r.method, "HEAD");
  EXPECT_FALSE(r.keep_alive());
}

}  // namespace
}  // namespace tapir::apps::http
