#include "stack/ip/reassembler.hpp"

#include <algorithm>
#include <iterator>

namespace tapir::ip {

namespace {

// now + timeout, saturating at kNever (a timeout below zero counts as zero).
Instant deadline_after(Instant now, Duration timeout) {
  if (timeout <= Duration::zero()) return now;
  if (now > kNever - timeout) return kNever;
  return now + timeout;
}

}  // namespace

Reassembler::Reassembler(const ReassemblyConfig& config)
    : config_(config),
      slots_(config.slots),
      buffers_(config.slots * max_datagram_len),
      pieces_(config.slots * config.max_fragments) {}

std::optional<Reassembler::Datagram> Reassembler::on_fragment(const wire::Ipv4Repr& header,
                                                              Bytes header_bytes, Bytes payload,
                                                              Instant now) {
  counters_.fragments.inc();
  // Not a fragment at all (offset 0, no more fragments): the caller delivers such a datagram
  // itself; handing it here is a caller error, counted as a bad fragment.
  if (!header.more_frags && header.frag_offset == 0) {
    counters_.bad_fragment.inc();
    return std::nullopt;
  }
  // The payload must be what the header declares, and the header at most 60 bytes (RFC 791
  // §3.1: IHL is at most 15 words).
  if (payload.size() != header.payload_len ||
      header_bytes.size() > wire::Ipv4View::max_header_len) {
    counters_.bad_fragment.inc();
    return std::nullopt;
  }
  // RFC 791 §3.1: the fragment offset is measured in units of 8 octets.
  // RFC 791 §2.3: every fragment but the last carries a multiple of 8 octets of data.
  // An empty fragment adds nothing (Linux drops it too). These drop the fragment only.
  if (header.frag_offset % 8 != 0 || (header.more_frags && payload.size() % 8 != 0) ||
      payload.empty()) {
    counters_.bad_fragment.inc();
    return std::nullopt;
  }

  auto index = find(header);
  if (!index) {
    index = take_slot();
    Slot& s = slots_[*index];
    s = Slot{};
    s.used = true;
    s.src = header.src;
    s.dst = header.dst;
    s.protocol = header.protocol;
    s.ident = header.ident;
    // RFC 791 §3.2: the timer starts when the first-arriving fragment of a datagram arrives.
    s.expires = deadline_after(now, config_.timeout);
    ++in_use_;
  }

  const std::size_t i = *index;
  switch (add(i, header, header_bytes, payload)) {
    case Outcome::pending:
      // A new datagram whose only fragment was dropped holds nothing: free its slot.
      if (slots_[i].pieces == 0) release(i);
      return std::nullopt;
    case Outcome::dropped:
      release(i);
      return std::nullopt;
    case Outcome::complete:
      break;
  }
  const Slot& s = slots_[i];
  Datagram d;
  // RFC 791 §3.2: the header of the fragment at offset 0 is the datagram's header (its options
  // are the datagram's); the fragment fields are cleared and the length is the whole payload.
  d.header = s.first_header;
  d.header.more_frags = false;
  d.header.frag_offset = 0;
  d.header.payload_len = s.end;
  d.payload = Bytes(buffer(i)).first(s.end);
  counters_.ok.inc();
  // The buffer is not touched by release(): the payload stays valid until the next call.
  release(i);
  return d;
}

Reassembler::Outcome Reassembler::add(std::size_t slot, const wire::Ipv4Repr& header,
                                      Bytes header_bytes, Bytes payload) {
  Slot& s = slots_[slot];
  const std::size_t offset = header.frag_offset;
  const std::size_t len = payload.size();
  const std::size_t end = offset + len;
  const bool first = offset == 0;

  // RFC 791 §3.1: a datagram is at most 65,535 octets, header included. This fragment's own
  // header bounds its end (as Linux checks); the datagram's header (that of the fragment at
  // offset 0, once it has arrived) bounds every byte held.
  const std::size_t datagram_header_len =
      first ? header.header_len() : (s.has_first ? s.first_header.header_len() : 0);
  if (end + header.header_len() > max_datagram_len ||
      std::max(end, s.max_end) + datagram_header_len > max_datagram_len) {
    counters_.too_big.inc();
    return Outcome::dropped;
  }

  // RFC 791 §3.2: the last fragment (more_frags clear) fixes the datagram's length. A second
  // last fragment with a different end, a last fragment ending before bytes already held, or a
  // fragment ending past the known end are fragments disagreeing about the datagram, like an
  // overlap: the whole datagram is dropped and counted as `overlap` (not `bad_fragment`, which
  // drops one malformed fragment and lets the datagram continue).
  if (!header.more_frags) {
    if ((s.has_last && end != s.end) || end < s.max_end) {
      counters_.overlap.inc();
      return Outcome::dropped;
    }
  } else if (s.has_last && end > s.end) {
    counters_.overlap.inc();
    return Outcome::dropped;
  }

  const gsl::span<Piece> table = pieces(slot);
  const auto held = table.first(s.pieces);
  // The first piece starting at or after this fragment's offset.
  const auto next = std::lower_bound(held.begin(), held.end(), offset,
                                     [](const Piece& p, std::size_t o) { return p.offset < o; });
  if (next != held.end() && next->offset == offset && next->len == len) {
    // An exact duplicate (same offset, same length) is ignored; the datagram continues. A
    // duplicate that is the last fragment still fixes the end (checked consistent above).
    counters_.duplicate.inc();
    if (!header.more_frags && !s.has_last) {
      s.has_last = true;
      s.end = end;
    }
    return s.has_last && s.held == s.end ? Outcome::complete : Outcome::pending;
  }
  // RFC 5722 §4 (applied to IPv4, as Linux does): if any fragment overlaps one already held,
  // the whole datagram is silently discarded.
  const bool overlaps_next = next != held.end() && next->offset < end;
  const bool overlaps_prev =
      next != held.begin() && std::prev(next)->offset + std::size_t{std::prev(next)->len} > offset;
  if (overlaps_next || overlaps_prev) {
    counters_.overlap.inc();
    return Outcome::dropped;
  }

  // At most max_fragments fragments per datagram: one more drops the datagram.
  if (s.pieces >= config_.max_fragments) {
    counters_.too_many_fragments.inc();
    return Outcome::dropped;
  }
  // At most max_bytes held across all slots: the fragment is dropped, the datagram continues.
  if (len > config_.max_bytes - std::min(bytes_held_, config_.max_bytes)) {
    counters_.no_memory.inc();
    return Outcome::pending;
  }

  store_bytes(buffer(slot), offset, payload);
  const auto at = static_cast<std::size_t>(next - held.begin());
  std::copy_backward(table.begin() + static_cast<std::ptrdiff_t>(at),
                     table.begin() + static_cast<std::ptrdiff_t>(s.pieces),
                     table.begin() + static_cast<std::ptrdiff_t>(s.pieces + 1));
  table[at] = Piece{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(len)};
  ++s.pieces;
  s.held += len;
  bytes_held_ += len;
  s.max_end = std::max(s.max_end, end);
  if (!header.more_frags) {
    s.has_last = true;
    s.end = end;
  }
  if (first) {
    // RFC 791 §3.2: the header of the fragment at offset 0 becomes the datagram's header; its
    // raw bytes are kept so an ICMP time exceeded can quote them (RFC 792).
    s.has_first = true;
    s.first_len = len;
    s.first_header = header;
    std::copy(header_bytes.begin(), header_bytes.end(), s.first_header_bytes.begin());
    s.first_header_bytes_len = header_bytes.size();
  }
  // RFC 791 §3.2: complete when the last fragment has arrived and every byte before its end is
  // held. The pieces never overlap and none ends past `end`, so held == end means all covered.
  return s.has_last && s.held == s.end ? Outcome::complete : Outcome::pending;
}

Instant Reassembler::next_deadline() const {
  Instant earliest = kNever;
  for (const Slot& s : slots_) {
    if (s.used) earliest = std::min(earliest, s.expires);
  }
  return earliest;
}

std::optional<std::size_t> Reassembler::find(const wire::Ipv4Repr& header) const {
  // RFC 791 §3.2: fragments belong to the same datagram when source, destination, protocol and
  // identification all match.
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.used && s.src == header.src && s.dst == header.dst && s.protocol == header.protocol &&
        s.ident == header.ident) {
      return i;
    }
  }
  return std::nullopt;
}

std::size_t Reassembler::take_slot() {
  std::size_t oldest = 0;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].used) return i;
    if (slots_[i].expires < slots_[oldest].expires) oldest = i;
  }
  release(oldest);
  counters_.evicted.inc();
  return oldest;
}

void Reassembler::release(std::size_t slot) {
  Slot& s = slots_[slot];
  if (!s.used) return;
  bytes_held_ -= s.held;
  --in_use_;
  s.used = false;
  s.pieces = 0;
  s.held = 0;
}

BytesMut Reassembler::buffer(std::size_t slot) {
  return BytesMut(buffers_).subspan(slot * max_datagram_len, max_datagram_len);
}

gsl::span<Reassembler::Piece> Reassembler::pieces(std::size_t slot) {
  return gsl::span<Piece>(pieces_).subspan(slot * config_.max_fragments, config_.max_fragments);
}

}  // namespace tapir::ip
