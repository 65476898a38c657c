// Round trip: any ARP packet the codec accepts re-emits byte-identically (the repr determines all
// 28 bytes) and re-parses to an equal repr. Every view accessor is safe on any checked input.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/arp.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ArpView view(as_bytes(data, size));
  if (view.check()) {
    // The raw address spans and the padding lie inside the buffer for any hlen and plen.
    FUZZ_CHECK(view.packet_len() <= size);
    FUZZ_CHECK(view.target_protocol_bytes().data() + view.target_protocol_bytes().size() ==
               view.padding().data());
    FUZZ_CHECK(view.sender_hardware_bytes().size() == view.hardware_len());
    FUZZ_CHECK(view.padding().size() == size - view.packet_len());
  }
  auto repr = ArpRepr::parse(view);
  if (!repr) return 0;
  std::vector<std::byte> out(ArpRepr::buffer_len(), std::byte{0xa5});
  repr->emit(ArpViewMut(out));
  FUZZ_CHECK(size >= out.size() && std::memcmp(out.data(), data, out.size()) == 0);
  auto again = ArpRepr::parse(ArpView(out));
  FUZZ_CHECK(again && *again == *repr);
  return 0;
}
