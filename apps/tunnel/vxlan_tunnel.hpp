// VxlanTunnel: the sans-IO core of tapir-tunnel, one VXLAN tunnel endpoint (VTEP, RFC 7348)
// with a single peer. It turns Ethernet frames read from a TAP into VXLAN UDP payloads and back,
// checks what arrives, and counts every frame it drops. It makes no syscall and reads no clock;
// the program around it (apps/tunnel/main.cpp) moves the bytes between the TAP and a UDP socket
// of the host kernel.
//
//   TAP --frame--> encapsulate() --[VXLAN header | frame]--> UDP send_to(remote)
//   UDP receive_from --datagram, source--> decapsulate() --inner frame--> TAP write
//
// Encapsulation writes the 8-byte header in front of the frame, in header room the caller left
// (encapsulate()), or into a separate 8-byte buffer for a gather write (write_header()): the
// frame itself is never copied here. Decapsulation returns a view of the inner frame inside the
// datagram. Nothing allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <tl/expected.hpp>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/wire/vxlan.hpp"

namespace tapir::tunnel {

// The counters, "tunnel.<tx|rx>_<what>": tx is TAP -> tunnel (frames encapsulated and sent to
// the peer), rx is tunnel -> TAP (datagrams received, checked and decapsulated).
struct TunnelCounters {
  Counter tx_frames, tx_bytes;  // frames encapsulated for the socket (bytes: inner frames)
  Counter tx_too_small;         // shorter than an Ethernet header
  Counter tx_too_large;         // longer than max_frame_len, or the socket said EMSGSIZE
  Counter tx_inner_vlan;        // 802.1Q/802.1ad-tagged, and carry_vlan is off (RFC 7348 §6.1)
  Counter tx_dropped_full;      // of tx_frames: the socket could not take it now (EAGAIN, ENOBUFS)
  Counter tx_errors;            // of tx_frames: the send failed otherwise
  Counter rx_frames, rx_bytes;  // inner frames handed to the TAP (which counts its own drops)
  Counter rx_wrong_source;      // not from the configured remote address
  Counter rx_bad_header;        // shorter than the VXLAN header, or the I flag clear
  Counter rx_wrong_vni;         // a VNI other than ours
  Counter rx_too_small;         // the inner frame is shorter than an Ethernet header
  Counter rx_too_large;         // the inner frame is longer than max_frame_len
  Counter rx_inner_vlan;        // the inner frame is tagged, and carry_vlan is off (§6.1)
  Counter rx_dropped_full;      // the socket's receive queue was full: the kernel dropped them
  Counter rx_errors;            // the UDP receive failed

  template <class F>
  void for_each_counter(F&& f) const {
    f("tunnel.tx_frames", tx_frames);
    f("tunnel.tx_bytes", tx_bytes);
    f("tunnel.tx_too_small", tx_too_small);
    f("tunnel.tx_too_large", tx_too_large);
    f("tunnel.tx_inner_vlan", tx_inner_vlan);
    f("tunnel.tx_dropped_full", tx_dropped_full);
    f("tunnel.tx_errors", tx_errors);
    f("tunnel.rx_frames", rx_frames);
    f("tunnel.rx_bytes", rx_bytes);
    f("tunnel.rx_wrong_source", rx_wrong_source);
    f("tunnel.rx_bad_header", rx_bad_header);
    f("tunnel.rx_wrong_vni", rx_wrong_vni);
    f("tunnel.rx_too_small", rx_too_small);
    f("tunnel.rx_too_large", rx_too_large);
    f("tunnel.rx_inner_vlan", rx_inner_vlan);
    f("tunnel.rx_dropped_full", rx_dropped_full);
    f("tunnel.rx_errors", rx_errors);
  }
};

// Why a frame or datagram was dropped (each reason has its counter above).
enum class Drop : std::uint8_t {
  too_small,     // tx_too_small / rx_too_small
  too_large,     // tx_too_large / rx_too_large
  wrong_source,  // rx_wrong_source
  bad_header,    // rx_bad_header
  wrong_vni,     // rx_wrong_vni
  inner_vlan,    // tx_inner_vlan / rx_inner_vlan
};
std::string_view to_string(Drop drop);

struct TunnelConfig {
  std::uint32_t vni = 1;  // 24 bits (0..16777215)
  Ipv4Address remote;     // the peer VTEP's address
  // Accept datagrams only from `remote` (its address; any source port, since a Linux vxlan
  // device picks the source port per flow).
  bool check_source = true;
  // RFC 7348 §6.1: frames with an inner VLAN tag SHOULD be discarded after decapsulation and
  // SHOULD NOT be sent "unless configured otherwise": true is otherwise (802.1Q and 802.1ad
  // tags carried both ways).
  bool carry_vlan = false;
  // The longest Ethernet frame carried either way: the TAP's MTU, its Ethernet header and one
  // 802.1Q tag (max_frame_len_for()).
  std::size_t max_frame_len = 1500 + 14 + 4;
};

class VxlanTunnel {
 public:
  // RFC 7348 §5: the VXLAN header is 8 bytes.
  static constexpr std::size_t header_len = wire::VxlanView::header_len;
  // The header room encapsulate() needs in front of the frame.
  static constexpr std::size_t headroom = header_len;
  // An Ethernet header: destination, source, EtherType.
  static constexpr std::size_t min_frame_len = 14;
  // The largest UDP payload in one IPv4 datagram: 65535 - 20 (IPv4) - 8 (UDP).
  static constexpr std::size_t max_datagram_len = 65507;
  static constexpr std::size_t max_frame_limit = max_datagram_len - header_len;
  // RFC 7348 §4.3: the outer IPv4 (20), UDP (8) and VXLAN (8) headers and the inner Ethernet
  // header (14) that a frame gains on the underlay: the inner MTU must be at most the underlay
  // MTU minus this.
  static constexpr std::size_t overhead = 20 + 8 + header_len + 14;

  // The longest frame of a TAP with this MTU: + Ethernet header + one 802.1Q tag, at most
  // max_frame_limit.
  static std::size_t max_frame_len_for(std::size_t tap_mtu);

  explicit VxlanTunnel(const TunnelConfig& config);

  const TunnelConfig& config() const { return config_; }
  // After the TAP's MTU changed (the owner refreshes it).
  void set_max_frame_len(std::size_t len);

  // TAP -> tunnel. `buffer` holds the frame at [headroom, headroom + frame_len); the VXLAN
  // header is written into [0, headroom) and the datagram, header and frame, is returned. A
  // frame shorter than an Ethernet header or longer than max_frame_len is dropped and counted.
  // A returned datagram is counted in tx_frames (handed to the socket); what the socket then
  // refuses the caller counts in tx_dropped_full, tx_too_large or tx_errors.
  tl::expected<BytesMut, Drop> encapsulate(BytesMut buffer, std::size_t frame_len);
  // The same checks and header, written into an 8-byte `header` apart from the frame (for a
  // gather write of header and frame).
  tl::expected<void, Drop> write_header(Bytes frame, BytesMut header);
  // tunnel -> TAP. `datagram` is one UDP payload received from `source`; returns the inner
  // Ethernet frame (a view into datagram) or why it was dropped (counted).
  tl::expected<Bytes, Drop> decapsulate(Bytes datagram, Ipv4Address source);

  const TunnelCounters& counters() const { return counters_; }
  TunnelCounters& counters() { return counters_; }

 private:
  TunnelConfig config_;
  wire::VxlanRepr repr_;
  TunnelCounters counters_;
};

}  // namespace tapir::tunnel
