#!/usr/bin/env bash
# The sans-IO guard (DESIGN.md, rule 1): fails if any file under the given directory (default:
# stack/) includes Boost, threads, POSIX/Linux or stream/file headers, configures log sinks, or
# reads a real clock or std::random_device.
set -uo pipefail
dir=${1:?usage: check_sans_io.sh DIR}

patterns=(
  '#[[:space:]]*include[[:space:]]*<boost/'
  '#[[:space:]]*include[[:space:]]*<(thread|mutex|shared_mutex|condition_variable|future|semaphore|stop_token|latch|barrier)>'
  '#[[:space:]]*include[[:space:]]*<(unistd|fcntl|poll|pthread|signal|dirent|dlfcn|netdb|termios|time|sched)\.h>'
  '#[[:space:]]*include[[:space:]]*<(sys|linux|net|netinet|arpa|asm)/'
  '#[[:space:]]*include[[:space:]]*<(csignal|ctime|fstream|iostream|filesystem|cstdio)>'
  '#[[:space:]]*include[[:space:]]*<spdlog/sinks/'
  '(system_clock|steady_clock|high_resolution_clock|utc_clock|file_clock|random_device)'
  '(clock_gettime|gettimeofday|std::time\(|std::rand\(|[^_a-z]srand\()'
  '[^a-z_]now\(\)'
)

# Code with // comments stripped, as "file:line:code", so prose may name what code may not use.
code=$(find "$dir" -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) -print0 |
  xargs -0 -r awk '{ line = $0; sub(/\/\/.*$/, "", line); print FILENAME ":" FNR ":" line }')

status=0
for p in "${patterns[@]}"; do
  if hits=$(grep -E "$p" <<<"$code"); then
    echo "sans-IO violation (pattern: $p):"
    echo "$hits"
    status=1
  fi
done
if [[ $status -eq 0 ]]; then
  echo "sans-IO guard: $(find "$dir" -name '*.[ch]pp' | wc -l) files under $dir are clean"
fi
exit $status
