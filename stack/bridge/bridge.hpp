// Bridge: a VLAN-aware learning bridge (IEEE 802.1Q-2018 §8, the MAC Relay of 802.1D), sans-IO.
//
// Ports are numbered from 0 in the order add_port() made them; what is behind a port (a TAP,
// a memory wire, the host stack) is the caller's business. A frame comes in with the port and
// the time; the copies it is relayed as leave through a PortSink before receive() returns:
//
//   bridge::Bridge br(bridge::BridgeConfig{});
//   auto a = br.add_port({.mode = bridge::PortMode::Access, .pvid = 10});
//   auto t = br.add_port({.mode = bridge::PortMode::Trunk, .allowed = {10, 20}});
//   br.receive(*a, frame, now, sink);  // learnt, then forwarded or flooded through sink
//   br.poll(now);                      // ages out entries (also done lazily on lookup)
//
// Each frame is classified into one VLAN on ingress (the port's PVID if untagged or
// priority-tagged, else the tag's VID, checked against the port's member set), learnt as
// (source MAC, VID) -> port, and sent to the port the FDB names for (destination MAC, VID), or
// flooded to every other member port of that VLAN. Egress tags it for a trunk and untags it
// for an access port. It never goes back out of its ingress port and never leaves its VLAN.
//
// Nothing allocates after construction: the FDB has a fixed capacity, and egress tagging
// uses one scratch frame. The sink may call receive() again from inside transmit() only for
// a port that is not the one being transmitted to (the host stack answering at once).
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/error.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/base/time.hpp"

namespace tapir::bridge {

using PortId = std::uint16_t;

// 802.1Q-2018 §6.9: VID 0 is a priority tag, 4095 reserved; 1 is the default PVID.
inline constexpr std::uint16_t kDefaultVid = 1;
inline constexpr std::uint16_t kMaxVid = 4094;

enum class PortMode : std::uint8_t {
  Access,  // one VLAN (pvid); frames leave untagged; tagged frames of another VID are dropped
  Trunk,   // the VIDs in `allowed`; frames leave tagged; untagged frames take `native` if set
};

struct PortConfig {
  PortMode mode = PortMode::Access;
  std::uint16_t pvid = kDefaultVid;  // Access: the port's VLAN (1..4094)
  std::vector<std::uint16_t> allowed;  // Trunk: member VIDs (1..4094), tagged on egress
  std::optional<std::uint16_t> native;  // Trunk: untagged frames belong here, leave untagged
};

struct BridgeConfig {
  std::size_t max_ports = 16;
  std::size_t fdb_capacity = 4096;  // learnt + static entries, all VLANs together
  Duration ageing = std::chrono::seconds(300);  // 802.1Q-2018 §8.8.3: default 300 s
  std::size_t max_frame = 9000 + 14 + 4;  // the largest frame relayed (tag included)
};

// Where relayed frames go. `frame` is valid only during the call.
class PortSink {
 public:
  virtual void transmit(PortId port, Bytes frame) = 0;

 protected:
  ~PortSink() = default;
};

struct PortCounters {
  Counter rx_frames, rx_bytes, tx_frames, tx_bytes;
  Counter rx_dropped_vlan;       // ingress filtering: a VID this port is not a member of
  Counter rx_dropped_bad_src;    // a group (multicast/broadcast) source MAC
  Counter rx_dropped_reserved;   // 01:80:C2:00:00:0x, never relayed (802.1Q-2018 §8.6.3)
  Counter rx_dropped_malformed;  // shorter than a header, or an unsupported tag stack
  Counter rx_filtered_same_port;  // the FDB puts the destination on the ingress port
  Counter tx_flooded;            // copies sent by flooding (unknown, broadcast, multicast)
};

struct BridgeCounters {
  Counter fdb_learned, fdb_moved, fdb_aged, fdb_full;  // fdb_full: a new source not learnt
};

struct FdbEntry {
  MacAddress mac;
  std::uint16_t vid = 0;
  PortId port = 0;
  bool is_static = false;
  Instant last_seen{};  // learnt entries: when the source was last seen
};

class Bridge {
 public:
  explicit Bridge(const BridgeConfig& config);

  // invalid_argument for a VID outside 1..4094 or a trunk with no VID; no_buffer_space past
  // max_ports.
  Result<PortId> add_port(const PortConfig& config);
  std::size_t port_count() const;

  void receive(PortId in, Bytes frame, Instant now, PortSink& sink);
  // Removes entries unused for `ageing`.
  void poll(Instant now);
  // When poll() next has an entry to age out, or kNever.
  Instant next_deadline() const;

  // A static entry never ages and is never moved by learning. no_buffer_space if the FDB is
  // full, invalid_argument for a group MAC, a bad VID or port.
  Result<void> add_static(MacAddress mac, std::uint16_t vid, PortId port);
  // Forgets every learnt entry on `port` (its link went down, or it moved).
  void flush_port(PortId port);
  void set_ageing(Duration ageing);

  // The entries, in no particular order.
  template <class F>
  void for_each_entry(F&& f) const;
  std::size_t fdb_size() const;

  const PortCounters& port_counters(PortId port) const;
  const BridgeCounters& counters() const;
  // bridge.* and bridge.port<N>.* counters by name.
  template <class F>
  void for_each_counter(F&& f) const;
};

}  // namespace tapir::bridge
