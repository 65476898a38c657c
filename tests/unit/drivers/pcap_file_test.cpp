// drivers/pcap: a capture written by PcapFileWriter reads back frame for frame.
#include "drivers/pcap/pcap_file.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::drivers {
namespace {

TEST(PcapFileWriter, WritesWhatTheReaderReadsBack) {
  const auto capture = test::load_capture("ping.pcap");
  ASSERT_FALSE(capture.frames.empty());
  const auto path =
      (std::filesystem::temp_directory_path() / "tapir_pcap_writer_test.pcap").string();
  {
    auto writer = PcapFileWriter::create(path, wire::LinkType::Ethernet);
    ASSERT_TRUE(writer) << writer.error().message();
    std::int64_t us = 1'700'000'000'123'456;
    for (const auto& f : capture.frames)
      writer->write(f.span(), std::chrono::microseconds(us++));
  }  // the destructor flushes and closes

  auto file = read_file(path);
  ASSERT_TRUE(file);
  auto reader = wire::PcapReader::open(*file);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->file_header().link_type, wire::LinkType::Ethernet);
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    auto record = reader->next();
    ASSERT_TRUE(record && *record) << "record " << i;
    const auto& r = **record;
    EXPECT_EQ(r.header.ts_sec, 1'700'000'000U);
    EXPECT_EQ(r.header.ts_frac, 123'456U + i);
    EXPECT_EQ(r.header.orig_len, capture.frames[i].bytes.size());
    EXPECT_TRUE(std::equal(r.data.begin(), r.data.end(), capture.frames[i].bytes.begin(),
                           capture.frames[i].bytes.end()));
  }
  auto end = reader->next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
  std::filesystem::remove(path);
}

TEST(PcapFileWriter, SnaplenCutsLongFrames) {
  const auto path =
      (std::filesystem::temp_directory_path() / "tapir_pcap_snaplen_test.pcap").string();
  const std::vector<std::byte> frame(200, std::byte{0x42});
  {
    auto writer = PcapFileWriter::create(path, wire::LinkType::Raw, 64);
    ASSERT_TRUE(writer);
    writer->write(frame, std::chrono::microseconds(0));
  }
  auto file = read_file(path);
  ASSERT_TRUE(file);
  auto reader = wire::PcapReader::open(*file);
  ASSERT_TRUE(reader);
  auto record = reader->next();
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((**record).header.incl_len, 64U);
  EXPECT_EQ((**record).header.orig_len, 200U);
  std::filesystem::remove(path);
}

TEST(ReadFile, MissingFileIsAnError) {
  auto file = read_file("/nonexistent/tapir/file.pcap");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error(), std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace tapir::drivers
