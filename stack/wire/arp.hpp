// ARP, the Address Resolution Protocol (RFC 826), as carried in an Ethernet frame of EtherType
// 0x0806. The view reads any hardware/protocol pair; the repr speaks only Ethernet/IPv4, which
// is what the stack resolves.
//
//   0               2               4       5       6               8
//  +---------------+---------------+-------+-------+---------------+
//  | hardware type | protocol type | hlen  | plen  | operation     |
//  +---------------+---------------+-------+-------+---------------+
//  | sender hardware address (hlen) | sender protocol address (plen)|
//  +--------------------------------+-------------------------------+
//  | target hardware address (hlen) | target protocol address (plen)|
//  +--------------------------------+-------------------------------+
//
// For Ethernet/IPv4 (hlen 6, plen 4) the packet is 28 bytes: sender MAC at 8, sender IPv4 at
// 14, target MAC at 18, target IPv4 at 24. A frame from a veth or TAP carries exactly these 28
// bytes after the Ethernet header (42 in all); one from a NIC is padded to 60: the trailing
// bytes are padding and are ignored.
#pragma once

#include <cstdint>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/wire/common.hpp"
#include "stack/wire/ethernet.hpp"

namespace tapir::wire {

// RFC 826, Packet format: ar$hrd, the hardware address space (IANA "Hardware Types").
// Unknown values are representable.
enum class ArpHardwareType : std::uint16_t {
  Ethernet = 1,
};

// RFC 826, Packet format: ar$op. Unknown values (RARP, InARP, ...) are representable.
enum class ArpOperation : std::uint16_t {
  Request = 1,
  Reply = 2,
};

template <ByteType B>
class BasicArpView {
 public:
  // The fixed part: hardware type, protocol type, hlen, plen, operation.
  static constexpr std::size_t header_len = 8;
  // The whole packet when hlen is 6 and plen is 4.
  static constexpr std::size_t ethernet_ipv4_len = 28;

  explicit BasicArpView(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>) BasicArpView(const BasicArpView<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The buffer must hold the fixed part, then the four addresses its hlen and plen announce.
  Status check() const {
    if (buf_.size() < header_len) return fail(Errc::truncated);
    // RFC 826, Packet format: the fixed part is followed by two hardware addresses of ar$hln
    // bytes and two protocol addresses of ar$pln bytes.
    if (buf_.size() < packet_len()) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicArpView> checked(gsl::span<B> buffer) {
    BasicArpView v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  ArpHardwareType hardware_type() const { return static_cast<ArpHardwareType>(load_be16(buf_, 0)); }
  // RFC 826, Packet format: ar$pro takes its values from the EtherType space.
  EtherType protocol_type() const { return static_cast<EtherType>(load_be16(buf_, 2)); }
  std::uint8_t hardware_len() const { return load_u8(buf_, 4); }
  std::uint8_t protocol_len() const { return load_u8(buf_, 5); }
  ArpOperation operation() const { return static_cast<ArpOperation>(load_be16(buf_, 6)); }
  // 8 + 2 * (hlen + plen): the bytes the packet occupies; what follows is padding.
  std::size_t packet_len() const {
    return header_len + 2 * (std::size_t{hardware_len()} + std::size_t{protocol_len()});
  }

  // The four addresses as raw bytes, for any hlen and plen (check() must have passed).
  gsl::span<B> sender_hardware_bytes() const { return buf_.subspan(header_len, hardware_len()); }
  gsl::span<B> sender_protocol_bytes() const {
    return buf_.subspan(header_len + hardware_len(), protocol_len());
  }
  gsl::span<B> target_hardware_bytes() const {
    return buf_.subspan(header_len + hardware_len() + protocol_len(), hardware_len());
  }
  gsl::span<B> target_protocol_bytes() const {
    return buf_.subspan(header_len + 2U * hardware_len() + protocol_len(), protocol_len());
  }

  // True when the addresses are a MAC and an IPv4 address (hlen 6, plen 4): the typed address
  // getters below require it (they terminate otherwise, never reading a wrong offset).
  bool is_ethernet_ipv4() const {
    return hardware_len() == MacAddress::size && protocol_len() == 4;
  }
  MacAddress sender_hardware_addr() const {
    Expects(is_ethernet_ipv4());
    return MacAddress::from_bytes(buf_, 8);
  }
  Ipv4Address sender_protocol_addr() const {
    Expects(is_ethernet_ipv4());
    return Ipv4Address::from_bytes(buf_, 14);
  }
  MacAddress target_hardware_addr() const {
    Expects(is_ethernet_ipv4());
    return MacAddress::from_bytes(buf_, 18);
  }
  Ipv4Address target_protocol_addr() const {
    Expects(is_ethernet_ipv4());
    return Ipv4Address::from_bytes(buf_, 24);
  }

  // The bytes after the packet (Ethernet padding), empty for an unpadded frame.
  gsl::span<B> padding() const { return buf_.subspan(packet_len()); }
  gsl::span<B> buffer() const { return buf_; }

  void set_hardware_type(ArpHardwareType t) const requires kIsMutable<B> {
    store_be16(buf_, 0, static_cast<std::uint16_t>(t));
  }
  void set_protocol_type(EtherType t) const requires kIsMutable<B> {
    store_be16(buf_, 2, static_cast<std::uint16_t>(t));
  }
  void set_hardware_len(std::uint8_t len) const requires kIsMutable<B> { store_u8(buf_, 4, len); }
  void set_protocol_len(std::uint8_t len) const requires kIsMutable<B> { store_u8(buf_, 5, len); }
  void set_operation(ArpOperation op) const requires kIsMutable<B> {
    store_be16(buf_, 6, static_cast<std::uint16_t>(op));
  }
  // The address setters write the Ethernet/IPv4 layout (hlen 6, plen 4).
  void set_sender_hardware_addr(MacAddress m) const requires kIsMutable<B> { m.to_bytes(buf_, 8); }
  void set_sender_protocol_addr(Ipv4Address a) const requires kIsMutable<B> {
    a.to_bytes(buf_, 14);
  }
  void set_target_hardware_addr(MacAddress m) const requires kIsMutable<B> { m.to_bytes(buf_, 18); }
  void set_target_protocol_addr(Ipv4Address a) const requires kIsMutable<B> {
    a.to_bytes(buf_, 24);
  }

 private:
  gsl::span<B> buf_;
};

using ArpView = BasicArpView<const std::byte>;
using ArpViewMut = BasicArpView<std::byte>;

// An Ethernet/IPv4 ARP packet.
struct ArpRepr {
  ArpOperation operation{};
  MacAddress source_hardware_addr;
  Ipv4Address source_protocol_addr;
  MacAddress target_hardware_addr;
  Ipv4Address target_protocol_addr;

  // Errc::truncated from check(); Errc::unsupported unless the packet is Ethernet/IPv4
  // (hardware type 1, protocol type 0x0800, hlen 6, plen 4). Any operation is accepted and
  // kept. Trailing padding is ignored.
  static Result<ArpRepr> parse(const ArpView& view);
  // Bytes emit() writes: the whole 28-byte packet.
  static constexpr std::size_t buffer_len() { return ArpView::ethernet_ipv4_len; }
  void emit(const ArpViewMut& view) const;

  bool operator==(const ArpRepr&) const = default;
};

}  // namespace tapir::wire
