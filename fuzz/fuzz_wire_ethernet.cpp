// Round trip: any frame the Ethernet codec accepts re-emits and re-parses to an equal repr, and
// the re-emitted header is byte-identical to the input's.
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/ethernet.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const EthernetView view(as_bytes(data, size));
  auto repr = EthernetRepr::parse(view);
  if (!repr) return 0;
  std::vector<std::byte> out(EthernetRepr::buffer_len(), std::byte{0xa5});
  repr->emit(EthernetViewMut(out));
  FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
  auto again = EthernetRepr::parse(EthernetView(out));
  FUZZ_CHECK(again && *again == *repr);
  return 0;
}
