// A describer for any frame, layer by layer, in the spirit of `tcpdump -e -n -S`:
//
//   0a:11:22:33:44:01 > ff:ff:ff:ff:ff:ff, ARP, Request who-has 10.0.0.2 tell 10.0.0.1
//   0a:..:01 > 0a:..:02, IPv4 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 1, length 64
//   0a:..:01 > 0a:..:02, IPv4 10.0.0.1.41234 > 10.0.0.2.80: TCP Flags [S], seq 1, win 64240,
//       options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
//
// describe() writes one line (no newline) for trace logs; describe_verbose() writes one line
// per layer, every field as `key value` pairs, for tapir-decode -v and for learners. Both walk
// the layers with checked views: a layer that fails check() is printed as `[IPv4: truncated]`
// and the walk stops. Neither reads past the frame nor allocates beyond the output buffer.
#pragma once

#include <string>

#include <fmt/format.h>

#include "stack/base/bytes.hpp"
#include "stack/wire/pcap.hpp"

namespace tapir::wire {

using DescribeBuffer = fmt::memory_buffer;

void describe(DescribeBuffer& out, Bytes frame, LinkType link = LinkType::Ethernet);
void describe_verbose(DescribeBuffer& out, Bytes frame, LinkType link = LinkType::Ethernet);

std::string describe(Bytes frame, LinkType link = LinkType::Ethernet);

}  // namespace tapir::wire
