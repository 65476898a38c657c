#include "drivers/pcap/pcap_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <iterator>

namespace tapir::drivers {

Result<std::vector<std::byte>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(std::error_code(errno ? errno : ENOENT, std::generic_category()));
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return tl::unexpected(std::error_code(EIO, std::generic_category()));
  std::vector<std::byte> out(raw.size());
  std::transform(raw.begin(), raw.end(), out.begin(),
                 [](char c) { return std::byte(static_cast<unsigned char>(c)); });
  return out;
}

Result<PcapFileWriter> PcapFileWriter::create(const std::string& path, wire::LinkType link_type,
                                              std::uint32_t snaplen) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return tl::unexpected(std::error_code(errno, std::generic_category()));
  wire::PcapFileHeader header;
  header.link_type = link_type;
  header.snaplen = snaplen;
  std::array<std::byte, wire::PcapFileHeader::buffer_len()> bytes{};
  header.emit(bytes);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  return PcapFileWriter(f, header);
}

void PcapFileWriter::write(Bytes frame, std::chrono::microseconds when) {
  const auto incl = std::min<std::size_t>(frame.size(), header_.snaplen);
  const auto us = when.count();
  wire::PcapRecordHeader record{
      static_cast<std::uint32_t>(us / 1'000'000), static_cast<std::uint32_t>(us % 1'000'000),
      static_cast<std::uint32_t>(incl), static_cast<std::uint32_t>(frame.size())};
  std::array<std::byte, wire::PcapRecordHeader::buffer_len()> bytes{};
  record.emit(bytes, header_);
  std::fwrite(bytes.data(), 1, bytes.size(), file_.get());
  std::fwrite(frame.data(), 1, incl, file_.get());
}

void PcapFileWriter::flush() {
  std::fflush(file_.get());
}

}  // namespace tapir::drivers
