// Round trip: any VLAN tag (the bytes after the TPID) the codec accepts re-emits byte-identically
// and re-parses to an equal repr. The same bytes behind an S-tag TPID also drive the tag-stack
// walker, whose result must agree with the codec and stay inside the frame.
#include <array>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/vlan.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const VlanView view(as_bytes(data, size));
  auto repr = VlanRepr::parse(view);
  if (repr) {
    std::vector<std::byte> out(VlanRepr::buffer_len(), std::byte{0xa5});
    repr->emit(VlanViewMut(out));
    FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
    auto again = VlanRepr::parse(VlanView(out));
    FUZZ_CHECK(again && *again == *repr);
  }

  // dst, src (zero), TPID 0x88a8, then the input.
  // (A fixed buffer: inputs beyond a jumbo frame add nothing, and g++ 12 at -O2 warns falsely
  // about a vector sized 14 + size.)
  static std::array<std::byte, 14 + 9216> frame_buf;
  if (size > frame_buf.size() - 14) return 0;
  frame_buf[12] = std::byte{0x88};
  frame_buf[13] = std::byte{0xa8};
  store_bytes(frame_buf, 14, as_bytes(data, size));
  const Bytes frame = Bytes(frame_buf).first(14 + size);
  auto tags = parse_vlan_tags(EthernetView(frame));
  if (!repr) {
    FUZZ_CHECK(!tags && tags.error() == repr.error());
    return 0;
  }
  if (!tags) return 0;
  FUZZ_CHECK(tags->service && *tags->service == *repr);
  FUZZ_CHECK(tags->payload_offset <= frame.size());
  FUZZ_CHECK(tags->ethertype != EtherType::Vlan && tags->ethertype != EtherType::QinQ);
  FUZZ_CHECK(tags->payload_offset == (tags->customer ? 22U : 18U));
  return 0;
}
