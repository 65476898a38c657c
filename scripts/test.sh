#!/usr/bin/env bash
# The test command (README): installs what is missing, builds the normal and the sanitizer
# (ASan + UBSan) builds and runs every ctest test in each, builds the libFuzzer targets with
# clang and runs each for a bounded time (two at a time on two cores), checks clang's warnings
# on drivers/ and apps/ (scripts/clang_check.sh), then prints one summary line. Run as root so
# the network-namespace tests run (they report SKIP otherwise). Exit status 0 only if all passed.
#   scripts/test.sh            everything
#   FUZZ_SECONDS=5 scripts/test.sh   shorter fuzz runs
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=$(nproc)

bash scripts/setup.sh || { echo "test: setup failed"; exit 1; }

total_passed=0
total_failed=0
total_skipped=0
failures=()

# Runs ctest for one preset and adds its JUnit counts to the totals.
run_ctest() {
  local preset=$1 junit="build/$1/ctest-junit.xml"
  [[ $preset == default ]] && junit="build/ctest-junit.xml"  # the default preset builds in build/
  echo "=== test: ctest ($preset)"
  ctest --preset "$preset" -j "$jobs" --timeout 900 --output-junit "$root/$junit"
  local rc=$?
  read -r tests failed skipped < <(python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    s = ET.parse(sys.argv[1]).getroot()
    t, f = int(s.get("tests", 0)), int(s.get("failures", 0)) + int(s.get("errors", 0))
    k = int(s.get("skipped", 0)) + int(s.get("disabled", 0))
    print(t - f - k, f, k)
except Exception:
    print(0, 1, 0)
PY
)
  total_passed=$((total_passed + tests))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
  if ((rc != 0 || failed != 0)); then failures+=("ctest ($preset)"); fi
}

build() {
  local preset=$1
  echo "=== test: build ($preset)"
  if ! { cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j "$jobs"; }; then
    echo "test: the $preset build failed"
    failures+=("build ($preset)")
    total_failed=$((total_failed + 1))
    return 1
  fi
}

echo "=== test: format"
if ! format_out=$(git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror 2>&1); then
  echo "$format_out" | head -20
  echo "test: some files are not clang-formatted (run: git ls-files '*.[ch]pp' | xargs clang-format -i)"
  failures+=("clang-format")
  total_failed=$((total_failed + 1))
else
  total_passed=$((total_passed + 1))
fi

build default && run_ctest default
build asan && run_ctest asan

if build fuzz; then
  # The fuzz build compiles only the fuzz targets; clang's warnings on the rest, parse-only.
  echo "=== test: clang warnings (drivers, apps)"
  if bash scripts/clang_check.sh build/fuzz; then
    total_passed=$((total_passed + 1))
  else
    failures+=("clang-check")
    total_failed=$((total_failed + 1))
  fi
  echo "=== test: fuzz (${fuzz_seconds}s per target)"
  # (Not `tee /dev/stderr`: when stdout and stderr are one log file, that reopens and truncates it.)
  bash scripts/fuzz.sh "$fuzz_seconds" build/fuzz >build/fuzz/fuzz-run.log 2>&1
  cat build/fuzz/fuzz-run.log
  fuzz_out=$(tail -n 1 build/fuzz/fuzz-run.log)
  if [[ $fuzz_out =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    total_passed=$((total_passed + BASH_REMATCH[1]))
    total_failed=$((total_failed + BASH_REMATCH[2]))
    ((BASH_REMATCH[2] == 0)) || failures+=("fuzz")
  else
    total_failed=$((total_failed + 1))
    failures+=("fuzz")
  fi
fi

echo "=== test: summary"
((${#failures[@]} == 0)) || echo "test: failed: ${failures[*]}"
echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
((${#failures[@]} == 0))
