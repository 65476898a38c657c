// A test program, not an app: opens a TAP (or, with --tun, a TUN) by name and, for a bounded
// time and a bounded number of frames, answers ARP requests for its address and ICMP echo
// requests to it, using only the wire codecs and TapDevice. tap_kernel_ping.sh points the
// kernel's ping and arping at it.
//
//   tap_responder --dev tap0 --ip 10.0.0.2 [--mac 02:00:00:00:00:02] [--seconds 10]
//                 [--max-frames 10000] [--tun]
//
// Exits 0 after the time or the frames are used up (or on SIGTERM/SIGINT), printing how many
// frames it received, answered and dropped; 2 with one line on stderr for a bad command line
// or a device it cannot open; 1 if the device fails while running.
#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <poll.h>
#include <string>
#include <string_view>

#include "drivers/tap/tap_device.hpp"
#include "stack/wire/arp.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"

namespace {

using namespace tapir;  // NOLINT(build/namespaces): a test program
using drivers::Medium;
using drivers::TapConfig;
using drivers::TapDevice;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int /*sig*/) {
  g_stop = 1;
}

struct Options {
  TapConfig device;
  Ipv4Address ip;
  MacAddress mac;
  long seconds = 10;
  long max_frames = 10000;
};

class Responder final : public drivers::FrameHandler {
 public:
  Responder(TapDevice& dev, Ipv4Address ip, MacAddress mac) : dev_(dev), ip_(ip), mac_(mac) {}

  void on_frame(Bytes frame, Instant now) override {
    ++received;
    const bool ok = dev_.medium() == Medium::Ethernet ? on_ethernet(frame, now)
                                                      : on_ip(frame, now, BytesMut(tx_));
    if (ok) {
      ++answered;
    } else {
      ++dropped;
    }
  }

  long received = 0, answered = 0, dropped = 0;

 private:
  static constexpr auto policy = wire::ChecksumPolicy::all();

  bool on_ethernet(Bytes frame, Instant now) {
    auto eth = wire::EthernetView::checked(frame);
    if (!eth) return false;
    if (eth->dst() != mac_ && eth->dst() != MacAddress::broadcast()) return false;
    const BytesMut out(tx_);
    std::size_t len = 0;
    if (eth->ethertype() == wire::EtherType::Arp) {
      len = arp_reply(eth->payload(), out.subspan(wire::EthernetView::header_len));
    } else if (eth->ethertype() == wire::EtherType::Ipv4) {
      len = ip_reply(eth->payload(), out.subspan(wire::EthernetView::header_len));
    }
    if (len == 0) return false;
    wire::EthernetRepr{mac_, eth->src(), eth->ethertype()}.emit(wire::EthernetViewMut(out));
    len += wire::EthernetView::header_len;
    // Pad short frames to Ethernet's minimum.
    if (len < wire::EthernetView::min_frame_len) {
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(len),
                out.begin() + static_cast<std::ptrdiff_t>(wire::EthernetView::min_frame_len),
                std::byte{0});
      len = wire::EthernetView::min_frame_len;
    }
    return send(out.first(len), now);
  }

  bool on_ip(Bytes packet, Instant now, BytesMut out) {
    const std::size_t len = ip_reply(packet, out);
    return len != 0 && send(out.first(len), now);
  }

  bool send(Bytes frame, Instant now) {
    const auto before = dev_.counters().tx_frames.value();
    auto r = dev_.transmit(frame, now);
    return r && dev_.counters().tx_frames.value() != before;
  }

  // The reply to an ARP request for ip_, written into out; its length, or 0 for no reply.
  std::size_t arp_reply(Bytes packet, BytesMut out) const {
    auto view = wire::ArpView::checked(packet);
    if (!view) return 0;
    auto req = wire::ArpRepr::parse(*view);
    if (!req || req->operation != wire::ArpOperation::Request || req->target_protocol_addr != ip_)
      return 0;
    const wire::ArpRepr reply{wire::ArpOperation::Reply, mac_, ip_, req->source_hardware_addr,
                              req->source_protocol_addr};
    reply.emit(wire::ArpViewMut(out.first(wire::ArpRepr::buffer_len())));
    return wire::ArpRepr::buffer_len();
  }

  // The echo reply to an ICMP echo request to ip_, written into out; its length, or 0.
  std::size_t ip_reply(Bytes packet, BytesMut out) {
    auto view = wire::Ipv4View::checked(packet);
    if (!view) return 0;
    auto ip = wire::Ipv4Repr::parse(*view, policy);
    if (!ip || ip->dst != ip_ || ip->protocol != wire::IpProtocol::Icmp || ip->more_frags ||
        ip->frag_offset != 0)
      return 0;
    auto icmp_view = wire::Icmpv4View::checked(view->payload());
    if (!icmp_view) return 0;
    auto icmp = wire::Icmpv4Repr::parse(*icmp_view, policy);
    if (!icmp) return 0;
    const auto* echo = std::get_if<wire::Icmpv4Repr::EchoRequest>(&icmp->message);
    if (echo == nullptr) return 0;

    const wire::Icmpv4Repr reply{
        wire::Icmpv4Repr::EchoReply{echo->ident, echo->seq_no, echo->data}};
    wire::Ipv4Repr out_ip;
    out_ip.src = ip_;
    out_ip.dst = ip->src;
    out_ip.protocol = wire::IpProtocol::Icmp;
    out_ip.ident = next_ident_++;
    out_ip.payload_len = reply.buffer_len();
    if (out_ip.buffer_len() > out.size()) return 0;
    const auto whole = out.first(out_ip.buffer_len());
    reply.emit(wire::Icmpv4ViewMut(whole.subspan(out_ip.header_len())), policy);
    out_ip.emit(wire::Ipv4ViewMut(whole), policy);
    return whole.size();
  }

  TapDevice& dev_;
  Ipv4Address ip_;
  MacAddress mac_;
  std::uint16_t next_ident_ = 1;
  std::array<std::byte, TapDevice::buffer_size> tx_{};
};

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "tap_responder: %s\n", what.c_str());
  std::exit(2);
}

