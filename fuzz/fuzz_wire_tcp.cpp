// Round trip: any segment the TCP codec accepts re-emits and re-parses to an equal repr, with
// the payload unchanged. Emit goes through Linux's option layout (or the packed fallback when
// that does not fit), so the header bytes may differ from the input's; the repr may not.
#include <algorithm>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/tcp.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Ipv4Address src(10, 0, 0, 1);
  const Ipv4Address dst(10, 0, 0, 2);
  const TcpView view(as_bytes(data, size));
  auto repr = TcpRepr::parse(view, src, dst, ChecksumPolicy::none());
  if (!repr) return 0;

  const std::size_t header_len = repr->header_len();
  FUZZ_CHECK(header_len >= TcpView::min_header_len && header_len <= TcpView::max_header_len);
  FUZZ_CHECK(header_len % 4 == 0);
  FUZZ_CHECK(repr->buffer_len() == header_len + view.payload().size());

  std::vector<std::byte> out(repr->buffer_len(), std::byte{0xa5});
  std::copy(view.payload().begin(), view.payload().end(),
            out.begin() + static_cast<std::ptrdiff_t>(header_len));
  repr->emit(TcpViewMut(out), src, dst, ChecksumPolicy::all());

  // The emitted checksum verifies, and re-parsing with verification gives the same repr.
  const TcpView again_view(out);
  FUZZ_CHECK(again_view.verify_checksum(src, dst));
  auto again = TcpRepr::parse(again_view, src, dst, ChecksumPolicy::all());
  FUZZ_CHECK(again && *again == *repr);
  FUZZ_CHECK(std::equal(again_view.payload().begin(), again_view.payload().end(),
                        view.payload().begin(), view.payload().end()));
  FUZZ_CHECK(again_view.reserved() == 0);

  // A second emit of what was re-parsed is byte-identical: the layout is canonical.
  std::vector<std::byte> out2(again->buffer_len(), std::byte{0x5a});
  std::copy(again_view.payload().begin(), again_view.payload().end(),
            out2.begin() + static_cast<std::ptrdiff_t>(header_len));
  again->emit(TcpViewMut(out2), src, dst, ChecksumPolicy::all());
  FUZZ_CHECK(out2 == out);
  return 0;
}
