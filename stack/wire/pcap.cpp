#include "stack/wire/pcap.hpp"

namespace tapir::wire {
namespace {

std::uint32_t load32(Bytes b, std::size_t off, std::endian order) {
  const auto v = load_be32(b, off);
  if (order == std::endian::big) return v;
  return ((v & 0xffU) << 24) | ((v & 0xff00U) << 8) | ((v >> 8) & 0xff00U) | (v >> 24);
}

std::uint16_t load16(Bytes b, std::size_t off, std::endian order) {
  const auto v = load_be16(b, off);
  if (order == std::endian::big) return v;
  return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

void store32(BytesMut b, std::size_t off, std::uint32_t v, std::endian order) {
  if (order == std::endian::little) {
    v = ((v & 0xffU) << 24) | ((v & 0xff00U) << 8) | ((v >> 8) & 0xff00U) | (v >> 24);
  }
  store_be32(b, off, v);
}

void store16(BytesMut b, std::size_t off, std::uint16_t v, std::endian order) {
  if (order == std::endian::little) v = static_cast<std::uint16_t>((v >> 8) | (v << 8));
  store_be16(b, off, v);
}

}  // namespace

Result<PcapFileHeader> PcapFileHeader::parse(Bytes file) {
  if (file.size() < buffer_len()) return fail(Errc::truncated);
  PcapFileHeader h;
  const auto magic_be = load_be32(file, 0);
  const auto magic_le = load32(file, 0, std::endian::little);
  if (magic_be == kMagicMicros || magic_be == kMagicNanos) {
    h.byte_order = std::endian::big;
  } else if (magic_le == kMagicMicros || magic_le == kMagicNanos) {
    h.byte_order = std::endian::little;
  } else {
    return fail(Errc::bad_magic);
  }
  h.nanosecond = load32(file, 0, h.byte_order) == kMagicNanos;
  h.version_major = load16(file, 4, h.byte_order);
  h.version_minor = load16(file, 6, h.byte_order);
  if (h.version_major != 2) return fail(Errc::bad_version);
  h.thiszone = static_cast<std::int32_t>(load32(file, 8, h.byte_order));
  h.sigfigs = load32(file, 12, h.byte_order);
  h.snaplen = load32(file, 16, h.byte_order);
  const auto link = load32(file, 20, h.byte_order);
  h.link_type = static_cast<LinkType>(link & 0xffffU);
  h.link_type_upper = static_cast<std::uint16_t>(link >> 16);
  return h;
}

void PcapFileHeader::emit(BytesMut out) const {
  store32(out, 0, nanosecond ? kMagicNanos : kMagicMicros, byte_order);
  store16(out, 4, version_major, byte_order);
  store16(out, 6, version_minor, byte_order);
  store32(out, 8, static_cast<std::uint32_t>(thiszone), byte_order);
  store32(out, 12, sigfigs, byte_order);
  store32(out, 16, snaplen, byte_order);
  store32(
      out, 20,
      (std::uint32_t{link_type_upper} << 16) | (static_cast<std::uint32_t>(link_type) & 0xffffU),
      byte_order);
}

Result<PcapRecordHeader> PcapRecordHeader::parse(Bytes record, const PcapFileHeader& file) {
  if (record.size() < buffer_len()) return fail(Errc::truncated);
  PcapRecordHeader r;
  r.ts_sec = load32(record, 0, file.byte_order);
  r.ts_frac = load32(record, 4, file.byte_order);
  r.incl_len = load32(record, 8, file.byte_order);
  r.orig_len = load32(record, 12, file.byte_order);
  if (r.incl_len > PcapFileHeader::kMaxRecordLen) return fail(Errc::bad_length);
  if (r.ts_frac >= (file.nanosecond ? 1'000'000'000U : 1'000'000U)) return fail(Errc::bad_field);
  return r;
}

void PcapRecordHeader::emit(BytesMut out, const PcapFileHeader& file) const {
  store32(out, 0, ts_sec, file.byte_order);
  store32(out, 4, ts_frac, file.byte_order);
  store32(out, 8, incl_len, file.byte_order);
  store32(out, 12, orig_len, file.byte_order);
}

Result<PcapReader> PcapReader::open(Bytes file) {
  auto header = PcapFileHeader::parse(file);
  if (!header) return tl::unexpected(header.error());
  return PcapReader(file, *header);
}

Result<std::optional<PcapRecord>> PcapReader::next() {
  if (offset_ == file_.size()) return std::optional<PcapRecord>{};
  const Bytes rest = file_.subspan(offset_);
  auto header = PcapRecordHeader::parse(rest, header_);
  if (!header) return tl::unexpected(header.error());
  if (rest.size() - PcapRecordHeader::buffer_len() < header->incl_len) return fail(Errc::truncated);
  PcapRecord record{*header, rest.subspan(PcapRecordHeader::buffer_len(), header->incl_len)};
  offset_ += PcapRecordHeader::buffer_len() + header->incl_len;
  return std::optional<PcapRecord>{record};
}

}  // namespace tapir::wire
