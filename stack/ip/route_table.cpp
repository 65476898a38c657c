#include "stack/ip/route_table.hpp"

#include <algorithm>
#include <system_error>

namespace tapir::ip {

Result<void> RouteTable::add(const Route& route) {
  if (routes_.size() >= capacity_)
    return tl::unexpected(std::make_error_code(std::errc::no_buffer_space));
  routes_.push_back(route);
  return {};
}

void RouteTable::remove_interface(std::uint16_t iface) {
  std::erase_if(routes_, [&](const Route& r) { return r.iface == iface; });
}

std::optional<NextHop> RouteTable::lookup(Ipv4Address dst) const {
  const Route* best = nullptr;
  for (const auto& r : routes_) {
    // RFC 1812 §5.2.4.3: the longest matching prefix wins.
    if (r.prefix.contains(dst) &&
        (best == nullptr || r.prefix.prefix_len() > best->prefix.prefix_len()))
      best = &r;
  }
  if (best == nullptr) return std::nullopt;
  return NextHop{best->iface, best->gateway.value_or(dst)};
}

}  // namespace tapir::ip
