// apps/http/chunked.hpp: the chunked transfer coding (RFC 9112 §7.1), whole and byte by byte.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "apps/http/chunked.hpp"
#include "apps/http/message.hpp"

namespace tapir::apps::http {
namespace {

// RFC 9112 §7.1's shape, with an extension and a trailer.
constexpr std::string_view kWiki =
    "4\r\nWiki\r\n6;name=value\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
constexpr std::string_view kWikiBody = "Wikipedia in \r\n\r\nchunks.";

// Feeds `in` in pieces of `piece` bytes.
tl::expected<std::string, std::string> decode_in_pieces(std::string_view in, std::size_t piece,
                                                        std::size_t* left = nullptr) {
  ChunkedDecoder decoder;
  std::string body;
  std::string pending;
  std::size_t fed = 0;
  while (!decoder.done()) {
    if (pending.empty()) {
      if (fed == in.size()) return failure("incomplete");
      pending = std::string(in.substr(fed, piece));
      fed += pending.size();
    }
    auto step = decoder.next(pending);
    if (!step) return failure(step.error());
    EXPECT_TRUE(step->consumed > 0 || decoder.done());
    if (!step->data.empty()) {
      EXPECT_EQ(step->data.data(), pending.data());  // a view into it
    }
    body.append(step->data);
    pending.erase(0, step->consumed);
  }
  if (left != nullptr) *left = pending.size() + (in.size() - fed);
  return body;
}

TEST(HttpChunked, DecodesAWholeBody) {
  auto out = decode_chunked(kWiki);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->body, kWikiBody);
  EXPECT_EQ(out->consumed, kWiki.size());
}

TEST(HttpChunked, DecodesByteByByteAndInEveryPieceSize) {
  for (std::size_t piece = 1; piece <= kWiki.size(); ++piece) {
    auto out = decode_in_pieces(kWiki, piece);
    ASSERT_TRUE(out) << "piece " << piece << ": " << out.error();
    EXPECT_EQ(*out, kWikiBody) << "piece " << piece;
  }
}

TEST(HttpChunked, StopsAtTheEndOfTheMessage) {
  // The next message's bytes are left alone (a pipelined request on the server).
  const std::string in = std::string(kWiki) + "GET / HTTP/1.1\r\n";
  auto out = decode_chunked(in);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->consumed, kWiki.size());
  std::size_t left = 0;
  ASSERT_TRUE(decode_in_pieces(in, 7, &left));
  EXPECT_EQ(left, 16U);
}

TEST(HttpChunked, BareLineFeedsAndUpperCaseHex) {
  auto out = decode_chunked("A\nabcdefghij\n0\n\n");
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->body, "abcdefghij");
  auto big = decode_chunked("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->body.size(), 26U);
}

TEST(HttpChunked, EmptyBody) {
  auto out = decode_chunked("0\r\n\r\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->body, "");
  EXPECT_EQ(out->consumed, 5U);
}

TEST(HttpChunked, WhitespaceBeforeAnExtension) {
  auto out = decode_chunked("3 ;x=y\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->body, "abc");
}

TEST(HttpChunked, MalformedBodiesAreRefused) {
  EXPECT_FALSE(decode_chunked("x\r\nabc\r\n0\r\n\r\n"));   // not hex
  EXPECT_FALSE(decode_chunked("\r\nabc\r\n0\r\n\r\n"));    // no size
  EXPECT_FALSE(decode_chunked("3x\r\nabc\r\n0\r\n\r\n"));  // junk after the size
  EXPECT_FALSE(decode_chunked("-3\r\nabc\r\n0\r\n\r\n"));  // a sign
  EXPECT_FALSE(decode_chunked("3\r\nabcd\r\n0\r\n\r\n"));  // data longer than its size
  EXPECT_FALSE(decode_chunked("5\r\nab\r\n0\r\n\r\n"));    // shorter: the framing is eaten as data
  EXPECT_FALSE(decode_chunked("3\r\nabc\r\n0\r\n"));       // no end of the trailer
  EXPECT_FALSE(decode_chunked("3\r\nabc"));                // cut short
  EXPECT_FALSE(decode_chunked("10000000000000000\r\n"));   // 2^64: overflows
}

TEST(HttpChunked, DataIsTakenByItsSizeWhateverItHolds) {
  auto out = decode_chunked("5\r\na\r\n0\r\r\n0\r\n\r\n");
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->body, "a\r\n0\r");
}

TEST(HttpChunked, LongLinesAndTrailersAreBounded) {
  ChunkedDecoder::Limits limits;
  limits.max_line = 16;
  limits.max_trailer_bytes = 32;
  {
    ChunkedDecoder d(limits);
    EXPECT_FALSE(d.next("1;" + std::string(20, 'x') + "\r\n"));
    EXPECT_FALSE(d.next("0\r\n"));  // failed for good
  }
  {
    ChunkedDecoder d(limits);
    std::string in = "0\r\n";
    for (int i = 0; i < 5; ++i)
      in += "X-Trailer: 1234\r\n";
    in += "\r\n";
    bool failed = false;
    std::string_view rest = in;
    while (!rest.empty() && !d.done()) {
      auto step = d.next(rest);
      if (!step) {
        failed = true;
        break;
      }
      rest.remove_prefix(step->consumed);
    }
    EXPECT_TRUE(failed);
  }
}

TEST(HttpChunked, CountsBodyBytes) {
  ChunkedDecoder d;
  std::string_view in = kWiki;
  while (!in.empty() && !d.done()) {
    auto step = d.next(in);
    ASSERT_TRUE(step);
    in.remove_prefix(step->consumed);
  }
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.body_bytes(), kWikiBody.size());
}

}  // namespace
}  // namespace tapir::apps::http
