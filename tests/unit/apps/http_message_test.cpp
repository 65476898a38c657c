// apps/http/message.hpp: the end of a head, header fields, Content-Length and body framing
// (RFC 9110, RFC 9112).
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "apps/http/message.hpp"

namespace tapir::apps::http {
namespace {

using Kind = BodyFraming::Kind;

Fields fields_of(std::vector<std::string_view> lines) {
  auto f = parse_fields(lines, 100);
  EXPECT_TRUE(f) << f.error();
  return f ? *f : Fields{};
}

TEST(HttpHead, EndIsAfterTheEmptyLine) {
  const std::string_view head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(find_head_end(head), head.size());
  EXPECT_EQ(find_head_end(std::string(head) + "body"), head.size());
}

TEST(HttpHead, IncompleteHeadHasNoEnd) {
  EXPECT_EQ(find_head_end(""), std::nullopt);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\n"), std::nullopt);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n"), std::nullopt);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r"), std::nullopt);
  EXPECT_EQ(find_head_end("\r\n\r\n"), std::nullopt);  // empty lines only: no start line yet
}

TEST(HttpHead, BareLineFeedsEndLinesToo) {
  // RFC 9112 §2.2: a recipient MAY recognize a single LF as a line terminator.
  EXPECT_EQ(find_head_end("GET / HTTP/1.0\n\n"), 16U);
  EXPECT_EQ(find_head_end("GET / HTTP/1.0\nHost: a\r\n\n"), 25U);
}

TEST(HttpHead, EmptyLinesBeforeTheStartLineAreSkipped) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
  const std::string_view head = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(find_head_end(head), head.size());
  auto lines = split_head(head);
  ASSERT_TRUE(lines);
  ASSERT_EQ(lines->size(), 2U);
  EXPECT_EQ((*lines)[0], "GET / HTTP/1.1");
  EXPECT_EQ((*lines)[1], "Host: a");
}

TEST(HttpHead, BareCarriageReturnIsRefused) {
  EXPECT_FALSE(split_head("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"));
}

TEST(HttpFields, ParsedWithWhitespaceAroundTheValueRemoved) {
  auto f = fields_of({"Host:  example \t", "X-Empty:", "Accept:*/*"});
  ASSERT_EQ(f.size(), 3U);
  EXPECT_EQ(f.all()[0].name, "Host");
  EXPECT_EQ(f.all()[0].value, "example");
  EXPECT_EQ(f.all()[1].value, "");
  EXPECT_EQ(f.all()[2].value, "*/*");
}

TEST(HttpFields, NamesAreCaseInsensitive) {
  auto f = fields_of({"content-LENGTH: 5", "Connection: a", "connection: b"});
  EXPECT_EQ(f.get("Content-Length"), "5");
  EXPECT_EQ(f.count("CONNECTION"), 2U);
  EXPECT_EQ(f.get("Missing"), std::nullopt);
}

TEST(HttpFields, TokenListsAcrossFields) {
  auto f = fields_of({"Connection: Keep-Alive, Upgrade", "Connection: ,CLOSE ,"});
  EXPECT_TRUE(f.has_token("Connection", "close"));
  EXPECT_TRUE(f.has_token("connection", "keep-alive"));
  EXPECT_TRUE(f.has_token("Connection", "upgrade"));
  EXPECT_FALSE(f.has_token("Connection", "clos"));
  EXPECT_EQ(f.last_token("Connection"), "close");
  EXPECT_EQ(f.last_token("Transfer-Encoding"), "");
}

TEST(HttpFields, WhitespaceBeforeTheColonIsRefused) {
  // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon."
  EXPECT_FALSE(parse_fields({"Host : a"}, 100));
}

TEST(HttpFields, ObsoleteLineFoldingIsRefused) {
  // RFC 9112 §5.2.
  EXPECT_FALSE(parse_fields({"X-A: one", " two"}, 100));
  EXPECT_FALSE(parse_fields({"X-A: one", "\ttwo"}, 100));
}

