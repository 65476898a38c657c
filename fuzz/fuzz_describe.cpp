// The describer over arbitrary frames: the first input byte picks the link type (0 Ethernet,
// otherwise raw IP), the rest is the frame. It must never read past the frame (ASan), never
// loop (the tunnel depth is bounded), and always produce some text.
#include "fuzz/fuzz_check.hpp"
#include "stack/wire/describe.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const LinkType link = data[0] == 0 ? LinkType::Ethernet : LinkType::Raw;
  const Bytes frame = as_bytes(data + 1, size - 1);
  DescribeBuffer line;
  describe(line, frame, link);
  FUZZ_CHECK(line.size() > 0);
  DescribeBuffer verbose;
  describe_verbose(verbose, frame, link);
  // Every layer line ends in a newline; an empty raw frame may print nothing.
  FUZZ_CHECK(verbose.size() == 0 || verbose.data()[verbose.size() - 1] == '\n');
  return 0;
}
