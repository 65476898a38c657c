// The chunked transfer coding (RFC 9112 §7.1), decoded incrementally: bytes go in as they
// arrive, body bytes come out as views into them, the framing is consumed.
//
//   ChunkedDecoder decoder;
//   while (!input.empty() && !decoder.done()) {
//     auto step = decoder.next(input);        // an error: the body is malformed
//     write(step->data);                      // body bytes (a view into input), maybe none
//     input.remove_prefix(step->consumed);
//   }
//
// After done(), what is left in the input belongs to the next message. Chunk extensions are
// ignored; trailer fields are read and dropped (RFC 9112 §7.1.2 allows that). A size line, a
// trailer line and the whole trailer section are bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace tapir::apps::http {

class ChunkedDecoder {
 public:
  struct Limits {
    std::size_t max_line = 4096;           // a chunk-size line with its extensions
    std::size_t max_trailer_bytes = 8192;  // every trailer line together
  };
  struct Step {
    std::size_t consumed = 0;  // bytes of the input used by this step
    std::string_view data;     // body bytes: the first data.size() of those, or empty
  };

  ChunkedDecoder() = default;
  explicit ChunkedDecoder(const Limits& limits) : limits_(limits) {}

  // One step over the start of `in`: either body bytes (data == in.substr(0, consumed)), or
  // framing consumed up to the next body bytes, the end, or the end of `in`. Never returns
  // consumed == 0 for a non-empty `in` unless done(). The error names what is malformed; after
  // one the decoder stays failed.
  tl::expected<Step, std::string> next(std::string_view in);

  // The last chunk and the trailer are in: the body is complete.
  bool done() const { return state_ == State::Done; }
  // Body bytes decoded so far.
  std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State : std::uint8_t { Size, Data, DataEnd, Trailer, Done, Failed };

  // Takes bytes of one line into line_ up to its LF; true when the line is complete.
  tl::expected<bool, std::string> take_line(std::string_view in, std::size_t& consumed,
                                            std::size_t max);
  tl::expected<void, std::string> on_size_line();

  Limits limits_;
  State state_ = State::Size;
  std::string line_;             // the line being read, without its LF
  std::uint64_t remaining_ = 0;  // of the current chunk's data
  std::uint64_t body_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
};

// Decodes a whole chunked body at the start of `in`; the body and how many bytes of `in` it
// took. An error if it is malformed or incomplete.
struct DecodedBody {
  std::string body;
  std::size_t consumed = 0;
};
tl::expected<DecodedBody, std::string> decode_chunked(std::string_view in);

}  // namespace tapir::apps::http
