// Counting heap allocations, to prove a path allocates nothing (DESIGN.md "Memory"). A test that
// calls allocations() links tests/support/allocations.cpp, which replaces the global operator
// new for that test executable; every allocation from then on is counted.
//
//   const auto before = test::allocations();
//   ... the path under test ...
//   EXPECT_EQ(test::allocations() - before, 0U);
#pragma once

#include <cstddef>

namespace tapir::test {

// The number of operator new calls so far in this process.
std::size_t allocations();

}  // namespace tapir::test
