// IPv4 fragment reassembly (RFC 791 §3.2, with the host requirements of RFC 1122 §3.3.2).
//
// A fixed number of slots, each reassembling one datagram into its own 65535-byte buffer; a
// fragment table per slot (sorted by offset, never overlapping) says which bytes have arrived.
// Everything is allocated by the constructor; on_fragment() and poll() never allocate.
//
// What is dropped, and counted (ReassemblyCounters):
//  - a malformed fragment (bad_fragment): the fragment only, the datagram continues;
//  - an exact duplicate (duplicate): the fragment only;
//  - a fragment that would push bytes_held() past max_bytes (no_memory): the fragment only;
//  - when a new datagram finds every slot in use, the oldest datagram (the first to start) is
//    dropped to make room (evicted), as Linux's fragment evictor does: incomplete datagrams,
//    whose fragments were lost, must not hold every slot until they time out;
//  - an overlap, or fragments disagreeing about where the datagram ends (overlap), a datagram
//    longer than 65535 bytes (too_big), more than max_fragments fragments (too_many_fragments):
//    the whole datagram, its slot freed;
//  - a datagram whose timer runs out (timeout), in poll().
//
// Time only moves in poll(): on_fragment() uses `now` to start a new datagram's timer and does
// not expire anything itself.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/base/time.hpp"
#include "stack/wire/ipv4.hpp"

namespace tapir::ip {

struct ReassemblyConfig {
  std::size_t slots = 16;               // datagrams being reassembled at once
  std::size_t max_bytes = 1024 * 1024;  // payload bytes held across all slots
  // RFC 791 §3.2: a timer bounds the reassembly of each datagram. Linux fixes it at 30 s
  // (net.ipv4.ipfrag_time); RFC 1122 §3.3.2 recommends 60 to 120 s.
  Duration timeout = std::chrono::seconds(30);
  std::size_t max_fragments = 64;  // per datagram
};

struct ReassemblyCounters {
  Counter fragments;           // every fragment handed to on_fragment()
  Counter ok;                  // datagrams completed
  Counter timeout;             // datagrams dropped by their timer
  Counter overlap;             // datagrams dropped: overlapping or disagreeing fragments
  Counter duplicate;           // exact duplicate fragments ignored
  Counter too_big;             // datagrams dropped: longer than 65535 bytes
  Counter evicted;             // datagrams dropped, oldest first, to make room for a new one
  Counter no_memory;           // fragments dropped: max_bytes would be exceeded
  Counter bad_fragment;        // fragments dropped: bad length or not a fragment
  Counter too_many_fragments;  // datagrams dropped: more than max_fragments fragments

  template <class F>
  void for_each_counter(F&& f) const {
    f("ipv4.reasm_fragments", fragments);
    f("ipv4.reasm_ok", ok);
    f("ipv4.reasm_timeout", timeout);
    f("ipv4.reasm_overlap", overlap);
    f("ipv4.reasm_duplicate", duplicate);
    f("ipv4.reasm_too_big", too_big);
    f("ipv4.reasm_evicted", evicted);
    f("ipv4.reasm_no_memory", no_memory);
    f("ipv4.reasm_bad_fragment", bad_fragment);
    f("ipv4.reasm_too_many_fragments", too_many_fragments);
  }
};

class Reassembler {
 public:
  // RFC 791 §3.1: Total Length, header included, is at most 65,535 octets.
  static constexpr std::size_t max_datagram_len = 0xffff;

  // Allocates everything here: slots x 65535-byte buffers and the fragment tables.
  explicit Reassembler(const ReassemblyConfig& config);
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  struct Datagram {
    // The header of the fragment at offset 0 (RFC 791 §3.2: its options are the datagram's),
    // with more_frags = false, frag_offset = 0 and payload_len the whole payload's length.
    wire::Ipv4Repr header;
    // The reassembled payload; valid until the next call to on_fragment() or poll().
    Bytes payload;
  };

  // header: the parsed repr of one fragment (more_frags set or frag_offset != 0);
  // header_bytes: its raw IP header (at most 60 bytes; kept for the fragment at offset 0 so an
  // ICMP time exceeded can quote it); payload: the fragment's payload, header.payload_len bytes.
  // Returns the whole datagram when this fragment completes it.
  std::optional<Datagram> on_fragment(const wire::Ipv4Repr& header, Bytes header_bytes,
                                      Bytes payload, Instant now);

  // Drops every datagram whose timer (started by its first-arriving fragment) has run out at
  // `now`, counting each in `timeout`. For each one whose fragment at offset 0 had arrived, calls
  // on_expired(Bytes first_header_bytes, Bytes first_fragment_payload) before freeing it, so the
  // stack can send an ICMP time exceeded, code 1 (RFC 792). The callback must not call back into
  // the reassembler; the spans are valid only during the call.
  template <class F>
  void poll(Instant now, F&& on_expired) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (!s.used || s.expires > now) continue;
      counters_.timeout.inc();
      // RFC 1122 §3.3.2: on timeout, send a time exceeded only if fragment zero is available.
      if (s.has_first) {
        on_expired(Bytes(s.first_header_bytes).first(s.first_header_bytes_len),
                   Bytes(buffer(i)).first(s.first_len));
      }
      release(i);
    }
  }

  // The earliest expiry of a datagram being reassembled, or kNever.
  Instant next_deadline() const;
  // Slots in use.
  std::size_t in_use() const { return in_use_; }
  // Payload bytes held across all slots.
  std::size_t bytes_held() const { return bytes_held_; }
  const ReassemblyCounters& counters() const { return counters_; }
  const ReassemblyConfig& config() const { return config_; }

 private:
  // One held fragment: payload bytes [offset, offset + len).
  struct Piece {
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
  };

  struct Slot {
    bool used = false;
    // RFC 791 §3.2: the buffer identifier is source, destination, protocol and identification.
    Ipv4Address src;
    Ipv4Address dst;
    wire::IpProtocol protocol{};
    std::uint16_t ident = 0;
    Instant expires{};
    bool has_first = false;     // the fragment at offset 0 has arrived
    bool has_last = false;      // the last fragment (more_frags clear) has arrived: `end` is known
    std::size_t end = 0;        // the payload length, once has_last
    std::size_t max_end = 0;    // the largest offset + len held
    std::size_t held = 0;       // payload bytes held
    std::size_t first_len = 0;  // payload length of the fragment at offset 0
    wire::Ipv4Repr first_header;
    std::array<std::byte, wire::Ipv4View::max_header_len> first_header_bytes{};
    std::size_t first_header_bytes_len = 0;
    std::size_t pieces = 0;  // entries used in this slot's part of pieces_
  };

  // What add() did with a fragment: the datagram goes on (the fragment held or dropped), is
  // complete, or was dropped whole.
  enum class Outcome : std::uint8_t { pending, complete, dropped };

  std::optional<std::size_t> find(const wire::Ipv4Repr& header) const;
  // A free slot, else the one whose datagram started first, emptied (counted as evicted).
  std::size_t take_slot();
  Outcome add(std::size_t slot, const wire::Ipv4Repr& header, Bytes header_bytes, Bytes payload);
  void release(std::size_t slot);
  BytesMut buffer(std::size_t slot);
  gsl::span<Piece> pieces(std::size_t slot);

  ReassemblyConfig config_;
  std::vector<Slot> slots_;
  std::vector<std::byte> buffers_;  // slots x max_datagram_len
  std::vector<Piece> pieces_;       // slots x max_fragments
  std::size_t in_use_ = 0;
  std::size_t bytes_held_ = 0;
  ReassemblyCounters counters_;
};

}  // namespace tapir::ip
