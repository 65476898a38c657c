#include "stack/bridge/bridge.hpp"

#include <algorithm>
#include <string>

#include "stack/wire/ethernet.hpp"
#include "stack/wire/vlan.hpp"

namespace tapir::bridge {
namespace {

constexpr std::size_t kEthHeader = wire::EthernetView::header_len;    // 14
constexpr std::size_t kTagLen = wire::VlanView::header_len;           // 4
constexpr std::size_t kMacsLen = 12;                                  // destination + source
constexpr std::size_t kMinFrame = wire::EthernetView::min_frame_len;  // 60, without the FCS

bool valid_vid(std::uint16_t vid) {
  return vid >= 1 && vid <= kMaxVid;
}

// IEEE 802.1Q-2018 §8.6.3, Table 8-1: 01-80-C2-00-00-00 to 01-80-C2-00-00-0F are reserved
// for link-constrained protocols (STP, LACP, 802.1X, LLDP, pause, ...); a C-VLAN bridge never
// relays a frame sent to one of them.
bool is_reserved_group(MacAddress dst) {
  const auto& o = dst.octets();
  return o[0] == 0x01 && o[1] == 0x80 && o[2] == 0xc2 && o[3] == 0x00 && o[4] == 0x00 &&
         (o[5] & 0xf0U) == 0x00;
}

const PortCounters kNoCounters{};
const PortConfig kNoConfig{};

}  // namespace

const std::array<std::string_view, Bridge::kPortCounters> Bridge::kPortCounterNames = {
    "rx_frames",
    "rx_bytes",
    "tx_frames",
    "tx_bytes",
    "rx_dropped_vlan",
    "rx_dropped_bad_src",
    "rx_dropped_reserved",
    "rx_dropped_malformed",
    "rx_filtered_same_port",
    "tx_flooded",
    "rx_dropped_oversize",
    "tx_dropped_oversize"};

Bridge::Bridge(const BridgeConfig& config)
    : config_(config), fdb_(config.fdb_capacity, config.ageing, config.seed) {
  ports_.reserve(config_.max_ports);
  // A frame of max_frame bytes fits; so does a minimum frame padded after its tag came off.
  scratch_size_ = std::max(config_.max_frame, kMinFrame + kTagLen);
  scratch_.resize(kMaxDepth * 2 * scratch_size_);
}

Result<PortId> Bridge::add_port(const PortConfig& config) {
  Port p;
  p.config = config;
  if (config.mode == PortMode::Access) {
    if (!valid_vid(config.pvid)) return fail(Errc::invalid_argument);
    p.member.set(config.pvid);
  } else {
    if (config.allowed.empty() && !config.native) return fail(Errc::invalid_argument);
    for (auto vid : config.allowed) {
      if (!valid_vid(vid)) return fail(Errc::invalid_argument);
      p.member.set(vid);
    }
    if (config.native) {
      if (!valid_vid(*config.native)) return fail(Errc::invalid_argument);
      p.member.set(*config.native);
    }
  }
  if (ports_.size() >= config_.max_ports || ports_.size() >= 0xffffU)
    return fail(Errc::no_buffer_space);
  const auto id = static_cast<PortId>(ports_.size());
  const std::string prefix = "bridge.port" + std::to_string(id) + ".";
  for (std::size_t i = 0; i < kPortCounters; ++i)
    p.names[i] = prefix + std::string(kPortCounterNames[i]);
  ports_.push_back(std::move(p));
  return id;
}

std::size_t Bridge::port_count() const {
  return ports_.size();
}

const PortConfig& Bridge::port_config(PortId port) const {
  return port < ports_.size() ? ports_[port].config : kNoConfig;
}

bool Bridge::is_member(PortId port, std::uint16_t vid) const {
  return port < ports_.size() && valid_vid(vid) && ports_[port].member.test(vid);
}

// 802.1Q-2018 §8.8.2: the untagged set. An access port sends every frame untagged; a trunk
// sends its native VLAN untagged and every other member VLAN tagged.
bool Bridge::egress_tagged(const Port& p, std::uint16_t vid) const {
  if (p.config.mode == PortMode::Access) return false;
  return !(p.config.native && *p.config.native == vid);
}

BytesMut Bridge::scratch(std::size_t depth, std::size_t which) {
  return BytesMut(scratch_).subspan((depth * 2 + which) * scratch_size_, scratch_size_);
}

// The frame without its tag. An untagged frame is sent as it came, with no copy.
Bytes Bridge::untagged_form(const Ingress& in, std::size_t depth) {
  if (!in.tagged) return in.frame;
  BytesMut out = scratch(depth, 0);
  // 802.1Q-2018 §6.9.2 (removing the tag): destination and source, then everything after the
  // 4 tag bytes (the encapsulated EtherType first).
  const std::size_t len = in.frame.size() - kTagLen;
  store_bytes(out, 0, in.frame.first(kMacsLen));
  store_bytes(out, kMacsLen, in.frame.subspan(kMacsLen + kTagLen));
  // IEEE 802.3 §4.2.3.3: a frame shorter than the minimum is padded; a minimum-size tagged
  // frame would be 4 bytes short once untagged.
  std::size_t out_len = len;
  if (in.frame.size() >= kMinFrame && len < kMinFrame) {
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(len),
              out.begin() + static_cast<std::ptrdiff_t>(kMinFrame), std::byte{0});
    out_len = kMinFrame;
  }
  return out.first(out_len);
}

