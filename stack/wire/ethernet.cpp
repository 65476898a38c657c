#include "stack/wire/ethernet.hpp"

namespace tapir::wire {

Result<EthernetRepr> EthernetRepr::parse(const EthernetView& view) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  return EthernetRepr{view.src(), view.dst(), view.ethertype()};
}

void EthernetRepr::emit(const EthernetViewMut& view) const {
  view.set_dst(dst);
  view.set_src(src);
  view.set_ethertype(ethertype);
}

}  // namespace tapir::wire
