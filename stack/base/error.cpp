#include "stack/base/error.hpp"

#include <string>

namespace tapir {
namespace {

class TapirCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tapir"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::truncated:
        return "truncated";
      case Errc::bad_version:
        return "bad version";
      case Errc::bad_header_len:
        return "bad header length";
      case Errc::bad_length:
        return "bad length";
      case Errc::bad_option:
        return "malformed option";
      case Errc::bad_checksum:
        return "bad checksum";
      case Errc::bad_field:
        return "invalid field value";
      case Errc::unsupported:
        return "unsupported format";
      case Errc::bad_magic:
        return "unknown magic number";
      case Errc::bad_address:
        return "invalid address";
      case Errc::bad_prefix_len:
        return "invalid prefix length";
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::no_buffer_space:
        return "no buffer space";
    }
    return "unknown tapir error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& tapir_category() noexcept {
  static const TapirCategory category;
  return category;
}

}  // namespace tapir
