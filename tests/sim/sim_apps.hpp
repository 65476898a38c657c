// The application code of the simulations, written against the public socket API the way an app
// would: a UDP echo server, a UDP client that sends numbered datagrams on a schedule and checks
// every byte of each echo, and a pinger that does the same with ICMP echo. Each keeps the
// counts a test asserts on; `bad` counts anything that arrived but is not exactly what was sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "stack/wire/icmpv4.hpp"
#include "stack/wire/udp.hpp"
#include "tests/sim/sim_harness.hpp"

namespace tapir::sim {

class EchoServer {
 public:
  EchoServer(Stack& stack, std::uint16_t port) {
    auto s = stack.udp_socket();
    if (!s) {
      ADD_FAILURE() << "udp_socket: " << s.error().message();
      return;
    }
    sock_ = std::move(*s);
    if (auto r = sock_.bind({Ipv4Address::any(), port}); !r)
      ADD_FAILURE() << "bind: " << r.error().message();
  }

  void step() {
    for (int i = 0; i < 1024; ++i) {
      auto got = sock_.recv_from(buf_);
      if (!got) {
        if (got.error() == std::errc::operation_would_block) return;
        ++errors;  // an ICMP or ARP failure reported once; go on
        continue;
      }
      ++received;
      const Bytes data = Bytes(buf_).first(got->len);
      if (sock_.send_to(data, got->remote)) {
        ++echoed;
      } else {
        ++send_failed;
      }
    }
  }

  std::uint64_t received = 0, echoed = 0, send_failed = 0, errors = 0;

 private:
  UdpSocket sock_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(65536);
};

// Sends datagram i (numbered_payload(i, sizes[i % sizes.size()])) at start + i * interval.
class UdpClient {
 public:
  UdpClient(Stack& stack, Ipv4Endpoint server, std::vector<std::size_t> sizes, std::uint32_t count,
            Instant start, Duration interval)
      : server_(server),
        sizes_(std::move(sizes)),
        count_(count),
        next_send_(start),
        interval_(interval) {
    auto s = stack.udp_socket();
    if (!s) {
      ADD_FAILURE() << "udp_socket: " << s.error().message();
      return;
    }
    sock_ = std::move(*s);
  }

  std::size_t size_of(std::uint32_t index) const { return sizes_[index % sizes_.size()]; }

  void step(Instant now) {
    while (sent < count_ && now >= next_send_) {
      const auto payload = numbered_payload(sent, size_of(sent));
      if (sock_.send_to(payload, server_)) {
        ++sent;
      } else {
        ++send_failed;
        ++sent;  // that one is skipped: the count of attempts goes on
      }
      next_send_ += interval_;
    }
    for (int i = 0; i < 1024; ++i) {
      auto got = sock_.recv_from(buf_);
      if (!got) {
        if (got.error() == std::errc::operation_would_block) break;
        ++errors;
        continue;
      }
      const Bytes data = Bytes(buf_).first(got->len);
      const auto index = check_numbered(data);
      if (!index || *index >= sent || got->len != size_of(*index) || got->remote != server_) {
        // Two corrupted fragments that cancel out in the checksum pass any checksum.
        if (data.size() >= 4 && load_be32(data, 0) < sent &&
            undetectable_corruption(data, numbered_payload(load_be32(data, 0), data.size()),
                                    wire::UdpView::header_len)) {
          ++undetectable;
        } else {
          ++bad;
        }
        continue;
      }
      ++copies[*index];
      order.push_back(*index);
    }
  }
  bool finished_sending() const { return sent >= count_; }
  Instant deadline() const { return finished_sending() ? kNever : next_send_; }
  Instant last_send() const { return next_send_ - interval_; }

  std::uint32_t sent = 0;
  std::uint64_t send_failed = 0, errors = 0, bad = 0, undetectable = 0;
  std::map<std::uint32_t, unsigned> copies;  // index -> echoes received
  std::vector<std::uint32_t> order;          // indices in the order they came back

 private:
  UdpSocket sock_;
  Ipv4Endpoint server_;
  std::vector<std::size_t> sizes_;
  std::uint32_t count_;
  Instant next_send_;
  Duration interval_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(65536);
};

// Sends echo request seq (data: numbered_payload(seq, data_len)) at start + seq * interval.
class Pinger {
 public:
  Pinger(Stack& stack, Ipv4Address target, std::size_t data_len, std::uint16_t count, Instant start,
         Duration interval)
      : target_(target),
        data_len_(data_len),
        count_(count),
        next_send_(start),
        interval_(interval) {
    auto s = stack.icmp_socket();
    if (!s) {
      ADD_FAILURE() << "icmp_socket: " << s.error().message();
      return;
    }
    sock_ = std::move(*s);
    ident_ = *sock_.ident();
  }

  void step(Instant now) {
    while (sent < count_ && now >= next_send_) {
      const auto data = numbered_payload(sent, data_len_);
      std::vector<std::byte> msg(wire::Icmpv4View::header_len + data.size());
      wire::Icmpv4Repr{wire::Icmpv4Repr::EchoRequest{0, sent, data}}.emit(
          wire::Icmpv4ViewMut(msg), wire::ChecksumPolicy::all());
      if (!sock_.send_to(msg, target_)) ++send_failed;
      ++sent;
      next_send_ += interval_;
    }
    for (int i = 0; i < 1024; ++i) {
      auto got = sock_.recv_from(buf_);
      if (!got) {
        if (got.error() == std::errc::operation_would_block) break;
        ++errors;
        continue;
      }
      const Bytes message = Bytes(buf_).first(got->len);
      auto icmp = wire::Icmpv4Repr::parse(wire::Icmpv4View(message), wire::ChecksumPolicy::all());
      const auto* reply = icmp ? std::get_if<wire::Icmpv4Repr::EchoReply>(&icmp->message) : nullptr;
      if (reply == nullptr) {
        if (icmp) {
          ++icmp_errors;  // an error quoting one of ours
        } else {
          ++bad;
        }
        continue;
      }
      const auto expected = numbered_payload(reply->seq_no, data_len_);
      if (reply->ident != ident_ || reply->seq_no >= sent || got->remote.address != target_ ||
          !std::ranges::equal(reply->data, expected)) {
        if (reply->seq_no < sent &&
            undetectable_corruption(reply->data, expected, wire::Icmpv4View::header_len)) {
          ++undetectable;
        } else {
          ++bad;
        }
        continue;
      }
      ++copies[reply->seq_no];
    }
  }
  bool finished_sending() const { return sent >= count_; }
  Instant deadline() const { return finished_sending() ? kNever : next_send_; }

  std::uint16_t sent = 0;
  std::uint64_t send_failed = 0, errors = 0, icmp_errors = 0, bad = 0, undetectable = 0;
  std::map<std::uint16_t, unsigned> copies;

 private:
  IcmpSocket sock_;
  Ipv4Address target_;
  std::size_t data_len_;
  std::uint16_t count_;
  std::uint16_t ident_ = 0;
  Instant next_send_;
  Duration interval_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(70000);
};

}  // namespace tapir::sim