// The frame with a C-tag for in.vid, keeping the PCP and DEI it came with (0 if it came
// untagged). A frame that came tagged with that VID is sent as it came. Nothing if the tag
// would make the frame longer than max_frame.
std::optional<Bytes> Bridge::tagged_form(const Ingress& in, std::size_t depth) {
  if (in.tagged && in.tag_vid == in.vid) return in.frame;
  BytesMut out = scratch(depth, 1);
  if (in.tagged) {
    // A priority tag (VID 0): the same frame with the VID filled in, PCP and DEI kept
    // (802.1Q-2018 §6.9.1).
    store_bytes(out, 0, in.frame);
    wire::VlanViewMut(out.subspan(kEthHeader, kTagLen)).set_vid(in.vid);
    return Bytes(out.first(in.frame.size()));
  }
  const std::size_t len = in.frame.size() + kTagLen;
  if (len > config_.max_frame) return std::nullopt;
  // 802.1Q-2018 §9.5, §9.6: the tag goes after the source address; its TPID takes the place
  // of the EtherType, which follows the TCI.
  store_bytes(out, 0, in.frame.first(kMacsLen));
  const wire::EthernetViewMut eth(out.first(kEthHeader));
  eth.set_ethertype(wire::EtherType::Vlan);
  const wire::VlanRepr tag{in.pcp, in.dei, in.vid, wire::EthernetView(in.frame).ethertype()};
  tag.emit(wire::VlanViewMut(out.subspan(kEthHeader, kTagLen)));
  store_bytes(out, kEthHeader + kTagLen, in.frame.subspan(kEthHeader));
  return Bytes(out.first(len));
}

void Bridge::transmit(PortId out, const Ingress& in, Variants& v, std::size_t depth, bool flooded,
                      PortSink& sink) {
  Port& p = ports_[out];
  Bytes frame;
  if (egress_tagged(p, in.vid)) {
    if (!v.tagged_built) {
      v.tagged = tagged_form(in, depth);
      v.tagged_built = true;
    }
    if (!v.tagged) {
      p.counters.tx_dropped_oversize.inc();
      return;
    }
    frame = *v.tagged;
  } else {
    if (!v.untagged) v.untagged = untagged_form(in, depth);
    frame = *v.untagged;
  }
  p.counters.tx_frames.inc();
  p.counters.tx_bytes.inc(frame.size());
  if (flooded) p.counters.tx_flooded.inc();
  sink.transmit(out, frame);
}

