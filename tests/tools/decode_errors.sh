#!/usr/bin/env bash
# tapir-decode's contract on bad input: a missing file, a file that is not a pcap, and a pcap
# cut inside a record each give one clear error line on stderr and a non-zero exit, never a
# crash; a good file decodes with exit 0.  usage: decode_errors.sh TAPIR_DECODE CAPTURE_DIR
set -uo pipefail
decode=$1
captures=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() {  # expect WANT_RC PATTERN -- CMD...
  local want=$1 pattern=$2
  shift 3
  local err rc
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -ne $want ]] || ! grep -q -- "$pattern" <<<"$err" || [[ $(wc -l <<<"$err") -ne 1 ]]; then
    echo "FAIL: $* -> exit $rc (want $want), stderr: $err"
    failures=$((failures + 1))
  else
    echo "ok: $* -> exit $rc: $err"
  fi
}

echo "this is plainly not a capture file" >"$tmp/text.pcap"
head -c 200 "$captures/tcp.pcap" >"$tmp/cut.pcap"
expect 2 "No such file" -- "$decode" "$tmp/missing.pcap"
expect 2 "not a pcap file (unknown magic number)" -- "$decode" "$tmp/text.pcap"
expect 1 "record 2 at byte 114: truncated" -- "$decode" "$tmp/cut.pcap"
expect 2 "required" -- "$decode"
if ! "$decode" "$captures/tcp.pcap" >/dev/null; then
  echo "FAIL: a good capture did not decode"
  failures=$((failures + 1))
fi
exit $((failures > 0))
