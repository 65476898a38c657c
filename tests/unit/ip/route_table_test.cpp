// ip/route_table: the routing table alone. Longest-prefix match whatever the order of adding,
// ties to the route added first, connected and gateway next hops, the default and host routes,
// the capacity bound, and removal by interface.
#include "stack/ip/route_table.hpp"

#include <algorithm>
#include <string_view>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::ip {
namespace {

Ipv4Cidr cidr(std::string_view text) {
  return *Ipv4Cidr::parse(text);
}

constexpr Ipv4Address kGw1(10, 0, 0, 254);
constexpr Ipv4Address kGw2(10, 0, 0, 253);

TEST(RouteTable, AnEmptyTableHasNoRoute) {
  RouteTable t(4);
  EXPECT_EQ(t.lookup(Ipv4Address(10, 0, 0, 1)), std::nullopt);
  EXPECT_TRUE(t.routes().empty());
}

TEST(RouteTable, AConnectedRouteHasTheDestinationAsNextHop) {
  RouteTable t(4);
  ASSERT_TRUE(t.add({cidr("10.0.0.2/24"), std::nullopt, 1}));
  const auto hop = t.lookup(Ipv4Address(10, 0, 0, 77));
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->iface, 1);
  EXPECT_EQ(hop->address, Ipv4Address(10, 0, 0, 77));
  EXPECT_EQ(t.lookup(Ipv4Address(10, 0, 1, 77)), std::nullopt);
}

TEST(RouteTable, AGatewayRouteHasTheGatewayAsNextHop) {
  RouteTable t(4);
  ASSERT_TRUE(t.add({cidr("0.0.0.0/0"), kGw1, 0}));
  const auto hop = t.lookup(Ipv4Address(192, 0, 2, 1));
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->address, kGw1);
  EXPECT_EQ(t.lookup(Ipv4Address::broadcast())->address, kGw1);  // 0/0 matches everything
}

TEST(RouteTable, TheLongestPrefixWinsWhateverTheOrder) {
  // RFC 1812 §5.2.4.3: the longest matching prefix wins.
  for (bool reversed : {false, true}) {
    SCOPED_TRACE(reversed);
    RouteTable t(8);
    std::vector<Route> routes = {
        {cidr("0.0.0.0/0"), kGw1, 0},
        {cidr("10.0.0.0/8"), kGw2, 0},
        {cidr("10.1.0.0/16"), Ipv4Address(10, 0, 0, 252), 0},
        {cidr("10.1.2.0/24"), std::nullopt, 2},
        {cidr("10.1.2.3/32"), Ipv4Address(10, 0, 0, 251), 0},
    };
    if (reversed) std::reverse(routes.begin(), routes.end());
    for (const auto& r : routes)
      ASSERT_TRUE(t.add(r));
    EXPECT_EQ(t.lookup(Ipv4Address(8, 8, 8, 8))->address, kGw1);
    EXPECT_EQ(t.lookup(Ipv4Address(10, 9, 9, 9))->address, kGw2);
    EXPECT_EQ(t.lookup(Ipv4Address(10, 1, 9, 9))->address, Ipv4Address(10, 0, 0, 252));
    EXPECT_EQ(t.lookup(Ipv4Address(10, 1, 2, 4))->address, Ipv4Address(10, 1, 2, 4));
    EXPECT_EQ(t.lookup(Ipv4Address(10, 1, 2, 4))->iface, 2);
    EXPECT_EQ(t.lookup(Ipv4Address(10, 1, 2, 3))->address, Ipv4Address(10, 0, 0, 251));
  }
}

TEST(RouteTable, TiesGoToTheRouteAddedFirst) {
  RouteTable t(4);
  ASSERT_TRUE(t.add({cidr("10.1.0.0/16"), kGw1, 0}));
  ASSERT_TRUE(t.add({cidr("10.1.0.0/16"), kGw2, 1}));
  EXPECT_EQ(t.lookup(Ipv4Address(10, 1, 0, 1))->address, kGw1);
  EXPECT_EQ(t.lookup(Ipv4Address(10, 1, 0, 1))->iface, 0);
}

TEST(RouteTable, HostBitsInAPrefixDoNotMatter) {
  RouteTable t(4);
  // Its network() is what matches: an interface address with its prefix.
  ASSERT_TRUE(t.add({cidr("10.1.2.3/16"), std::nullopt, 0}));
  EXPECT_TRUE(t.lookup(Ipv4Address(10, 1, 200, 9)));
  EXPECT_FALSE(t.lookup(Ipv4Address(10, 2, 2, 3)));
}

TEST(RouteTable, IsBounded) {
  RouteTable t(2);
  ASSERT_TRUE(t.add({cidr("10.0.0.0/24"), std::nullopt, 0}));
  ASSERT_TRUE(t.add({cidr("10.0.1.0/24"), std::nullopt, 1}));
  const auto r = t.add({cidr("0.0.0.0/0"), kGw1, 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::no_buffer_space);
  EXPECT_EQ(t.routes().size(), 2U);
}

TEST(RouteTable, RemovingAnInterfaceRemovesEveryRouteThroughIt) {
  RouteTable t(4);
  ASSERT_TRUE(t.add({cidr("10.0.0.0/24"), std::nullopt, 0}));
  ASSERT_TRUE(t.add({cidr("10.0.1.0/24"), std::nullopt, 1}));
  ASSERT_TRUE(t.add({cidr("0.0.0.0/0"), Ipv4Address(10, 0, 1, 254), 1}));
  t.remove_interface(1);
  ASSERT_EQ(t.routes().size(), 1U);
  EXPECT_EQ(t.lookup(Ipv4Address(192, 0, 2, 1)), std::nullopt);
  EXPECT_TRUE(t.lookup(Ipv4Address(10, 0, 0, 5)));
  // And the room is free again.
  EXPECT_TRUE(t.add({cidr("0.0.0.0/0"), Ipv4Address(10, 0, 0, 254), 0}));
}

}  // namespace
}  // namespace tapir::ip
