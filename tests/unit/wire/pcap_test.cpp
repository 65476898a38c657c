// pcap file format (draft-ietf-opsawg-pcap): file header in both byte orders and at both
// resolutions, record headers, the in-memory reader, and every rejection path.
#include "stack/wire/pcap.hpp"

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::from_hex;
using test::poisoned;
using test::to_hex;

// A whole file written by tcpdump on Linux (x86, so little-endian, microseconds): the kernel's
// ARP request and the reply, 42 bytes each.
const auto kTcpdumpFile = from_hex(
    "d4c3b2a1 0200 0400 00000000 00000000 00000400 01000000"
    "d798036b 72920000 2a000000 2a000000"
    "ffffffffffff02a7c850300d0806000108000604000102a7c850300d0a0000010000000000000a000002"
    "d798036b 86920000 2a000000 2a000000"
    "02a7c850300d8e589cfb609f080600010800060400028e589cfb609f0a00000202a7c850300d0a000001");

// The same file header in the four magic/byte-order combinations.
const auto kLittleMicros = from_hex("d4c3b2a1 0200 0400 00000000 00000000 00000400 01000000");
const auto kBigMicros = from_hex("a1b2c3d4 0002 0004 00000000 00000000 00040000 00000001");
const auto kLittleNanos = from_hex("4d3cb2a1 0200 0400 00000000 00000000 00000400 01000000");
const auto kBigNanos = from_hex("a1b23c4d 0002 0004 00000000 00000000 00040000 00000001");

PcapFileHeader header_of(std::endian order, bool nanosecond) {
  PcapFileHeader h;
  h.byte_order = order;
  h.nanosecond = nanosecond;
  return h;
}

const PcapFileHeader kLe = header_of(std::endian::little, false);
const PcapFileHeader kBe = header_of(std::endian::big, false);
const PcapFileHeader kLeNs = header_of(std::endian::little, true);

std::vector<std::byte> record_le(std::uint32_t ts_frac, std::uint32_t incl_len) {
  std::vector<std::byte> out(PcapRecordHeader::buffer_len());
  PcapRecordHeader{1, ts_frac, incl_len, incl_len}.emit(out, kLe);
  return out;
}

TEST(Pcap, DecodesCapturedTcpdumpFile) {
  auto reader = PcapReader::open(kTcpdumpFile);
  ASSERT_TRUE(reader);
  const auto& h = reader->file_header();
  EXPECT_EQ(h.byte_order, std::endian::little);
  EXPECT_FALSE(h.nanosecond);
  EXPECT_EQ(h.version_major, 2);
  EXPECT_EQ(h.version_minor, 4);
  EXPECT_EQ(h.thiszone, 0);
  EXPECT_EQ(h.sigfigs, 0U);
  EXPECT_EQ(h.snaplen, 262144U);
  EXPECT_EQ(h.link_type, LinkType::Ethernet);

  auto first = reader->next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->header, (PcapRecordHeader{0x6b0398d7, 37490, 42, 42}));
  EXPECT_EQ(to_hex((*first)->data), to_hex(Bytes(kTcpdumpFile).subspan(40, 42)));
  EXPECT_EQ(reader->offset(), 24U + 16U + 42U);
  auto second = reader->next();
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->header, (PcapRecordHeader{0x6b0398d7, 37510, 42, 42}));
  EXPECT_EQ((*second)->data.data(), kTcpdumpFile.data() + 98);
  auto end = reader->next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST(Pcap, ReadsTheRepositoryCaptures) {
  const auto capture = test::load_capture("arp.pcap");
  EXPECT_EQ(capture.link_type, LinkType::Ethernet);
  ASSERT_FALSE(capture.frames.empty());
  for (const auto& f : capture.frames) {
    EXPECT_EQ(f.header.incl_len, f.bytes.size());
  }
}

TEST(Pcap, ParsesBothByteOrders) {
  auto le = PcapFileHeader::parse(kLittleMicros);
  ASSERT_TRUE(le);
  EXPECT_EQ(*le, kLe);
  auto be = PcapFileHeader::parse(kBigMicros);
  ASSERT_TRUE(be);
  EXPECT_EQ(*be, kBe);
  EXPECT_EQ(be->snaplen, 262144U);
  EXPECT_EQ(be->link_type, LinkType::Ethernet);
}