long parse_count(std::string_view flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0)
    usage_error(std::string(flag) + " wants a positive number, not '" + text + "'");
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  o.mac = *MacAddress::parse("02:00:00:00:00:02");
  bool have_ip = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--tun") {
      o.device.medium = Medium::Ip;
      continue;
    }
    if (i + 1 >= argc) usage_error("unknown or incomplete option '" + std::string(arg) + "'");
    const char* value = argv[++i];
    if (arg == "--dev") {
      o.device.name = value;
    } else if (arg == "--ip") {
      auto ip = Ipv4Address::parse(value);
      if (!ip) usage_error(std::string("bad --ip '") + value + "': " + ip.error().message());
      o.ip = *ip;
      have_ip = true;
    } else if (arg == "--mac") {
      auto mac = MacAddress::parse(value);
      if (!mac) usage_error(std::string("bad --mac '") + value + "': " + mac.error().message());
      o.mac = *mac;
    } else if (arg == "--seconds") {
      o.seconds = parse_count(arg, value);
    } else if (arg == "--max-frames") {
      o.max_frames = parse_count(arg, value);
    } else {
      usage_error("unknown option '" + std::string(arg) + "'");
    }
  }
  if (o.device.name.empty() || !have_ip)
    usage_error(
        "usage: tap_responder --dev NAME --ip ADDR [--mac MAC] [--seconds N] "
        "[--max-frames N] [--tun]");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opts = parse_args(argc, argv);
  auto dev = TapDevice::open(opts.device);
  if (!dev) {
    std::fprintf(stderr, "tap_responder: %s\n",
                 TapDevice::explain(dev.error(), opts.device).c_str());
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  Responder responder(**dev, opts.ip, opts.mac);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(opts.seconds);
  int status = 0;
  while (g_stop == 0 && responder.received < opts.max_frames) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) break;
    pollfd pfd{(*dev)->native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;  // timeout, or EINTR by a signal
    const auto now = instant_from_micros(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
    const auto budget = static_cast<std::size_t>(opts.max_frames - responder.received);
    auto r = (*dev)->receive(now, responder, std::min<std::size_t>(budget, 64));
    if (!r) {
      std::fprintf(stderr, "tap_responder: %s: %s\n", (*dev)->name().c_str(),
                   r.error().message().c_str());
      status = 1;
      break;
    }
  }
  const auto& c = (*dev)->counters();
  std::printf(
      "tap_responder %s: received %ld answered %ld dropped %ld (rx_errors %llu tx_dropped_full "
      "%llu tx_dropped_large %llu tx_errors %llu)\n",
      (*dev)->name().c_str(), responder.received, responder.answered, responder.dropped,
      static_cast<unsigned long long>(c.rx_errors.value()),
      static_cast<unsigned long long>(c.tx_dropped_full.value()),
      static_cast<unsigned long long>(c.tx_dropped_large.value()),
      static_cast<unsigned long long>(c.tx_errors.value()));
  return status;
}
