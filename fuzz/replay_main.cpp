// main() for fuzz targets outside the fuzz build: runs LLVMFuzzerTestOneInput over every file
// named on the command line or found (recursively) in the directories named. Missing
// directories are allowed (a target may have no regressions yet) but at least one input must
// run, so an empty or misplaced corpus fails instead of passing silently.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A heap copy of exactly the input's size, so ASan catches a read one past the end.
  std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') {
          if (!run_file(entry.path())) return 1;
          ++ran;
        }
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      if (!run_file(arg)) return 1;
      ++ran;
    }
  }
  std::printf("replay: %zu inputs ran clean\n", ran);
  if (ran == 0) {
    std::fprintf(stderr, "replay: no inputs found; the seed corpus is missing\n");
    return 1;
  }
  return 0;
}