TEST(Pcap, ParsesNanosecondMagicInBothByteOrders) {
  auto le = PcapFileHeader::parse(kLittleNanos);
  ASSERT_TRUE(le);
  EXPECT_EQ(*le, kLeNs);
  auto be = PcapFileHeader::parse(kBigNanos);
  ASSERT_TRUE(be);
  EXPECT_EQ(*be, header_of(std::endian::big, true));
}

TEST(Pcap, ParsesEveryFileHeaderField) {
  const auto bytes = from_hex("a1b2c3d4 0002 0003 fffff1f0 00000007 0000ffff 00000065");
  auto h = PcapFileHeader::parse(bytes);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version_minor, 3);
  EXPECT_EQ(h->thiszone, -3600);
  EXPECT_EQ(h->sigfigs, 7U);
  EXPECT_EQ(h->snaplen, 65535U);
  EXPECT_EQ(h->link_type, LinkType::Raw);
  auto buf = poisoned(PcapFileHeader::buffer_len());
  h->emit(buf);
  EXPECT_EQ(buf, bytes);
}

TEST(Pcap, EmitsFileHeaderInEitherByteOrderAndResolution) {
  const std::pair<PcapFileHeader, const std::vector<std::byte>*> cases[] = {
      {kLe, &kLittleMicros},
      {kBe, &kBigMicros},
      {kLeNs, &kLittleNanos},
      {header_of(std::endian::big, true), &kBigNanos},
  };
  for (const auto& [header, expected] : cases) {
    auto buf = poisoned(PcapFileHeader::buffer_len());
    header.emit(buf);
    EXPECT_EQ(to_hex(buf), to_hex(*expected));
  }
}

TEST(Pcap, ParsesAndEmitsRecordHeaderInEitherByteOrder) {
  const PcapRecordHeader record{0x6b0398d7, 37490, 42, 60};
  const auto le = from_hex("d798036b 72920000 2a000000 3c000000");
  const auto be = from_hex("6b0398d7 00009272 0000002a 0000003c");
  auto parsed_le = PcapRecordHeader::parse(le, kLe);
  ASSERT_TRUE(parsed_le);
  EXPECT_EQ(*parsed_le, record);
  auto parsed_be = PcapRecordHeader::parse(be, kBe);
  ASSERT_TRUE(parsed_be);
  EXPECT_EQ(*parsed_be, record);

  auto buf = poisoned(PcapRecordHeader::buffer_len());
  record.emit(buf, kLe);
  EXPECT_EQ(buf, le);
  buf = poisoned(PcapRecordHeader::buffer_len());
  record.emit(buf, kBe);
  EXPECT_EQ(buf, be);
}

TEST(Pcap, RejectsTruncatedFileHeader) {
  for (std::size_t len = 0; len < PcapFileHeader::buffer_len(); ++len) {
    EXPECT_EQ(PcapFileHeader::parse(Bytes(kLittleMicros).first(len)).error(), Errc::truncated)
        << "len " << len;
    EXPECT_EQ(PcapReader::open(Bytes(kLittleMicros).first(len)).error(), Errc::truncated);
  }
}

TEST(Pcap, RejectsBadMagic) {
  // A pcapng section header block, and a byte-swapped half of the micro magic.
  const auto pcapng = from_hex("0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000");
  EXPECT_EQ(PcapFileHeader::parse(pcapng).error(), Errc::bad_magic);
  const auto swapped = from_hex("b2a1d4c3 0200 0400 00000000 00000000 00000400 01000000");
  EXPECT_EQ(PcapFileHeader::parse(swapped).error(), Errc::bad_magic);
  EXPECT_EQ(PcapReader::open(pcapng).error(), Errc::bad_magic);
}

TEST(Pcap, RejectsBadVersion) {
  auto le = kLittleMicros;
  le[4] = std::byte{1};  // 1.4
  EXPECT_EQ(PcapFileHeader::parse(le).error(), Errc::bad_version);
  le[4] = std::byte{3};
  EXPECT_EQ(PcapFileHeader::parse(le).error(), Errc::bad_version);
  auto be = kBigMicros;
  be[4] = std::byte{2};  // 0x0202 read big-endian: 514
  EXPECT_EQ(PcapFileHeader::parse(be).error(), Errc::bad_version);
  EXPECT_EQ(PcapReader::open(be).error(), Errc::bad_version);
}

