#include <gtest/gtest.h>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"

namespace tapir {
namespace {

TEST(MacAddress, ParsesAndFormats) {
  auto m = MacAddress::parse("02:00:5E:10:00:01");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:5e:10:00:01");
  EXPECT_TRUE(m->is_local());
  EXPECT_TRUE(m->is_unicast());
  EXPECT_EQ(MacAddress::parse("02-00-5e-10-00-01"), m);
}

TEST(MacAddress, RejectsBadText) {
  for (const char* bad : {"", "02:00:5e:10:00", "02:00:5e:10:00:01:02", "02:00:5e:10:00:0g",
                          "02:00-5e:10:00:01", "0200:5e:10:00:01:", "02:00:5e:10:00:1 "}) {
    EXPECT_EQ(MacAddress::parse(bad).error(), Errc::bad_address) << bad;
  }
}

TEST(MacAddress, Classifies) {
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
  EXPECT_TRUE(MacAddress({0x01, 0x00, 0x5e, 0, 0, 1}).is_multicast());
  EXPECT_FALSE(MacAddress({0x00, 0x16, 0x3e, 0, 0, 1}).is_local());
  EXPECT_TRUE(MacAddress().is_zero());
}

TEST(Ipv4Address, ParsesAndFormats) {
  auto a = Ipv4Address::parse("10.0.0.2");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, Ipv4Address(10, 0, 0, 2));
  EXPECT_EQ(a->to_string(), "10.0.0.2");
  EXPECT_EQ(Ipv4Address::parse("255.255.255.255")->to_string(), "255.255.255.255");
  EXPECT_EQ(Ipv4Address::parse("0.0.0.0"), Ipv4Address::any());
}

TEST(Ipv4Address, RejectsBadText) {
  for (const char* bad : {"", "10.0.0", "10.0.0.2.1", "10.0.0.256", "10..0.2", "10.0.0.", ".10.0.0",
                          "a.b.c.d", "10.0.0.+2", "10.0.0.2 ", "1000.0.0.2", "10.0.0.-1"}) {
    EXPECT_EQ(Ipv4Address::parse(bad).error(), Errc::bad_address) << bad;
  }
}

TEST(Ipv4Address, Classifies) {
  EXPECT_TRUE(Ipv4Address(224, 0, 0, 1).is_multicast());
  EXPECT_FALSE(Ipv4Address(240, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Address(127, 0, 0, 1).is_loopback());
  EXPECT_TRUE(Ipv4Address::broadcast().is_broadcast());
}

TEST(Ipv4Cidr, ParsesInterfaceAddress) {
  auto c = Ipv4Cidr::parse("10.0.0.2/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address(), Ipv4Address(10, 0, 0, 2));
  EXPECT_EQ(c->prefix_len(), 24U);
  EXPECT_EQ(c->netmask(), Ipv4Address(255, 255, 255, 0));
  EXPECT_EQ(c->network(), Ipv4Address(10, 0, 0, 0));
  EXPECT_EQ(c->broadcast(), Ipv4Address(10, 0, 0, 255));
  EXPECT_TRUE(c->contains(Ipv4Address(10, 0, 0, 200)));
  EXPECT_FALSE(c->contains(Ipv4Address(10, 0, 1, 1)));
  EXPECT_EQ(c->to_string(), "10.0.0.2/24");
}

TEST(Ipv4Cidr, EdgePrefixes) {
  EXPECT_TRUE(Ipv4Cidr::parse("0.0.0.0/0")->contains(Ipv4Address(8, 8, 8, 8)));
  auto host = Ipv4Cidr::parse("10.0.0.2/32");
  EXPECT_TRUE(host->contains(Ipv4Address(10, 0, 0, 2)));
  EXPECT_FALSE(host->contains(Ipv4Address(10, 0, 0, 3)));
}

TEST(Ipv4Cidr, RejectsBadText) {
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.2").error(), Errc::bad_prefix_len);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.2/33").error(), Errc::bad_prefix_len);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.2/").error(), Errc::bad_prefix_len);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.2/2x").error(), Errc::bad_prefix_len);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.300/24").error(), Errc::bad_address);
  EXPECT_EQ(Ipv4Cidr::make(Ipv4Address(10, 0, 0, 1), 40).error(), Errc::bad_prefix_len);
  // The error reads as a sentence for the one-line configuration error.
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.2/33").error().message(), "invalid prefix length");
}

}  // namespace
}  // namespace tapir

#include "stack/base/format.hpp"

namespace tapir {
namespace {

TEST(Format, AddressesFormatWithoutTemporaries) {
  EXPECT_EQ(fmt::format("{} > {}", Ipv4Address(10, 0, 0, 1), Ipv4Address(255, 255, 255, 255)),
            "10.0.0.1 > 255.255.255.255");
  EXPECT_EQ(fmt::format("{}", MacAddress({0x0a, 0, 0, 0, 0, 0xff})), "0a:00:00:00:00:ff");
  EXPECT_EQ(fmt::format("[{:>10}]", Ipv4Address(1, 2, 3, 4)), "[   1.2.3.4]");
}

}  // namespace
}  // namespace tapir
