// The classic libpcap file format (draft-ietf-opsawg-pcap): a 24-byte file header, then records
// of a 16-byte header and the captured bytes. Read in either byte order, microsecond or
// nanosecond resolution; written in little-endian with microseconds, as tcpdump does on x86.
//
//  file header:  magic(4) version_major(2) version_minor(2) thiszone(4) sigfigs(4)
//                snaplen(4) linktype(4)
//  record:       ts_sec(4) ts_frac(4) incl_len(4) orig_len(4) data(incl_len)
//
// This is the sans-IO part: it reads from and writes to byte spans. drivers/pcap does the files.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>

#include "stack/wire/common.hpp"

namespace tapir::wire {

enum class LinkType : std::uint32_t {
  Ethernet = 1,  // LINKTYPE_ETHERNET
  Raw = 101,     // LINKTYPE_RAW: raw IPv4/IPv6, what tcpdump writes for a TUN device
  Ipv4 = 228,    // LINKTYPE_IPV4
};

struct PcapFileHeader {
  static constexpr std::size_t buffer_len() { return 24; }
  static constexpr std::uint32_t kMagicMicros = 0xa1b2c3d4;
  static constexpr std::uint32_t kMagicNanos = 0xa1b23c4d;
  // Wireshark's own bound on one record; larger incl_len values are corrupt files.
  static constexpr std::uint32_t kMaxRecordLen = 262144;

  std::endian byte_order = std::endian::little;
  bool nanosecond = false;
  std::uint16_t version_major = 2;
  std::uint16_t version_minor = 4;
  std::int32_t thiszone = 0;
  std::uint32_t sigfigs = 0;
  std::uint32_t snaplen = kMaxRecordLen;
  LinkType link_type = LinkType::Ethernet;
  // The upper 16 bits of the link-type field (draft-ietf-opsawg-pcap §4: FCS length and flags),
  // kept so a file header re-emits unchanged; the link type itself is the lower 16 bits.
  std::uint16_t link_type_upper = 0;

  // Errc::truncated, Errc::bad_magic, Errc::bad_version (major != 2).
  static Result<PcapFileHeader> parse(Bytes file);
  void emit(BytesMut out) const;

  bool operator==(const PcapFileHeader&) const = default;
};

struct PcapRecordHeader {
  static constexpr std::size_t buffer_len() { return 16; }

  std::uint32_t ts_sec = 0;
  std::uint32_t ts_frac = 0;  // microseconds or nanoseconds, as the file header says
  std::uint32_t incl_len = 0;
  std::uint32_t orig_len = 0;

  // Errc::truncated; Errc::bad_length if incl_len exceeds kMaxRecordLen; Errc::bad_field if
  // ts_frac is not below one second at the file's resolution.
  static Result<PcapRecordHeader> parse(Bytes record, const PcapFileHeader& file);
  void emit(BytesMut out, const PcapFileHeader& file) const;

  bool operator==(const PcapRecordHeader&) const = default;
};

struct PcapRecord {
  PcapRecordHeader header;
  Bytes data;  // incl_len bytes, inside the file buffer
};

// Iterates the records of a whole pcap file held in memory.
class PcapReader {
 public:
  static Result<PcapReader> open(Bytes file);

  const PcapFileHeader& file_header() const { return header_; }
  // The next record; nullopt at a clean end; Errc::truncated if the file ends inside a record.
  Result<std::optional<PcapRecord>> next();
  // Byte offset of the next record (for error messages).
  std::size_t offset() const { return offset_; }

 private:
  PcapReader(Bytes file, PcapFileHeader header)
      : file_(file), header_(header), offset_(PcapFileHeader::buffer_len()) {}
  Bytes file_;
  PcapFileHeader header_;
  std::size_t offset_;
};

}  // namespace tapir::wire
