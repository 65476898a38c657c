// The IPv4 routing table: longest-prefix match (RFC 1812 §5.2.4.3) over a bounded list of
// routes. Each interface's own prefix is a connected route (no gateway); a default route is
// 0.0.0.0/0 via a gateway. Ties between equally long prefixes go to the route added first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/error.hpp"
#include "stack/base/ipv4_address.hpp"

namespace tapir::ip {

struct Route {
  Ipv4Cidr prefix;                     // its network() is what matches
  std::optional<Ipv4Address> gateway;  // none: the destination is on the link
  std::uint16_t iface = 0;
};

// What a lookup decides: the interface and the next hop's address on it.
struct NextHop {
  std::uint16_t iface = 0;
  Ipv4Address address;  // the gateway, or the destination itself
};

class RouteTable {
 public:
  explicit RouteTable(std::size_t capacity) : capacity_(capacity) { routes_.reserve(capacity); }

  // std::errc::no_buffer_space when full.
  Result<void> add(const Route& route);
  // Removes every route through iface.
  void remove_interface(std::uint16_t iface);
  std::optional<NextHop> lookup(Ipv4Address dst) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::size_t capacity_;
  std::vector<Route> routes_;
};

}  // namespace tapir::ip
