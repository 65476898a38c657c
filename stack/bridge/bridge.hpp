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
// Nothing allocates after construction: the FDB has a fixed capacity (see fdb.hpp for the
// policy when it is full: new sources are not learnt), and egress tagging writes into scratch
// frames made at construction. The sink may call receive() again from inside transmit() (the
// host stack answering at once), for any port: each nesting level has its own pair of scratch
// frames (untagged and tagged variant), up to kMaxDepth levels; a deeper receive() is dropped
// and counted (bridge.rx_nested_too_deep). A frame handed to transmit() stays intact until that
// transmit() returns, whatever the sink does meanwhile.
//
// Time only moves forward: a `now` earlier than one already seen is taken as the latest seen.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/error.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/base/time.hpp"
#include "stack/bridge/fdb.hpp"

namespace tapir::bridge {

// PortId and FdbEntry are declared in fdb.hpp.

// 802.1Q-2018 §6.9: VID 0 is a priority tag, 4095 reserved; 1 is the default PVID.
inline constexpr std::uint16_t kDefaultVid = 1;
inline constexpr std::uint16_t kMaxVid = 4094;

enum class PortMode : std::uint8_t {
  Access,  // one VLAN (pvid); frames leave untagged; tagged frames of another VID are dropped
  Trunk,   // the VIDs in `allowed`; frames leave tagged; untagged frames take `native` if set
};

struct PortConfig {
  PortMode mode = PortMode::Access;
  std::uint16_t pvid = kDefaultVid;       // Access: the port's VLAN (1..4094)
  std::vector<std::uint16_t> allowed{};   // Trunk: member VIDs (1..4094), tagged on egress
  std::optional<std::uint16_t> native{};  // Trunk: untagged frames belong here, leave untagged
};

struct BridgeConfig {
  std::size_t max_ports = 16;
  std::size_t fdb_capacity = 4096;              // learnt + static entries, all VLANs together
  Duration ageing = std::chrono::seconds(300);  // 802.1Q-2018 §8.8.3: default 300 s
  std::size_t max_frame = 9000 + 14 + 4;        // the largest frame relayed (tag included)
  std::uint64_t seed = 0;  // keys the FDB's hash; apps seed it from the OS (see fdb.hpp)
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
  Counter rx_dropped_vlan;        // ingress filtering: a VID this port is not a member of
  Counter rx_dropped_bad_src;     // a group (multicast/broadcast) source MAC
  Counter rx_dropped_reserved;    // 01:80:C2:00:00:0x, never relayed (802.1Q-2018 §8.6.3)
  Counter rx_dropped_malformed;   // shorter than a header, or an unsupported tag stack
  Counter rx_filtered_same_port;  // the FDB puts the destination on the ingress port
  Counter tx_flooded;             // copies sent by flooding (unknown, broadcast, multicast)
  Counter rx_dropped_oversize;    // longer than max_frame
  Counter tx_dropped_oversize;    // adding the tag for this port would pass max_frame
};

// fdb_learned, fdb_moved, fdb_aged, fdb_full (a new source not learnt) come from FdbCounters.
struct BridgeCounters : FdbCounters {
  Counter rx_unknown_port;     // receive() for a port add_port() never made
  Counter rx_nested_too_deep;  // receive() nested more than kMaxDepth deep in transmit()
};

class Bridge {
 public:
  // Nesting levels of receive() inside PortSink::transmit() (the first call is level 1).
  static constexpr std::size_t kMaxDepth = 4;

  explicit Bridge(const BridgeConfig& config);
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;
  Bridge(Bridge&&) = default;
  Bridge& operator=(Bridge&&) = default;

  // invalid_argument for a VID outside 1..4094 or a trunk with no VID; no_buffer_space past
  // max_ports.
  Result<PortId> add_port(const PortConfig& config);
  std::size_t port_count() const;
  // The configuration a port was made with (native, if set, is also a member).
  const PortConfig& port_config(PortId port) const;
  // Whether `port` is in the member set of `vid` (802.1Q-2018 §8.8.2).
  bool is_member(PortId port, std::uint16_t vid) const;

  void receive(PortId in, Bytes frame, Instant now, PortSink& sink);
  // Removes learnt entries unused for `ageing`.
  void poll(Instant now);
  // When poll() next has an entry to age out, or kNever.
  Instant next_deadline() const;