TEST(HttpFields, BadNamesAndValuesAreRefused) {
  EXPECT_FALSE(parse_fields({"no colon"}, 100));
  EXPECT_FALSE(parse_fields({": empty name"}, 100));
  EXPECT_FALSE(parse_fields({"Bad(Name): x"}, 100));
  EXPECT_FALSE(parse_fields({std::string_view("X: a\0b", 6)}, 100));  // NUL
  EXPECT_FALSE(parse_fields({"X: a\x01"}, 100));
  EXPECT_FALSE(parse_fields({"X: a\x7f"}, 100));
  EXPECT_TRUE(parse_fields({"X: tab\there"}, 100));
  EXPECT_TRUE(parse_fields({"X: caf\xc3\xa9"}, 100));  // obs-text
}

TEST(HttpFields, AtMostMaxFields) {
  EXPECT_TRUE(parse_fields({"A: 1", "B: 2"}, 2));
  EXPECT_FALSE(parse_fields({"A: 1", "B: 2", "C: 3"}, 2));
}

TEST(HttpContentLength, DigitsOnly) {
  EXPECT_EQ(parse_content_length("0"), 0U);
  EXPECT_EQ(parse_content_length("12345"), 12345U);
  EXPECT_EQ(parse_content_length("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_content_length(""), std::nullopt);
  EXPECT_EQ(parse_content_length("-1"), std::nullopt);
  EXPECT_EQ(parse_content_length("+1"), std::nullopt);
  EXPECT_EQ(parse_content_length("1.0"), std::nullopt);
  EXPECT_EQ(parse_content_length("0x10"), std::nullopt);
  EXPECT_EQ(parse_content_length("18446744073709551616"), std::nullopt);  // overflow
}

TEST(HttpContentLength, IdenticalListIsOneValue) {
  // RFC 9110 §8.6: "Content-Length: 42, 42" may be taken as 42; differing values may not.
  EXPECT_EQ(parse_content_length("42, 42"), 42U);
  EXPECT_EQ(parse_content_length("42, 43"), std::nullopt);
}

TEST(HttpFraming, RequestWithoutLengthHasNoBody) {
  EXPECT_EQ(*body_framing(fields_of({"Host: a"}), true), (BodyFraming{Kind::None, 0}));
}

TEST(HttpFraming, ResponseWithoutLengthRunsUntilClose) {
  EXPECT_EQ(*body_framing(fields_of({"Server: x"}), false), (BodyFraming{Kind::UntilClose, 0}));
}

TEST(HttpFraming, ContentLengthFieldsMustAgree) {
  EXPECT_EQ(*body_framing(fields_of({"Content-Length: 7"}), true), (BodyFraming{Kind::Length, 7}));
  EXPECT_EQ(*body_framing(fields_of({"Content-Length: 7", "Content-Length: 7"}), false),
            (BodyFraming{Kind::Length, 7}));
  EXPECT_FALSE(body_framing(fields_of({"Content-Length: 7", "Content-Length: 8"}), false));
  EXPECT_FALSE(body_framing(fields_of({"Content-Length: x"}), true));
}

TEST(HttpFraming, ChunkedIsTheFinalCoding) {
  EXPECT_EQ(*body_framing(fields_of({"Transfer-Encoding: chunked"}), true),
            (BodyFraming{Kind::Chunked, 0}));
  EXPECT_EQ(*body_framing(fields_of({"Transfer-Encoding: gzip, Chunked"}), false),
            (BodyFraming{Kind::Chunked, 0}));
  // RFC 9112 §6.3 item 4: a response whose final coding is not chunked runs until close; a
  // request cannot be framed.
  EXPECT_EQ(*body_framing(fields_of({"Transfer-Encoding: chunked, gzip"}), false),
            (BodyFraming{Kind::UntilClose, 0}));
  EXPECT_FALSE(body_framing(fields_of({"Transfer-Encoding: gzip"}), true));
}

TEST(HttpFraming, TransferEncodingWithContentLengthIsRefused) {
  // RFC 9112 §6.3 item 3 (request smuggling).
  EXPECT_FALSE(body_framing(fields_of({"Transfer-Encoding: chunked", "Content-Length: 5"}), true));
  EXPECT_FALSE(body_framing(fields_of({"Content-Length: 5", "Transfer-Encoding: chunked"}), false));
}

TEST(HttpStatus, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(301), "Moved Permanently");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(405), "Method Not Allowed");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(HttpText, CaseInsensitiveEqualityAndTokens) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_FALSE(iequals("Content-Type", "content-typ"));
  EXPECT_TRUE(is_token("GET"));
  EXPECT_TRUE(is_token("X-Custom_1.2~"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a:b"));
}

}  // namespace
}  // namespace tapir::apps::http
