// Error codes of the stack as a std::error_category, and Result<T> on tl::expected.
// Wire parsing reports *why* a buffer was rejected with one specific code per failure kind;
// configuration parsing (addresses, CIDRs) reports a code whose message reads as a sentence.
#pragma once

#include <system_error>

#include <tl/expected.hpp>

namespace tapir {

enum class Errc : int {
  // Wire formats (check() / parse()).
  truncated = 1,   // the buffer is shorter than the header, or than a length field says
  bad_version,     // a version field holds a value this codec does not speak
  bad_header_len,  // a header-length field is below the minimum or past the buffer
  bad_length,      // a total/payload length field disagrees with the buffer
  bad_option,      // an option's length is malformed (zero, too short, past the header)
  bad_checksum,    // the checksum does not verify
  bad_field,       // a field holds a value the format forbids (e.g. a reserved flag)
  unsupported,     // well formed, but not a variant this codec handles (e.g. ARP for IPX)
  bad_magic,       // a file's magic number is unknown
  // Text (configuration) parsing.
  bad_address,     // not a dotted-quad IPv4 address / not a MAC address
  bad_prefix_len,  // a CIDR prefix length outside 0..32 or missing
  // Generic.
  invalid_argument,
  no_buffer_space,  // a bounded pool or queue is full
};

const std::error_category& tapir_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), tapir_category()};
}

template <class T>
using Result = tl::expected<T, std::error_code>;

// Shorthand for `return fail(Errc::truncated);` inside functions returning Result<T>.
inline tl::unexpected<std::error_code> fail(Errc e) noexcept {
  return tl::unexpected<std::error_code>(make_error_code(e));
}

}  // namespace tapir

template <>
struct std::is_error_code_enum<tapir::Errc> : std::true_type {};
