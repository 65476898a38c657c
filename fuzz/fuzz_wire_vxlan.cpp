// Round trip: any VXLAN header the codec accepts re-emits and re-parses to an equal repr; the
// re-emitted header equals the input except where RFC 7348 §5 says reserved bits are ignored on
// receipt and written as zero.
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/vxlan.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const VxlanView view(as_bytes(data, size));
  auto repr = VxlanRepr::parse(view);
  if (!repr) return 0;
  std::vector<std::byte> out(VxlanRepr::buffer_len(), std::byte{0xa5});
  const VxlanViewMut out_view(out);
  repr->emit(out_view);
  FUZZ_CHECK(std::memcmp(out.data() + 4, data + 4, 3) == 0);  // the VNI
  FUZZ_CHECK(out_view.flags() == VxlanView::kFlagI);
  FUZZ_CHECK(out_view.reserved1() == 0 && out_view.reserved2() == 0);
  if (view.flags() == VxlanView::kFlagI && view.reserved1() == 0 && view.reserved2() == 0) {
    FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
  }
  auto again = VxlanRepr::parse(VxlanView(out));
  FUZZ_CHECK(again && *again == *repr);
  return 0;
}
