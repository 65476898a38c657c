// apps/http/response.hpp: response heads written by the server and parsed by the client
// (RFC 9112 §4), their framing (RFC 9112 §6.3), the Date format (RFC 9110 §5.6.7).
#include <string>

#include <gtest/gtest.h>

#include "apps/http/response.hpp"

namespace tapir::apps::http {
namespace {

using Kind = BodyFraming::Kind;

TEST(HttpResponse, SerializedWithTheReasonPhrase) {
  ResponseHead head;
  head.status = 404;
  head.fields.add("Content-Length", "0");
  EXPECT_EQ(head.serialize(), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  head.reason = "Nope";
  EXPECT_EQ(head.serialize(), "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpResponse, ParsesWhatPythonHttpServerSends) {
  // python3 -m http.server's answer (BaseHTTPRequestHandler, HTTP/1.0).
  auto r = ResponseHead::parse(
      "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\n"
      "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-type: text/html\r\n"
      "Content-Length: 1234\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->version, (Version{1, 0}));
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->fields.get("content-type"), "text/html");
  EXPECT_EQ(*response_framing(*r, "GET"), (BodyFraming{Kind::Length, 1234}));
  EXPECT_EQ(r->status_text(), "200 OK");
}

TEST(HttpResponse, ReasonMayBeEmptyOrMissing) {
  auto a = ResponseHead::parse("HTTP/1.1 204 \r\n\r\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->reason, "");
  EXPECT_EQ(a->status_text(), "204 No Content");
  auto b = ResponseHead::parse("HTTP/1.1 500\r\n\r\n");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 500U);
  auto c = ResponseHead::parse("HTTP/1.1 299 Custom Thing\r\n\r\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status_text(), "299 Custom Thing");
}

TEST(HttpResponse, MalformedStatusLinesAreRefused) {
  EXPECT_FALSE(ResponseHead::parse("HTTP/1.1 20 OK\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse("HTTP/1.1 2000 OK\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse("HTTP/1.1 abc OK\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse("HTTP/1.1  200 OK\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse("ICY 200 OK\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse("HTTP/2.0 200 OK\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse("HTTP/1.1 099 Low\r\n\r\n"));
  EXPECT_FALSE(ResponseHead::parse(""));
  EXPECT_FALSE(ResponseHead::parse("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"));
}

TEST(HttpResponse, ClassesOfStatus) {
  ResponseHead h;
  h.status = 100;
  EXPECT_TRUE(h.informational());
  h.status = 301;
  EXPECT_TRUE(h.redirect());
  EXPECT_FALSE(h.success());
}

TEST(HttpResponseFraming, NoBodyForHeadAnd1xx204304) {
  auto head = *ResponseHead::parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
  EXPECT_EQ(*response_framing(head, "HEAD"), (BodyFraming{Kind::None, 0}));
  for (unsigned status : {100U, 101U, 204U, 304U}) {
    head.status = status;
    EXPECT_EQ(*response_framing(head, "GET"), (BodyFraming{Kind::None, 0})) << status;
  }
}

TEST(HttpResponseFraming, ChunkedLengthOrUntilClose) {
  EXPECT_EQ(
      *response_framing(
          *ResponseHead::parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET"),
      (BodyFraming{Kind::Chunked, 0}));
  EXPECT_EQ(*response_framing(*ResponseHead::parse("HTTP/1.1 200 OK\r\n\r\n"), "GET"),
            (BodyFraming{Kind::UntilClose, 0}));
  EXPECT_FALSE(response_framing(
      *ResponseHead::parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
      "GET"));
}

TEST(HttpDate, ImfFixdate) {
  // RFC 9110 §5.6.7's example.
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");  // a leap day
  EXPECT_EQ(http_date(1704067199), "Sun, 31 Dec 2023 23:59:59 GMT");
  EXPECT_EQ(http_date(4102444800), "Fri, 01 Jan 2100 00:00:00 GMT");
}

TEST(HttpErrorBody, NamesTheStatus) {
  const auto body = error_body(404);
  EXPECT_NE(body.find("<title>404 Not Found</title>"), std::string::npos);
  EXPECT_NE(body.find("<h1>404 Not Found</h1>"), std::string::npos);
  EXPECT_EQ(body.rfind("<!DOCTYPE html>", 0), 0U);
}

}  // namespace
}  // namespace tapir::apps::http