void Bridge::receive(PortId in, Bytes frame, Instant now, PortSink& sink) {
  if (in >= ports_.size()) {
    counters_.rx_unknown_port.inc();
    return;
  }
  latest_ = std::max(latest_, now);
  PortCounters& rc = ports_[in].counters;
  rc.rx_frames.inc();
  rc.rx_bytes.inc(frame.size());
  if (depth_ >= kMaxDepth) {
    counters_.rx_nested_too_deep.inc();
    return;
  }
  if (frame.size() > config_.max_frame) {
    rc.rx_dropped_oversize.inc();
    return;
  }
  const wire::EthernetView eth(frame);
  auto tags = wire::parse_vlan_tags(eth);
  // A frame shorter than its headers, a reserved VID (0xFFF) in a tag, or a tag stack other
  // than none or one C-tag. An 802.1ad S-tag (TPID 0x88a8, 802.1Q-2018 §9.5 Table 9-1) is a
  // provider bridge's tag; a C-VLAN bridge like this one does not relay it.
  if (!tags || tags->service) {
    rc.rx_dropped_malformed.inc();
    return;
  }
  // IEEE 802.3 §3.2.3: the first bit of a source address is 0, an individual address; a group (or
  // zero) source is not a station and is never learnt or relayed (Linux drops it too).
  const MacAddress src = eth.src();
  if (src.is_multicast() || src.is_zero()) {
    rc.rx_dropped_bad_src.inc();
    return;
  }

  // 802.1Q-2018 §6.9.1: an untagged or priority-tagged frame belongs to the port's PVID; a
  // trunk has a PVID only if it has a native VLAN. A VID-tagged frame belongs to its VID.
  Ingress ing;
  ing.frame = frame;
  const Port& ip = ports_[in];
  if (tags->customer) {
    ing.tagged = true;
    ing.tag_vid = tags->customer->vid;
    ing.pcp = tags->customer->pcp;
    ing.dei = tags->customer->dei;
  }
  if (ing.tagged && ing.tag_vid != wire::VlanRepr::kPriorityTagVid) {
    ing.vid = ing.tag_vid;
  } else if (ip.config.mode == PortMode::Access) {
    ing.vid = ip.config.pvid;
  } else if (ip.config.native) {
    ing.vid = *ip.config.native;
  } else {
    rc.rx_dropped_vlan.inc();
    return;
  }
  // 802.1Q-2018 §8.6.2: ingress filtering discards a frame whose VID the port is not a member
  // of.
  if (!ip.member.test(ing.vid)) {
    rc.rx_dropped_vlan.inc();
    return;
  }

  const MacAddress dst = eth.dst();
  // 802.1Q-2018 §8.6.3, Table 8-1: never relayed. Dropped before learning: a frame the bridge
  // drops changes nothing but counters.
  if (is_reserved_group(dst)) {
    rc.rx_dropped_reserved.inc();
    return;
  }

  // 802.1Q-2018 §8.7: learn the source on the ingress port, in the frame's VLAN.
  fdb_.learn(src, ing.vid, in, now, counters_);

  const std::size_t depth = depth_;
  ++depth_;
  struct Leave {
    std::size_t& d;
    ~Leave() { --d; }
  } leave{depth_};
  Variants v;

  // 802.1Q-2018 §8.8.9 (querying the FDB): a known individual destination goes to the one
  // port the FDB names, if that port is in the VLAN's member set (§8.6.4, egress filtering).
  if (dst.is_unicast()) {
    if (auto port = fdb_.lookup(dst, ing.vid, now, counters_)) {
      // 802.1Q-2018 §8.6.3: the reception port is never a transmission port; a frame for a
      // station on its own segment is filtered.
      if (*port == in) {
        rc.rx_filtered_same_port.inc();
        return;
      }
      if (*port < ports_.size() && ports_[*port].member.test(ing.vid))
        transmit(*port, ing, v, depth, false, sink);
      return;
    }
  }
  // 802.1Q-2018 §8.8.6 (default group filtering behaviour) / §8.6.3: an unknown individual
  // destination, a broadcast or a multicast goes to every other member port of the VLAN.
  for (std::size_t p = 0; p < ports_.size(); ++p) {
    if (p == in || !ports_[p].member.test(ing.vid)) continue;
    transmit(static_cast<PortId>(p), ing, v, depth, true, sink);
  }
}

void Bridge::poll(Instant now) {
  latest_ = std::max(latest_, now);
  fdb_.expire(now, counters_);
}

Instant Bridge::next_deadline() const {
  return fdb_.next_expiry();
}

Result<void> Bridge::add_static(MacAddress mac, std::uint16_t vid, PortId port) {
  if (mac.is_multicast() || mac.is_zero() || !valid_vid(vid) || port >= ports_.size() ||
      !ports_[port].member.test(vid))
    return fail(Errc::invalid_argument);
  return fdb_.add_static(mac, vid, port, latest_, counters_);
}

void Bridge::flush_port(PortId port) {
  fdb_.flush_port(port);
}

void Bridge::set_ageing(Duration ageing) {
  fdb_.set_ageing(ageing);
}

std::size_t Bridge::fdb_size() const {
  return fdb_.size();
}

std::size_t Bridge::fdb_capacity() const {
  return fdb_.capacity();
}

const PortCounters& Bridge::port_counters(PortId port) const {
  return port < ports_.size() ? ports_[port].counters : kNoCounters;
}

const BridgeCounters& Bridge::counters() const {
  return counters_;
}

}  // namespace tapir::bridge
