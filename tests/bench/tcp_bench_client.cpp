// The kernel's side of the TCP benchmarks (tests/bench/tcp_bench.sh): a plain Linux-sockets
// client, so the figures measure tapir and not an interpreter. Every mode is bounded in bytes,
// connections and seconds.
//
//   tcp_bench_client send HOST PORT BYTES      write BYTES (1 MiB writes) to a discard server,
//                                              then shut down and wait for its close
//   tcp_bench_client recv HOST PORT BYTES      read BYTES from a chargen server, then close
//   tcp_bench_client rate HOST PORT SECONDS PARALLEL MAX [SRC,SRC,...]
//                                              connections per second: PARALLEL at a time, each
//                                              connect, write one byte to an echo server, read
//                                              it back, close; stops after SECONDS or MAX.
//                                              Given source addresses, the connections take
//                                              them in turn (IP_BIND_ADDRESS_NO_PORT), so the
//                                              client kernel's ephemeral ports, each reusable
//                                              only a second after its TIME-WAIT began, do not
//                                              cap the rate
//
// Prints one line: "send 1000000000 bytes in 2.101 s: 3.81 Gbit/s", "rate 100000 connections
// in 4.9 s: 20408 per second (0 failed)". Exit 0, or 1 with a line on stderr.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int die(const char* what) {
  std::fprintf(stderr, "tcp_bench_client: %s: %s\n", what, std::strerror(errno));
  return 1;
}

sockaddr_in address(const char* host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    std::fprintf(stderr, "tcp_bench_client: bad address %s\n", host);
    std::exit(1);
  }
  return a;
}

int connect_blocking(const sockaddr_in& a) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int bulk(bool sending, const sockaddr_in& a, std::uint64_t bytes) {
  const int fd = connect_blocking(a);
  if (fd < 0) return die("connect");
  std::vector<char> buf(1 << 20, 'x');
  const auto start = Clock::now();
  std::uint64_t done = 0;
  while (done < bytes) {
    const std::size_t want = std::min<std::uint64_t>(buf.size(), bytes - done);
    const ssize_t n = sending ? write(fd, buf.data(), want) : read(fd, buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return die(sending ? "write" : "read");
    if (n == 0) break;
    done += static_cast<std::uint64_t>(n);
  }
  if (sending) {
    shutdown(fd, SHUT_WR);
    char c;
    while (read(fd, &c, 1) > 0) {
    }
  }
  const double s = seconds_since(start);
  close(fd);
  std::printf("%s %llu bytes in %.3f s: %.2f Gbit/s\n", sending ? "send" : "recv",
              static_cast<unsigned long long>(done), s, static_cast<double>(done) * 8 / s / 1e9);
  return done == bytes ? 0 : 1;
}

int rate(const sockaddr_in& a, double seconds, int parallel, long max,
         const std::vector<in_addr>& sources) {
  std::size_t next_source = 0;
  const int ep = epoll_create1(0);
  if (ep < 0) return die("epoll_create1");
  enum class Phase { Connecting, Reading };
  struct Conn {
    int fd = -1;
    Phase phase = Phase::Connecting;
  };
  std::vector<Conn> conns(static_cast<std::size_t>(parallel));
  long started = 0, completed = 0, failed = 0;
  const auto open_one = [&](std::size_t i) {
    Conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c.fd < 0) return false;
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!sources.empty()) {
      setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr = sources[next_source++ % sources.size()];
      if (bind(c.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        close(c.fd);
        c.fd = -1;
        return false;
      }
    }
    const int r = connect(c.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    if (r != 0 && errno != EINPROGRESS) {
      close(c.fd);
      c.fd = -1;
      return false;
    }
    c.phase = Phase::Connecting;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    ++started;
    return true;
  };
  const auto finish = [&](std::size_t i, bool ok) {
    Conn& c = conns[i];
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    (ok ? completed : failed)++;
  };
  const auto start = Clock::now();
  for (std::size_t i = 0; i < conns.size(); ++i)
    open_one(i);
  std::vector<epoll_event> events(conns.size());
  while (seconds_since(start) < seconds && completed + failed < max) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<std::size_t>(events[static_cast<std::size_t>(k)].data.u64);
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      if (c.phase == Phase::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || write(c.fd, "x", 1) != 1) {
          finish(i, false);
        } else {
          c.phase = Phase::Reading;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = i;
          epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
          continue;
        }
      } else {
        char b;
        const ssize_t r = read(c.fd, &b, 1);
        if (r < 0 && errno == EAGAIN) continue;
        finish(i, r == 1);
      }
      if (started < max && seconds_since(start) < seconds) open_one(i);
    }
  }
  const double s = seconds_since(start);
  for (std::size_t i = 0; i < conns.size(); ++i)
    if (conns[i].fd >= 0) close(conns[i].fd);
  close(ep);
  std::printf("rate %ld connections in %.2f s: %.0f per second (%ld failed)\n", completed, s,
              static_cast<double>(completed) / s, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && (std::string(argv[1]) == "send" || std::string(argv[1]) == "recv")) {
    return bulk(std::string(argv[1]) == "send", address(argv[2], std::atoi(argv[3])),
                std::strtoull(argv[4], nullptr, 10));
  }
  if (argc >= 7 && std::string(argv[1]) == "rate") {
    std::vector<in_addr> sources;
    if (argc >= 8) {
      std::string list = argv[7];
      for (std::size_t start = 0; start <= list.size();) {
        const std::size_t end = std::min(list.find(',', start), list.size());
        in_addr addr{};
        if (inet_pton(AF_INET, list.substr(start, end - start).c_str(), &addr) != 1) {
          std::fprintf(stderr, "tcp_bench_client: bad source address in '%s'\n", argv[7]);
          return 2;
        }
        sources.push_back(addr);
        start = end + 1;
      }
    }
    return rate(address(argv[2], std::atoi(argv[3])), std::atof(argv[4]), std::atoi(argv[5]),
                std::atol(argv[6]), sources);
  }
  std::fprintf(stderr,
               "usage: tcp_bench_client send|recv HOST PORT BYTES\n"
               "       tcp_bench_client rate HOST PORT SECONDS PARALLEL MAX [SRC,SRC,...]\n");
  return 2;
}
