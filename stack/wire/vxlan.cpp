#include "stack/wire/vxlan.hpp"

namespace tapir::wire {

Result<VxlanRepr> VxlanRepr::parse(const VxlanView& view) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  // RFC 7348 §5: the I flag MUST be set to 1 for a valid VNI; the other flag bits and the
  // reserved fields are ignored on receipt.
  if (!view.i_flag()) return fail(Errc::bad_field);
  return VxlanRepr{view.vni()};
}

void VxlanRepr::emit(const VxlanViewMut& view) const {
  // RFC 7348 §5: I set, reserved flag bits and reserved fields zero on transmission.
  view.set_flags(VxlanView::kFlagI);
  view.clear_reserved();
  view.set_vni(vni);
}

}  // namespace tapir::wire
