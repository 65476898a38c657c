// Round trip: any datagram the UDP codec accepts re-emits (payload in place, header emitted) and
// re-parses, checksum verified, to an equal repr. The addresses of the pseudo-header are fixed.
// The header is byte-identical but for the checksum, which the target does not verify; when the
// input's checksum verifies, the whole datagram is byte-identical.
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/udp.hpp"

using namespace tapir;
using namespace tapir::wire;

namespace {
constexpr Ipv4Address kSrc(10, 77, 1, 2);  // as in the "hello" seed, so its checksum verifies
constexpr Ipv4Address kDst(10, 77, 2, 2);
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const UdpView view(as_bytes(data, size));
  auto repr = UdpRepr::parse(view, kSrc, kDst, ChecksumPolicy::none());
  if (!repr) return 0;
  FUZZ_CHECK(repr->buffer_len() == view.len() && view.len() <= size);
  FUZZ_CHECK(view.payload().size() == repr->payload_len);

  std::vector<std::byte> out(repr->buffer_len(), std::byte{0xa5});
  store_bytes(out, UdpView::header_len, view.payload());
  repr->emit(UdpViewMut(out), kSrc, kDst, ChecksumPolicy::all());
  FUZZ_CHECK(std::memcmp(out.data(), data, 6) == 0);
  FUZZ_CHECK(UdpView(out).checksum() != 0);  // RFC 768: a computed zero is sent as all ones
  if (view.checksum() != 0 && view.verify_checksum(kSrc, kDst)) {
    FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
  }
  auto again = UdpRepr::parse(UdpView(out), kSrc, kDst, ChecksumPolicy::all());
  FUZZ_CHECK(again && *again == *repr);

  // Without a checksum: zero on the wire, and accepted as "none sent".
  repr->emit(UdpViewMut(out), kSrc, kDst, ChecksumPolicy::none());
  FUZZ_CHECK(UdpView(out).checksum() == 0);
  again = UdpRepr::parse(UdpView(out), kSrc, kDst, ChecksumPolicy::all());
  FUZZ_CHECK(again && *again == *repr);
  return 0;
}