  // A static entry never ages and is never moved by learning; it replaces a learnt entry for
  // the same (mac, vid). no_buffer_space if the FDB is full, invalid_argument for a group or
  // zero MAC, a bad VID or port, or a port that is not a member of vid.
  Result<void> add_static(MacAddress mac, std::uint16_t vid, PortId port);
  // Forgets every learnt entry on `port` (its link went down, or it moved).
  void flush_port(PortId port);
  void set_ageing(Duration ageing);

  // f(const FdbEntry&) for each entry, in no particular order (entries past their age that
  // poll() has not swept yet included).
  template <class F>
  void for_each_entry(F&& f) const {
    fdb_.for_each(f);
  }
  std::size_t fdb_size() const;
  std::size_t fdb_capacity() const;

  // A port add_port() never made reads as all zeros.
  const PortCounters& port_counters(PortId port) const;
  const BridgeCounters& counters() const;
  // f(std::string_view name, const Counter&) for bridge.* and bridge.port<N>.*; the names stay
  // valid as long as the bridge.
  template <class F>
  void for_each_counter(F&& f) const {
    f(std::string_view("bridge.fdb_learned"), counters_.fdb_learned);
    f(std::string_view("bridge.fdb_moved"), counters_.fdb_moved);
    f(std::string_view("bridge.fdb_aged"), counters_.fdb_aged);
    f(std::string_view("bridge.fdb_full"), counters_.fdb_full);
    f(std::string_view("bridge.rx_unknown_port"), counters_.rx_unknown_port);
    f(std::string_view("bridge.rx_nested_too_deep"), counters_.rx_nested_too_deep);
    for (const Port& p : ports_) {
      const PortCounters& c = p.counters;
      const Counter* all[kPortCounters] = {&c.rx_frames,
                                           &c.rx_bytes,
                                           &c.tx_frames,
                                           &c.tx_bytes,
                                           &c.rx_dropped_vlan,
                                           &c.rx_dropped_bad_src,
                                           &c.rx_dropped_reserved,
                                           &c.rx_dropped_malformed,
                                           &c.rx_filtered_same_port,
                                           &c.tx_flooded,
                                           &c.rx_dropped_oversize,
                                           &c.tx_dropped_oversize};
      for (std::size_t i = 0; i < kPortCounters; ++i)
        f(std::string_view(p.names[i]), *all[i]);
    }
  }

 private:
  static constexpr std::size_t kPortCounters = 12;
  static const std::array<std::string_view, kPortCounters> kPortCounterNames;

  struct Port {
    PortConfig config;
    std::bitset<4096> member;  // 802.1Q-2018 §8.8.2: the VIDs of this port's member set
    PortCounters counters;
    std::array<std::string, kPortCounters> names;  // "bridge.port<N>.<counter>"
  };

  // A frame as received, classified into its VLAN (802.1Q-2018 §6.9).
  struct Ingress {
    Bytes frame;
    std::uint16_t vid = 0;
    std::uint8_t pcp = 0;
    bool dei = false;
    bool tagged = false;        // it came with a C-tag (VID or priority tag)
    std::uint16_t tag_vid = 0;  // the VID in that tag (0: a priority tag)
  };
  // The frame's two egress forms, built on first need into this level's scratch frames.
  struct Variants {
    std::optional<Bytes> untagged;
    bool tagged_built = false;
    std::optional<Bytes> tagged;  // none: too long to tag
  };

  void transmit(PortId out, const Ingress& in, Variants& v, std::size_t depth, bool flooded,
                PortSink& sink);
  Bytes untagged_form(const Ingress& in, std::size_t depth);
  std::optional<Bytes> tagged_form(const Ingress& in, std::size_t depth);
  BytesMut scratch(std::size_t depth, std::size_t which);
  bool egress_tagged(const Port& p, std::uint16_t vid) const;

  BridgeConfig config_;
  std::vector<Port> ports_;  // reserved to max_ports: never reallocated, so names stay put
  Fdb fdb_;
  BridgeCounters counters_;
  std::vector<std::byte> scratch_;  // kMaxDepth pairs of frames of scratch_size_ bytes
  std::size_t scratch_size_ = 0;
  std::size_t depth_ = 0;
  Instant latest_{};
};

}  // namespace tapir::bridge
