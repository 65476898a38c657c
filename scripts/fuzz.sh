#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build for a bounded time each.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
# New inputs go to a scratch corpus (the repo's seed corpus is read, never written); a crash
# leaves its input in $BUILD_DIR/artifacts/: minimise it into fuzz/regressions/<target>/.
# Prints one line per target and "fuzz: N passed, N failed".
set -uo pipefail
seconds=${1:-20}
build=${2:-build/fuzz}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

passed=0
failed=0
mkdir -p "$build/artifacts" "$build/fuzz-logs"
for bin in "$build"/bin/fuzz_*; do
  [[ -x $bin ]] || continue
  name=$(basename "$bin")
  scratch=$(mktemp -d)
  seeds=()
  for d in "fuzz/corpus/$name" "fuzz/regressions/$name"; do [[ -d $d ]] && seeds+=("$d"); done
  dict=()
  [[ -f fuzz/dict/$name.dict ]] && dict=(-dict="fuzz/dict/$name.dict")
  log="$build/fuzz-logs/$name.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$name-" "${dict[@]}" "$scratch" "${seeds[@]}" >"$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    echo "fuzz: $name ok, ${runs} runs in ${seconds}s"
    passed=$((passed + 1))
  else
    echo "fuzz: $name FAILED (log: $log)"
    tail -n 30 "$log"
    failed=$((failed + 1))
  fi
  rm -rf "$scratch"
done
if ((passed + failed == 0)); then
  echo "fuzz: no targets found in $build/bin"
  failed=1
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
