#include "apps/http/chunked.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "apps/http/message.hpp"

namespace tapir::apps::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

tl::expected<bool, std::string> ChunkedDecoder::take_line(std::string_view in,
                                                          std::size_t& consumed, std::size_t max) {
  const auto rest = in.substr(consumed);
  const auto lf = rest.find('\n');
  const auto part = rest.substr(0, lf);
  if (line_.size() + part.size() > max) return failure("a chunk line is too long");
  line_.append(part);
  if (lf == std::string_view::npos) {
    consumed = in.size();
    return false;
  }
  consumed += lf + 1;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.find('\r') != std::string::npos) return failure("a bare CR in a chunk line");
  return true;
}

tl::expected<void, std::string> ChunkedDecoder::on_size_line() {
  // chunk-size [ chunk-ext ]: hex digits, then optional whitespace and ";ext".
  std::uint64_t size = 0;
  std::size_t i = 0;
  for (; i < line_.size() && hex_value(line_[i]) >= 0; ++i) {
    if (size > (UINT64_MAX >> 4)) return failure("a chunk size too large");
    size = (size << 4) | static_cast<std::uint64_t>(hex_value(line_[i]));
  }
  if (i == 0) return failure(fmt::format("a bad chunk size line \"{}\"", line_.substr(0, 32)));
  auto rest = std::string_view(line_).substr(i);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
    rest.remove_prefix(1);
  if (!rest.empty() && rest.front() != ';')
    return failure(fmt::format("a bad chunk size line \"{}\"", line_.substr(0, 32)));
  remaining_ = size;
  state_ = size == 0 ? State::Trailer : State::Data;
  return {};
}

tl::expected<ChunkedDecoder::Step, std::string> ChunkedDecoder::next(std::string_view in) {
  auto fail = [this](std::string why) -> tl::expected<Step, std::string> {
    state_ = State::Failed;
    return tl::unexpected(std::move(why));
  };
  if (state_ == State::Failed) return failure("the chunked body was malformed");
  if (state_ == State::Data) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
    remaining_ -= n;
    body_bytes_ += n;
    if (remaining_ == 0) state_ = State::DataEnd;
    return Step{n, in.substr(0, n)};
  }
  std::size_t consumed = 0;
  while (consumed < in.size() && state_ != State::Data && state_ != State::Done) {
    // The line after a chunk's data must be empty: at most its CR before the LF.
    const std::size_t max = state_ == State::DataEnd ? 1 : limits_.max_line;
    const std::size_t before = consumed;
    auto complete = take_line(in, consumed, max);
    if (!complete) {
      if (state_ == State::DataEnd) return fail("chunk data is not followed by CRLF");
      return fail(complete.error());
    }
    if (state_ == State::Trailer) {
      trailer_bytes_ += consumed - before;
      if (trailer_bytes_ > limits_.max_trailer_bytes)
        return fail("the chunked trailer is too large");
    }
    if (!*complete) break;
    switch (state_) {
      case State::Size:
        if (auto ok = on_size_line(); !ok) return fail(ok.error());
        break;
      case State::DataEnd:
        // The CRLF after a chunk's data.
        if (!line_.empty()) return fail("chunk data is not followed by CRLF");
        state_ = State::Size;
        break;
      case State::Trailer:
        if (line_.empty()) state_ = State::Done;  // the empty line ends the message
        break;
      default:
        break;
    }
    line_.clear();
  }
  return Step{consumed, {}};
}

tl::expected<DecodedBody, std::string> decode_chunked(std::string_view in) {
  ChunkedDecoder decoder;
  DecodedBody out;
  while (!in.empty() && !decoder.done()) {
    auto step = decoder.next(in);
    if (!step) return tl::unexpected(step.error());
    out.body.append(step->data);
    out.consumed += step->consumed;
    in.remove_prefix(step->consumed);
  }
  if (!decoder.done()) return failure("the chunked body is incomplete");
  return out;
}

}  // namespace tapir::apps::http
