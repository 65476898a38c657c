// The options of a connection's handshake: what we offer in our SYN or SYN-ACK (MSS, RFC 9293
// §3.7.1 / RFC 6691; window scale and timestamps, RFC 7323; SACK-permitted, RFC 2018), what
// both ends agreed, the timestamp clock, and PAWS (RFC 7323 §5). Pure functions over reprs: no
// clock, no state; the connection keeps TS.Recent and calls these.
//
// Choices, and how they compare with Linux:
//  - Our window scale is the smallest shift that lets recv_buffer be advertised in 16 bits, at
//    most 14: Linux's loop in tcp_select_initial_window(), but run on the buffer we actually
//    have (fixed, allocated once) rather than on the most Linux's buffer may auto-tune up to
//    (max(tcp_rmem[2], rmem_max)). So a 256 KiB buffer gets shift 3 where Linux, planning for
//    32 MiB, sends 10.
//  - The peer's MSS is floored at 48 bytes (Linux's net.ipv4.tcp_min_snd_mss, CVE-2019-11479)
//    so a tiny advertised MSS cannot make us cut data into millions of segments.
//  - PAWS rejects exactly when RFC 7323 §5.3 R1 says: SEG.TSval < TS.Recent. Linux allows one
//    tick of slack (TCP_PAWS_WINDOW); we do not.
//  - TS.Recent is updated by RFC 7323 §4.3's rule (SEG.SEQ <= Last.ACK.sent), not RFC 1323's
//    older SEG.SEQ <= Last.ACK.sent < SEG.SEQ + SEG.LEN, which never held for a bare ACK. Linux
//    (tcp_replace_ts_recent) applies the same rule.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "stack/base/time.hpp"
#include "stack/wire/seq_num.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir::tcp {

// What this end offers.
struct LocalOptions {
  std::size_t mtu = 1500;       // of the interface (or the path MTU) the connection uses
  std::size_t recv_buffer = 0;  // the receive buffer's size, the most we will ever advertise
  bool sack = true;             // RFC 2018
  bool timestamps = true;       // RFC 7323 §3
  bool window_scaling = true;   // RFC 7323 §2
};

// RFC 9293 §3.7.1 / RFC 1122 §4.2.2.6: the send MSS when the peer sent no MSS option.
inline constexpr std::uint16_t kDefaultMss = 536;
// Linux's net.ipv4.tcp_min_snd_mss default: the smallest send MSS we accept from a peer.
inline constexpr std::uint16_t kMinSendMss = 48;
// RFC 7323 §2.3: the largest window scale shift.
inline constexpr std::uint8_t kMaxWindowScale = 14;
// RFC 7323 §3.2: the timestamps option as Linux lays it out (NOP NOP TS) takes 12 bytes.
inline constexpr std::uint16_t kTimestampsOptionLen = 12;
// RFC 7323 §5.5: TS.Recent older than this is invalid and not used by PAWS.
inline constexpr Duration kPawsIdleLimit = std::chrono::hours(24 * 24);

// RFC 9293 §3.7.1, RFC 6691: the MSS we advertise, the MTU less the IPv4 and TCP headers
// without options (40). Requires mtu >= 68 (RFC 791's minimum).
std::uint16_t local_mss(const LocalOptions& local);
// RFC 7323 §2.3: our window scale shift (0 when window scaling is off).
std::uint8_t local_window_scale(const LocalOptions& local);

// Sets the option fields of our SYN (active open): MSS; window scale, SACK-permitted and
// timestamps (TSval = ts_val, TSecr = 0 as ACK is not set, RFC 7323 §3.2) as local enables.
// Clears SACK blocks. Ports, sequence numbers, flags and window are the caller's.
void fill_syn_options(wire::TcpRepr& syn, const LocalOptions& local, std::uint32_t ts_val);
// Sets the option fields of our SYN-ACK in reply to their_syn: MSS always; window scale,
// SACK-permitted and timestamps only if local enables them *and* their_syn offered them (RFC
// 7323 §1.3, §2.2, §3.2; RFC 2018 §2). TSecr echoes their TSval.
void fill_syn_ack_options(wire::TcpRepr& syn_ack, const LocalOptions& local,
                          const wire::TcpRepr& their_syn, std::uint32_t ts_val);

// What both ends agreed, from our options and the peer's SYN (passive open) or SYN-ACK (active
// open). Consistent with what fill_syn_options / fill_syn_ack_options sent.
struct Negotiated {
  std::uint16_t send_mss = kDefaultMss;  // the most data per segment, TCP options not counted
  std::uint8_t snd_wscale = 0;           // Snd.Wind.Shift: applied to windows the peer sends
  std::uint8_t rcv_wscale = 0;           // Rcv.Wind.Shift: applied to windows we send
  bool sack = false;
  bool timestamps = false;

  // RFC 9293 §3.7.1 (Eff.snd.MSS): the data per segment once the options every segment carries
  // are counted: send_mss less 12 with timestamps (1448 for 1460). SACK blocks, carried only
  // sometimes, are the sender's to subtract.
  std::uint16_t seg_data_len() const;

  bool operator==(const Negotiated&) const = default;
};

Negotiated negotiate(const LocalOptions& local, const wire::TcpRepr& their_syn_or_syn_ack);

// RFC 7323 §5.4: the timestamp clock, 1 ms a tick (as Linux), modulo 2^32. A per-connection
// offset (RFC 7323 §7.1, Linux's tsoffset) is the caller's to add, modulo 2^32.
std::uint32_t ts_clock(Instant now);

// RFC 7323 §5.3 R1, for a segment that carries timestamps: true when it is to be dropped (and
// answered with an ACK unless it is a RST): SEG.TSval < TS.Recent in 32-bit modular terms,
// TS.Recent is valid (recorded no more than 24 days before now, §5.5), and the segment is not
// a RST. ts_recent_at is when TS.Recent was recorded.
bool paws_rejects(std::uint32_t seg_tsval, std::uint32_t ts_recent, Instant ts_recent_at,
                  Instant now, bool rst);

// RFC 7323 §4.3 (2) and §5.3 R3: true when SEG.TSval is to be copied to TS.Recent (and now to
// ts_recent_at): SEG.TSval >= TS.Recent (or TS.Recent is invalid, §5.5) and SEG.SEQ <=
// Last.ACK.sent. Call for a segment that passed PAWS and the acceptability check, never for a
// RST (RFC 7323 §5.2: a RST's timestamps MUST NOT update connection state).
bool update_ts_recent(std::uint32_t seg_tsval, wire::SeqNum seg_seq, wire::SeqNum last_ack_sent,
                      std::uint32_t ts_recent, Instant ts_recent_at, Instant now);

}  // namespace tapir::tcp
