// Round trip: any datagram the IPv4 codec accepts re-emits and re-parses to an equal repr. The
// re-emitted header matches the input's but for what the codec does not keep (the checksum,
// which the target does not verify, and the reserved flag); with both as Linux sends them, the
// whole datagram is byte-identical. The quoted-header mode (ICMP errors) gets the same check.
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/ipv4.hpp"

using namespace tapir;
using namespace tapir::wire;

namespace {

// The header bytes compared with the checksum (bytes 10-11) and the reserved flag masked out.
bool same_header_but_unkept(Bytes a, Bytes b, std::size_t header_len) {
  for (std::size_t i = 0; i < header_len; ++i) {
    if (i == 10 || i == 11) continue;
    const unsigned mask = i == 6 ? 0x7fU : 0xffU;
    if ((std::to_integer<unsigned>(a[i]) & mask) != (std::to_integer<unsigned>(b[i]) & mask))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input = as_bytes(data, size);
  const Ipv4View view(input);

  // The header alone, as an ICMP error quotes it.
  if (auto quoted = Ipv4Repr::parse_quoted(view)) {
    FUZZ_CHECK(quoted->header_len() == view.header_len());
    FUZZ_CHECK(view.payload().size() <= quoted->payload_len);
    std::vector<std::byte> out(quoted->header_len(), std::byte{0xa5});
    quoted->emit(Ipv4ViewMut(out), ChecksumPolicy::all());
    FUZZ_CHECK(same_header_but_unkept(out, input, out.size()));
    auto again = Ipv4Repr::parse_quoted(Ipv4View(out));
    FUZZ_CHECK(again && *again == *quoted);
  }

  auto repr = Ipv4Repr::parse(view, ChecksumPolicy::none());
  if (!repr) return 0;
  FUZZ_CHECK(repr->buffer_len() == view.total_len() && view.total_len() <= size);
  FUZZ_CHECK(view.payload().size() == repr->payload_len);
  std::vector<std::byte> out(repr->buffer_len(), std::byte{0xa5});
  store_bytes(out, repr->header_len(), view.payload());
  repr->emit(Ipv4ViewMut(out), ChecksumPolicy::all());
  FUZZ_CHECK(same_header_but_unkept(out, input, repr->header_len()));
  // RFC 1624 §3: ones' complement has two zeros, so a checksum field of 0xFFFF can verify where
  // the computed value is 0x0000; only the computed form is expected back.
  if (view.verify_checksum() && view.checksum() != 0xffff && !view.reserved_flag()) {
    FUZZ_CHECK(std::memcmp(out.data(), data, out.size()) == 0);
  }
  auto again = Ipv4Repr::parse(Ipv4View(out), ChecksumPolicy::all());
  FUZZ_CHECK(again && *again == *repr);
  return 0;
}
