// The replaced global operator new behind test::allocations(). It lives in its own object file
// of the static support library, so only test executables that call allocations() link it.
#include "tests/support/allocations.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

namespace tapir::test {
std::size_t allocations() {
  return g_allocations.load(std::memory_order_relaxed);
}
}  // namespace tapir::test

// g++ -O2 cannot see that these operators pair malloc with free and warns at inlined call sites.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
