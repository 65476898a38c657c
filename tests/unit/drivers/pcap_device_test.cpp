// drivers/pcap/pcap_device: every frame through the decorator, both ways, lands in the file.
#include "drivers/pcap/pcap_device.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/memory/memory_wire.hpp"

namespace tapir::drivers {
namespace {

using namespace std::chrono_literals;

struct Collector final : FrameHandler {
  std::vector<std::vector<std::byte>> frames;
  void on_frame(Bytes frame, Instant) override { frames.emplace_back(frame.begin(), frame.end()); }
};

// A broadcast Ethernet frame (EtherType 0x88b5, local experimental) carrying `tag`.
std::vector<std::byte> ethernet_frame(std::uint8_t tag) {
  std::vector<std::byte> f(60, std::byte{tag});
  for (std::size_t i = 0; i < 6; ++i)
    f[i] = std::byte{0xff};
  const std::byte src[6] = {std::byte{0x02}, std::byte{0}, std::byte{0},
                            std::byte{0},    std::byte{0}, std::byte{tag}};
  std::copy(std::begin(src), std::end(src), f.begin() + 6);
  store_be16(f, 12, 0x88b5);
  return f;
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

constexpr std::chrono::microseconds kWallOffset{1'700'000'000'000'000};

// Transmits one frame out through the capture and receives one in, then closes the file.
void capture_both_ways(const std::string& path) {
  MemoryWire wire;
  auto dev = PcapDevice::open(wire.a(), path, kWallOffset);
  ASSERT_TRUE(dev) << dev.error().message();
  EXPECT_EQ(dev->medium(), Medium::Ethernet);
  EXPECT_EQ(dev->mtu(), 1500U);
  ASSERT_TRUE(dev->transmit(ethernet_frame(1), instant_from_micros(1'000'000)));
  ASSERT_TRUE(wire.b().transmit(ethernet_frame(2), instant_from_micros(2'500'000)));
  EXPECT_EQ(dev->next_deadline(), instant_from_micros(2'500'000));
  Collector got;
  ASSERT_EQ(*dev->receive(instant_from_micros(2'500'000), got, 8), 1U);
  ASSERT_EQ(got.frames.size(), 1U);
  EXPECT_EQ(got.frames[0], ethernet_frame(2));
  Collector at_b;
  ASSERT_EQ(*wire.b().receive(instant_from_micros(3'000'000), at_b, 8), 1U);
  EXPECT_EQ(at_b.frames[0], ethernet_frame(1));  // passed through unchanged
  EXPECT_EQ(dev->counters().tx_frames.value(), 1U);
  EXPECT_EQ(dev->counters().rx_frames.value(), 1U);
}

TEST(PcapDevice, CapturesBothDirectionsWithWallClockTimestamps) {
  const auto path = temp_path("tapir_pcap_device_test.pcap");
  capture_both_ways(path);

  auto file = read_file(path);
  ASSERT_TRUE(file);
  auto reader = wire::PcapReader::open(*file);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->file_header().link_type, wire::LinkType::Ethernet);
  const std::pair<std::uint8_t, std::uint32_t> expected[] = {{1, 1'700'000'001U},
                                                             {2, 1'700'000'002U}};
  for (const auto& [tag, sec] : expected) {
    auto record = reader->next();
    ASSERT_TRUE(record && *record) << "frame " << int{tag};
    const auto& r = **record;
    EXPECT_EQ(r.header.ts_sec, sec);
    EXPECT_EQ(r.header.ts_frac, tag == 1 ? 0U : 500'000U);
    const auto want = ethernet_frame(tag);
    EXPECT_TRUE(std::equal(r.data.begin(), r.data.end(), want.begin(), want.end()));
  }
  auto end = reader->next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
  std::filesystem::remove(path);
}

TEST(PcapDevice, TsharkOpensTheCapture) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "tshark is not installed: not checking the capture with it";
  const auto path = temp_path("tapir_pcap_device_tshark.pcap");
  capture_both_ways(path);
  const auto out = temp_path("tapir_pcap_device_tshark.txt");
  // stderr apart: tshark warns about running as root, which is not a record.
  const std::string cmd = "tshark -r '" + path + "' > '" + out + "' 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto text = read_file(out);
  ASSERT_TRUE(text);
  std::string printed;
  for (auto b : *text)
    printed += static_cast<char>(b);
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 2) << printed;
  std::filesystem::remove(path);
  std::filesystem::remove(out);
}

TEST(PcapDevice, LinkTypeFollowsTheMedium) {
  EXPECT_EQ(PcapDevice::link_type_for(Medium::Ethernet), wire::LinkType::Ethernet);
  EXPECT_EQ(PcapDevice::link_type_for(Medium::Ip), wire::LinkType::Raw);
}

TEST(PcapDevice, OpenFailsWithTheReason) {
  MemoryWire wire;
  auto dev = PcapDevice::open(wire.a(), "/nonexistent-dir/x.pcap", kWallOffset);
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error(), std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace tapir::drivers
