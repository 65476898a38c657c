// The pcap reader over arbitrary files: never reads past the buffer, always terminates, and
// every record it yields lies inside the file and re-emits to the same header bytes.
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/wire/pcap.hpp"

using namespace tapir;
using namespace tapir::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes file = as_bytes(data, size);
  auto reader = PcapReader::open(file);
  if (!reader) return 0;
  std::vector<std::byte> header(PcapFileHeader::buffer_len());
  reader->file_header().emit(header);
  FUZZ_CHECK(PcapFileHeader::parse(header) == reader->file_header());
  for (std::size_t n = 0; n <= size; ++n) {  // each record consumes >= 16 bytes: bounded
    const std::size_t at = reader->offset();
    auto record = reader->next();
    if (!record || !*record) return 0;
    const auto& r = **record;
    FUZZ_CHECK(r.data.data() >= file.data() && r.data.data() + r.data.size() <= file.data() + size);
    std::vector<std::byte> rh(PcapRecordHeader::buffer_len());
    r.header.emit(rh, reader->file_header());
    FUZZ_CHECK(std::equal(rh.begin(), rh.end(), file.begin() + static_cast<std::ptrdiff_t>(at)));
    FUZZ_CHECK(reader->offset() > at);
  }
  FUZZ_CHECK(false);  // unreachable: the loop above must end within size records
  return 0;
}
