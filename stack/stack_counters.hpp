// The stack's named counters, one struct per layer (`<layer>.<rx|tx>_<reason>`). Every frame the
// stack drops increments exactly one rx_/tx_ drop counter; the rest count traffic.
#pragma once

#include "stack/base/counters.hpp"

namespace tapir {

struct EthCounters {
  Counter rx_frames, tx_frames;
  Counter rx_tagged_frames, tx_tagged_frames;  // of those, with an 802.1Q or 802.1ad tag
  Counter rx_truncated, rx_not_for_us, rx_own_source, rx_unknown_ethertype, rx_no_interface;
  // IEEE 802.1Q on a device (docs/vlan.md): the frames none of the device's interfaces takes.
  Counter rx_unknown_vlan, rx_untagged, rx_service_tagged, rx_bad_vlan;
  template <class F>
  void for_each_counter(F&& f) const {
    f("eth.rx_frames", rx_frames);
    f("eth.tx_frames", tx_frames);
    f("eth.rx_tagged_frames", rx_tagged_frames);  // taken by a tagged interface (not a drop)
    f("eth.tx_tagged_frames", tx_tagged_frames);
    f("eth.rx_truncated", rx_truncated);
    f("eth.rx_not_for_us", rx_not_for_us);
    f("eth.rx_own_source", rx_own_source);
    f("eth.rx_unknown_ethertype", rx_unknown_ethertype);
    f("eth.rx_no_interface", rx_no_interface);  // receive() named no interface of this stack
    // A C-tag whose VID no interface has; an untagged or priority-tagged frame and no untagged
    // interface; an 802.1ad S-tag no interface takes; a tag stack that does not parse (VID
    // 4095, a tag cut short, a C-tag in a C-tag, three tags).
    f("eth.rx_unknown_vlan", rx_unknown_vlan);
    f("eth.rx_untagged", rx_untagged);
    f("eth.rx_service_tagged", rx_service_tagged);
    f("eth.rx_bad_vlan", rx_bad_vlan);
  }
};

struct ArpCounters {
  Counter rx_requests, rx_replies, tx_requests, tx_replies, tx_announcements;
  Counter rx_malformed, rx_unsupported, rx_bad_sender, rx_not_for_us;
  template <class F>
  void for_each_counter(F&& f) const {
    f("arp.rx_requests", rx_requests);
    f("arp.rx_replies", rx_replies);
    f("arp.tx_requests", tx_requests);
    f("arp.tx_replies", tx_replies);
    f("arp.tx_announcements", tx_announcements);
    f("arp.rx_malformed", rx_malformed);
    f("arp.rx_unsupported", rx_unsupported);
    f("arp.rx_bad_sender", rx_bad_sender);
    f("arp.rx_not_for_us", rx_not_for_us);
  }
};

struct Ipv4Counters {
  Counter rx_packets, rx_delivered, tx_packets, tx_fragments, rx_forwarded;
  Counter rx_truncated, rx_bad_version, rx_bad_header_len, rx_bad_length, rx_bad_checksum;
  Counter rx_bad_source, rx_not_for_us, rx_unknown_protocol, rx_ttl_expired, rx_no_route;
  Counter rx_frag_needed, rx_martian, tx_no_route, tx_too_big;
  template <class F>
  void for_each_counter(F&& f) const {
    f("ipv4.rx_packets", rx_packets);
    f("ipv4.rx_delivered", rx_delivered);
    f("ipv4.tx_packets", tx_packets);
    f("ipv4.tx_fragments", tx_fragments);
    f("ipv4.rx_forwarded", rx_forwarded);
    f("ipv4.rx_truncated", rx_truncated);
    f("ipv4.rx_bad_version", rx_bad_version);
    f("ipv4.rx_bad_header_len", rx_bad_header_len);
    f("ipv4.rx_bad_length", rx_bad_length);
    f("ipv4.rx_bad_checksum", rx_bad_checksum);
    f("ipv4.rx_bad_source", rx_bad_source);
    f("ipv4.rx_not_for_us", rx_not_for_us);
    f("ipv4.rx_unknown_protocol", rx_unknown_protocol);
    f("ipv4.rx_ttl_expired", rx_ttl_expired);
    f("ipv4.rx_no_route", rx_no_route);
    f("ipv4.rx_frag_needed", rx_frag_needed);
    f("ipv4.rx_martian", rx_martian);
    f("ipv4.tx_no_route", tx_no_route);
    f("ipv4.tx_too_big", tx_too_big);
  }
};

struct IcmpCounters {
  Counter rx_messages, tx_messages, rx_echo_requests, tx_echo_replies, rx_errors, tx_errors;
  Counter rx_malformed, rx_bad_checksum, rx_broadcast_echo, rx_no_socket, rx_queue_full,
      tx_rate_limited;
  template <class F>
  void for_each_counter(F&& f) const {
    f("icmp.rx_messages", rx_messages);
    f("icmp.tx_messages", tx_messages);
    f("icmp.rx_echo_requests", rx_echo_requests);
    f("icmp.tx_echo_replies", tx_echo_replies);
    f("icmp.rx_errors", rx_errors);
    f("icmp.tx_errors", tx_errors);
    f("icmp.rx_malformed", rx_malformed);
    f("icmp.rx_bad_checksum", rx_bad_checksum);
    f("icmp.rx_broadcast_echo", rx_broadcast_echo);
    f("icmp.rx_no_socket", rx_no_socket);
    f("icmp.rx_queue_full", rx_queue_full);
    f("icmp.tx_rate_limited", tx_rate_limited);
  }
};

struct UdpCounters {
  Counter rx_datagrams, tx_datagrams;
  Counter rx_malformed, rx_bad_checksum, rx_no_socket, rx_queue_full, tx_dropped;
  template <class F>
  void for_each_counter(F&& f) const {
    f("udp.rx_datagrams", rx_datagrams);
    f("udp.tx_datagrams", tx_datagrams);
    f("udp.rx_malformed", rx_malformed);
    f("udp.rx_bad_checksum", rx_bad_checksum);
    f("udp.rx_no_socket", rx_no_socket);
    f("udp.rx_queue_full", rx_queue_full);
    f("udp.tx_dropped", tx_dropped);
  }
};

struct TcpCounters {
  Counter rx_segments, tx_resets;
  Counter rx_malformed, rx_bad_checksum, rx_no_socket;
  Counter tx_segments, tx_no_route;
  Counter active_opens, passive_opens;
  Counter listen_drops;        // SYNs dropped: the accept queue was full (Linux: ListenDrops)
  Counter listen_overflows;    // handshake-completing ACKs dropped: the accept queue was full
                               // (Linux: ListenOverflows)
  Counter no_slot;             // SYNs without a free connection slot (and no cookies)
  Counter syn_cookies_sent;    // RFC 4987 §3.6
  Counter syn_cookies_ok;      // final ACKs whose cookie checked out: a connection made
  Counter syn_cookies_failed;  // ACKs to a listener with a bad or stale cookie: reset
  Counter tx_gso_frames;       // segments joined into one frame the device cuts up (TSO)
  Counter tx_gso_joined;       // of tx_segments, those that went inside such a frame
  Counter tx_gso_unresolved;   // such a frame had no neighbour to go to: dropped
  template <class F>
  void for_each_counter(F&& f) const {
    f("tcp.rx_segments", rx_segments);
    f("tcp.tx_resets", tx_resets);
    f("tcp.rx_malformed", rx_malformed);
    f("tcp.rx_bad_checksum", rx_bad_checksum);
    f("tcp.rx_no_socket", rx_no_socket);  // answered with a RST unless it was one
    f("tcp.tx_segments", tx_segments);
    f("tcp.tx_no_route", tx_no_route);
    f("tcp.active_opens", active_opens);
    f("tcp.passive_opens", passive_opens);
    f("tcp.listen_drops", listen_drops);
    f("tcp.listen_overflows", listen_overflows);
    f("tcp.no_slot", no_slot);
    f("tcp.syn_cookies_sent", syn_cookies_sent);
    f("tcp.syn_cookies_ok", syn_cookies_ok);
    f("tcp.syn_cookies_failed", syn_cookies_failed);
    f("tcp.tx_gso_frames", tx_gso_frames);
    f("tcp.tx_gso_joined", tx_gso_joined);
    f("tcp.tx_gso_unresolved", tx_gso_unresolved);
  }
};

struct StackCounters {
  EthCounters eth;
  ArpCounters arp;
  Ipv4Counters ipv4;
  IcmpCounters icmp;
  UdpCounters udp;
  TcpCounters tcp;
  template <class F>
  void for_each_counter(F&& f) const {
    eth.for_each_counter(f);
    arp.for_each_counter(f);
    ipv4.for_each_counter(f);
    icmp.for_each_counter(f);
    udp.for_each_counter(f);
    tcp.for_each_counter(f);
  }
};

}  // namespace tapir
