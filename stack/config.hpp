// StackConfig: every size and time of the stack in one place, validated once by Stack::create.
// Everything the stack needs is allocated there (or when a socket slot is first used); steady
// traffic afterwards allocates nothing. Every bound, when hit, drops and counts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/base/medium.hpp"
#include "stack/base/time.hpp"
#include "stack/ip/path_mtu.hpp"
#include "stack/ip/reassembler.hpp"
#include "stack/tcp/connection.hpp"
#include "stack/wire/common.hpp"

namespace tapir {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct StackConfig {
  // The one source of randomness (IP identifications, ephemeral ports, echo identifiers).
  std::uint64_t seed = 1;

  std::size_t max_interfaces = 4;
  std::size_t max_routes = 16;
  // The largest MTU an interface may have; frame buffers are sized for it.
  std::size_t max_mtu = 9000;

  // ARP (RFC 826, RFC 1122 §2.3.2.1) and the neighbour cache.
  std::size_t neighbor_cache_size = 64;
  Duration neighbor_reachable_time = seconds(30);  // then re-confirmed on use (Linux: ~30 s)
  Duration neighbor_stale_time = seconds(60);      // an unused entry is then removed
  Duration arp_retry_interval = seconds(1);        // RFC 1122 §2.3.2.1: at most one per second
  unsigned arp_max_tries = 3;
  std::size_t arp_pending_frames = 128;  // frames waiting on a resolution, all neighbours together
  std::size_t arp_pending_per_neighbor = 64;    // of those, for one neighbour (45 carry 64 KiB)
  unsigned arp_announcements = 2;               // RFC 5227 §2.3: ANNOUNCE_NUM
  Duration arp_announce_interval = seconds(2);  // RFC 5227 §2.3: ANNOUNCE_INTERVAL

  // IPv4.
  std::uint8_t default_ttl = 64;
  bool forwarding = false;  // route datagrams between interfaces (RFC 1812); off, as for a host
  ip::ReassemblyConfig reassembly;
  ip::PathMtuConfig path_mtu;  // RFC 1191: what fragmentation-needed messages taught

  // ICMP errors are rate limited by a token bucket (RFC 1122 §3.2.2, RFC 1812 §4.3.2.8).
  unsigned icmp_error_burst = 50;
  Duration icmp_error_interval = milliseconds(20);  // one token per interval

  // Sockets.
  std::size_t max_udp_sockets = 16;
  std::size_t udp_rx_bytes = 208 * 1024;  // Linux's default rmem
  std::size_t udp_tx_bytes = 96 * 1024;
  std::size_t udp_queue_datagrams = 256;
  std::size_t max_icmp_sockets = 8;
  std::size_t icmp_rx_bytes = 128 * 1024;
  std::uint16_t ephemeral_port_min = 32768;  // Linux's ip_local_port_range
  std::uint16_t ephemeral_port_max = 60999;

  // TCP (RFC 9293). A connection's buffers are allocated the first time its slot is used and
  // kept for the slot's later connections.
  std::size_t max_tcp_connections = 256;  // at once, in any state
  std::size_t max_tcp_listeners = 16;
  // Connections in TIME-WAIT are kept apart, in a small entry each (tcp/time_wait.hpp); when
  // the table is full the oldest is cut short (counted).
  std::size_t tcp_time_wait_slots = 4096;
  std::size_t tcp_max_backlog = 4096;  // the largest listen() backlog (Linux's somaxconn)
  // RFC 4987 §3.6: answer SYNs with cookies when a listener's SYN queue (or the connection
  // table) is full, so a SYN flood cannot deny a legitimate connection (Linux's tcp_syncookies=1).
  bool tcp_syn_cookies = true;
  tcp::ConnectionConfig tcp;  // every connection's buffer sizes, timers and options

  wire::ChecksumPolicy checksums = wire::ChecksumPolicy::all();
};

// An interface of the stack: the index add_interface() gave it (0, 1, ... in order).
using InterfaceId = std::uint16_t;

// One interface. An interface without `link` owns a device: the driver hands that device's
// frames to Stack::receive() with this interface's id and sends the frames the sink gets for
// it. An interface with `link` is carried by its link's device, like Linux's eth0.10 on eth0:
// the stack takes its frames out of the link's by their VLAN tags and sends its frames through
// the link's device. A device carries at most one interface per (service_vlan, vlan) pair: an
// untagged one, tagged ones, and 802.1ad ones; the owner itself may be tagged (a device that
// carries VLAN 10 only). See docs/vlan.md.
struct InterfaceConfig {
  Medium medium = Medium::Ethernet;
  // Ethernet only; must be unicast. An interface with a link may leave it zero: it then takes
  // its link's MAC (as Linux's VLAN devices do).
  MacAddress mac;
  std::size_t mtu = 1500;  // the IP MTU: tags do not eat into it (frames grow by 4 per tag)
  Ipv4Cidr address;
  // IEEE 802.1Q: the VID (1..4094) of the C-tag (TPID 0x8100) on this interface's frames;
  // none: its frames are untagged (or carry only the S-tag).
  std::optional<std::uint16_t> vlan = std::nullopt;
  // IEEE 802.1ad (QinQ): the S-VID (1..4094) of an outer service tag (TPID 0x88a8); none: no
  // S-tag. Received S-tagged frames that no interface's pair matches are dropped and counted.
  std::optional<std::uint16_t> service_vlan = std::nullopt;
  // IEEE 802.1Q-2018 §9.6: the priority code point (0..7) of every tag this interface
  // writes (DEI is 0). Received PCP and DEI are not acted on.
  std::uint8_t pcp = 0;
  // The interface whose device carries this one (an Ethernet interface without a link).
  std::optional<InterfaceId> link = std::nullopt;
  // The largest frame (link header included) the device cuts into TCP segments itself, TSO
  // (frame_info.hpp); 0: none. Then the stack joins back-to-back full-sized segments of one
  // connection into frames up to this size, their checksums left to the device. Only for a
  // driver that carries FrameInfo (drivers/tap with offloads on).
  std::size_t gso_max_size = 0;
};

}  // namespace tapir
