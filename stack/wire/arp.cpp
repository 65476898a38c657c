#include "stack/wire/arp.hpp"

namespace tapir::wire {

Result<ArpRepr> ArpRepr::parse(const ArpView& view) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  // RFC 826, Packet format: the addresses' meaning depends on ar$hrd/ar$pro and their sizes on
  // ar$hln/ar$pln; only Ethernet (1) with IPv4 (0x0800), 6 and 4 bytes, is handled here.
  if (view.hardware_type() != ArpHardwareType::Ethernet ||
      view.protocol_type() != EtherType::Ipv4 || !view.is_ethernet_ipv4()) {
    return fail(Errc::unsupported);
  }
  return ArpRepr{view.operation(), view.sender_hardware_addr(), view.sender_protocol_addr(),
                 view.target_hardware_addr(), view.target_protocol_addr()};
}

void ArpRepr::emit(const ArpViewMut& view) const {
  view.set_hardware_type(ArpHardwareType::Ethernet);
  view.set_protocol_type(EtherType::Ipv4);
  view.set_hardware_len(MacAddress::size);
  view.set_protocol_len(4);
  view.set_operation(operation);
  view.set_sender_hardware_addr(source_hardware_addr);
  view.set_sender_protocol_addr(source_protocol_addr);
  view.set_target_hardware_addr(target_hardware_addr);
  view.set_target_protocol_addr(target_protocol_addr);
}

}  // namespace tapir::wire
