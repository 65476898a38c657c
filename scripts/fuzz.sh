#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build for a bounded time each, JOBS targets at a time
# (each target is one process on one core for SECONDS: the time per target does not depend on
# JOBS; the default, the number of cores, only shortens the wall time).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR] [JOBS]
# New inputs go to a scratch corpus (the repo's seed corpus is read, never written); a crash
# leaves its input in $BUILD_DIR/artifacts/: minimise it into fuzz/regressions/<target>/.
# Prints one line per target (in name order) and "fuzz: N passed, N failed".
set -uo pipefail
seconds=${1:-20}
build=${2:-build/fuzz}
jobs=${3:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mkdir -p "$build/artifacts" "$build/fuzz-logs"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# Runs one target; leaves its result line in $results/<name>.ok or $results/<name>.failed.
fuzz_one() {
  local bin=$1 name scratch log runs
  name=$(basename "$bin")
  scratch=$(mktemp -d)
  local seeds=() dict=()
  for d in "fuzz/corpus/$name" "fuzz/regressions/$name"; do [[ -d $d ]] && seeds+=("$d"); done
  [[ -f fuzz/dict/$name.dict ]] && dict=(-dict="fuzz/dict/$name.dict")
  log="$build/fuzz-logs/$name.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$name-" "${dict[@]}" "$scratch" "${seeds[@]}" >"$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    echo "fuzz: $name ok, ${runs} runs in ${seconds}s" >"$results/$name.ok"
  else
    { echo "fuzz: $name FAILED (log: $log)"; tail -n 30 "$log"; } >"$results/$name.failed"
  fi
  rm -rf "$scratch"
}

running=0
for bin in "$build"/bin/fuzz_*; do
  [[ -x $bin ]] || continue
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  fuzz_one "$bin" &
  running=$((running + 1))
done
wait

passed=0
failed=0
for bin in "$build"/bin/fuzz_*; do
  [[ -x $bin ]] || continue
  name=$(basename "$bin")
  if [[ -f $results/$name.ok ]]; then
    cat "$results/$name.ok"
    passed=$((passed + 1))
  else
    if [[ -f $results/$name.failed ]]; then cat "$results/$name.failed"; else echo "fuzz: $name FAILED (no result)"; fi
    failed=$((failed + 1))
  fi
done
if ((passed + failed == 0)); then
  echo "fuzz: no targets found in $build/bin"
  failed=1
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
