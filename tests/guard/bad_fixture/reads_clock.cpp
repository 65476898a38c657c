// Fixture for the guard's own test: this file must make check_sans_io.sh fail.
#include <thread>
auto t = std::chrono::steady_clock::now();
