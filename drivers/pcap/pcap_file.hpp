// pcap files on disk: the I/O half of stack/wire/pcap (which only formats bytes).
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/base/error.hpp"
#include "stack/wire/pcap.hpp"

namespace tapir::drivers {

// Reads a whole file into memory; the error names the reason (errno as a system error).
Result<std::vector<std::byte>> read_file(const std::string& path);

// Writes a pcap capture. Each record costs one buffered fwrite of header and one of data;
// nothing is allocated per frame. flush() and the destructor push buffered records to disk.
class PcapFileWriter {
 public:
  static Result<PcapFileWriter> create(const std::string& path, wire::LinkType link_type,
                                       std::uint32_t snaplen = wire::PcapFileHeader::kMaxRecordLen);

  // `when` is wall-clock time since the Unix epoch (what Wireshark shows).
  void write(Bytes frame, std::chrono::microseconds when);
  void flush();

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  explicit PcapFileWriter(std::FILE* f, wire::PcapFileHeader header) : file_(f), header_(header) {}
  std::unique_ptr<std::FILE, Closer> file_;
  wire::PcapFileHeader header_;
};

}  // namespace tapir::drivers