TEST(Pcap, RejectsTruncatedRecordHeader) {
  const auto record = record_le(0, 0);
  for (std::size_t len = 0; len < PcapRecordHeader::buffer_len(); ++len) {
    EXPECT_EQ(PcapRecordHeader::parse(Bytes(record).first(len), kLe).error(), Errc::truncated)
        << "len " << len;
  }
  EXPECT_TRUE(PcapRecordHeader::parse(record, kLe));
}

TEST(Pcap, RejectsRecordLongerThanTheMaximum) {
  EXPECT_TRUE(PcapRecordHeader::parse(record_le(0, PcapFileHeader::kMaxRecordLen), kLe));
  EXPECT_EQ(PcapRecordHeader::parse(record_le(0, PcapFileHeader::kMaxRecordLen + 1), kLe).error(),
            Errc::bad_length);
  EXPECT_EQ(PcapRecordHeader::parse(record_le(0, 0xffffffffU), kLe).error(), Errc::bad_length);
}

TEST(Pcap, RejectsFractionOfOneSecondOrMore) {
  EXPECT_TRUE(PcapRecordHeader::parse(record_le(999'999, 0), kLe));
  EXPECT_EQ(PcapRecordHeader::parse(record_le(1'000'000, 0), kLe).error(), Errc::bad_field);
  // At nanosecond resolution the bound is 10^9.
  EXPECT_TRUE(PcapRecordHeader::parse(record_le(1'000'000, 0), kLeNs));
  EXPECT_TRUE(PcapRecordHeader::parse(record_le(999'999'999, 0), kLeNs));
  EXPECT_EQ(PcapRecordHeader::parse(record_le(1'000'000'000, 0), kLeNs).error(), Errc::bad_field);
}

TEST(Pcap, ReaderReportsRecordCutShort) {
  // Record 1 is bytes 24..81; record 2's header is 82..97, its data 98..139.
  // The file ends inside the second record's data ...
  for (std::size_t len = 82 + 16; len < kTcpdumpFile.size(); ++len) {
    auto reader = PcapReader::open(Bytes(kTcpdumpFile).first(len));
    ASSERT_TRUE(reader);
    ASSERT_TRUE(reader->next());
    EXPECT_EQ(reader->next().error(), Errc::truncated) << "len " << len;
  }
  // ... or inside its header.
  for (std::size_t len = 83; len < 82 + 16; ++len) {
    auto reader = PcapReader::open(Bytes(kTcpdumpFile).first(len));
    ASSERT_TRUE(reader);
    ASSERT_TRUE(reader->next());
    EXPECT_EQ(reader->next().error(), Errc::truncated) << "len " << len;
  }
  // Exactly at a record boundary the file ends cleanly.
  auto reader = PcapReader::open(Bytes(kTcpdumpFile).first(82));
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->next());
  auto end = reader->next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST(Pcap, ReaderReportsBadRecordHeader) {
  auto file = kLittleMicros;
  const auto record = record_le(1'000'000, 0);
  file.insert(file.end(), record.begin(), record.end());
  auto reader = PcapReader::open(file);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->next().error(), Errc::bad_field);

  file = kLittleMicros;
  const auto huge = record_le(0, PcapFileHeader::kMaxRecordLen + 1);
  file.insert(file.end(), huge.begin(), huge.end());
  auto reader2 = PcapReader::open(file);
  ASSERT_TRUE(reader2);
  EXPECT_EQ(reader2->next().error(), Errc::bad_length);
}

}  // namespace
}  // namespace tapir::wire

namespace tapir::wire {
namespace {

// draft-ietf-opsawg-pcap §4: the link type is the lower 16 bits of its field; the upper bits
// carry the FCS length and are kept so the header re-emits unchanged.
TEST(Pcap, LinkTypeIsTheLowerSixteenBits) {
  PcapFileHeader h;
  h.link_type = LinkType::Ethernet;
  h.link_type_upper = 0x1234;
  auto buf = test::poisoned(PcapFileHeader::buffer_len());
  h.emit(buf);
  auto parsed = PcapFileHeader::parse(buf);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->link_type, LinkType::Ethernet);
  EXPECT_EQ(parsed->link_type_upper, 0x1234);
  EXPECT_EQ(*parsed, h);
}

}  // namespace
}  // namespace tapir::wire
