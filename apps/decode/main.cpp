// tapir-decode: prints every frame of a pcap file layer by layer, one tcpdump-like line per frame
// (or every field with -v). Reads Ethernet (LINKTYPE_ETHERNET) and raw-IP (LINKTYPE_RAW)
// captures. The decoding is the stack's own describer, stack/wire/describe.hpp.
//
//   tapir-decode capture.pcap        one line per frame
//   tapir-decode -v capture.pcap     every field of every layer
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "drivers/pcap/pcap_file.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/pcap.hpp"

int main(int argc, char** argv) {
  using namespace tapir;

  CLI::App app{"tapir-decode: print the frames of a pcap file layer by layer"};
  std::string path;
  bool verbose = false;
  app.add_option("FILE", path, "a .pcap file (Ethernet or raw IP)")->required();
  app.add_flag("-v,--verbose", verbose, "print every field of every layer");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "tapir-decode: {}\n", e.what());
    return 2;
  }

  auto file = drivers::read_file(path);
  if (!file) {
    fmt::print(stderr, "tapir-decode: {}: {}\n", path, file.error().message());
    return 2;
  }
  auto reader = wire::PcapReader::open(*file);
  if (!reader) {
    fmt::print(stderr, "tapir-decode: {}: not a pcap file ({})\n", path, reader.error().message());
    return 2;
  }
  const auto link = reader->file_header().link_type;
  if (link != wire::LinkType::Ethernet && link != wire::LinkType::Raw &&
      link != wire::LinkType::Ipv4) {
    fmt::print(stderr, "tapir-decode: {}: unsupported link type {}\n", path,
               static_cast<std::uint32_t>(link));
    return 2;
  }

  fmt::memory_buffer line;
  for (std::size_t n = 1;; ++n) {
    const std::size_t at = reader->offset();
    auto record = reader->next();
    if (!record) {
      fmt::print(stderr, "tapir-decode: {}: record {} at byte {}: {}\n", path, n, at,
                 record.error().message());
      return 1;
    }
    if (!*record) break;
    const auto& r = **record;
    line.clear();
    if (verbose) {
      fmt::format_to(std::back_inserter(line), "frame {}: {} bytes captured ({} on the wire)\n", n,
                     r.header.incl_len, r.header.orig_len);
      wire::describe_verbose(line, r.data, link);
    } else {
      const auto frac =
          reader->file_header().nanosecond ? r.header.ts_frac / 1000 : r.header.ts_frac;
      fmt::format_to(std::back_inserter(line), "{:4} {}.{:06} ", n, r.header.ts_sec, frac);
      wire::describe(line, r.data, link);
      line.push_back('\n');
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return 0;
}
