// Round trip: any message the ICMPv4 codec accepts re-emits to a message of the same length that
// re-parses, checksum verified, to an equal repr, and re-emits from that to the same bytes. Echo
// and other types are byte-identical but for the checksum (not verified here); an error keeps
// its quoted payload verbatim (its rest-of-header and its quoted header's checksum and reserved
// flag are not kept).
#include <cstring>
#include <variant>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/icmpv4.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Icmpv4View view(as_bytes(data, size));
  auto repr = Icmpv4Repr::parse(view, ChecksumPolicy::none());
  if (!repr) return 0;
  FUZZ_CHECK(repr->buffer_len() == size);

  std::vector<std::byte> out(repr->buffer_len(), std::byte{0xa5});
  repr->emit(Icmpv4ViewMut(out), ChecksumPolicy::all());
  FUZZ_CHECK(Icmpv4View(out).verify_checksum());
  FUZZ_CHECK(std::memcmp(out.data(), data, 2) == 0);  // type and code
  const bool is_error = std::holds_alternative<Icmpv4Repr::DstUnreachable>(repr->message) ||
                        std::holds_alternative<Icmpv4Repr::TimeExceeded>(repr->message);
  if (!is_error) {
    FUZZ_CHECK(std::memcmp(out.data() + 4, data + 4, size - 4) == 0);
    // RFC 1624 §3: ones' complement has two zeros, so a checksum field of 0xFFFF can verify
    // where the computed value is 0x0000; only the computed form is expected back.
    if (view.verify_checksum() && view.checksum() != 0xffff) {
      FUZZ_CHECK(std::memcmp(out.data(), data, size) == 0);
    }
  } else {
    const auto header_len = Ipv4View(view.payload()).header_len();
    const std::size_t data_off = Icmpv4View::header_len + header_len;
    FUZZ_CHECK(std::memcmp(out.data() + data_off, data + data_off, size - data_off) == 0);
  }

  auto again = Icmpv4Repr::parse(Icmpv4View(out), ChecksumPolicy::all());
  FUZZ_CHECK(again && *again == *repr);
  std::vector<std::byte> twice(again->buffer_len(), std::byte{0x5a});
  again->emit(Icmpv4ViewMut(twice), ChecksumPolicy::all());
  FUZZ_CHECK(twice == out);
  return 0;
}
