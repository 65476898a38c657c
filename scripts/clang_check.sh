#!/usr/bin/env bash
# clang's warnings (as errors) on the code that the fuzz build does not compile: drivers/ and
# apps/. The fuzz preset (clang) builds only the fuzz targets (what scripts/fuzz.sh runs), so
# this runs the fuzz build's own compile commands for those files with -fsyntax-only: clang
# gives its warnings while parsing and analysing, so they are the same as in a full compile, at
# a small part of its cost (no code generation, no sanitizer instrumentation).
#   scripts/clang_check.sh [BUILD_DIR]    (a configured fuzz build; default build/fuzz)
# Prints the diagnostics of every file that fails and "clang-check: N files, N failed".
set -uo pipefail
build=${1:-build/fuzz}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[[ -f $build/compile_commands.json ]] || { echo "clang-check: no $build/compile_commands.json"; exit 1; }
exec /usr/bin/python3 - "$build/compile_commands.json" "$root" "$(nproc)" <<'PY'
import concurrent.futures, json, os, shlex, subprocess, sys
db, root, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
wanted = (os.path.join(root, "drivers") + os.sep, os.path.join(root, "apps") + os.sep)
entries = [e for e in json.load(open(db)) if e["file"].startswith(wanted)]
def check(e):
    args = shlex.split(e["command"])
    if "-o" in args:  # nothing is written
        i = args.index("-o")
        del args[i:i + 2]
    r = subprocess.run(args + ["-fsyntax-only"], cwd=e["directory"], capture_output=True, text=True)
    return e["file"], r.returncode, r.stdout + r.stderr
failed = 0
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    for path, rc, out in pool.map(check, entries):
        if rc != 0:
            failed += 1
            print(f"clang-check: {os.path.relpath(path, root)} FAILED\n{out}")
if not entries:
    print("clang-check: no drivers/ or apps/ files in the compile commands")
    failed = 1
print(f"clang-check: {len(entries)} files, {failed} failed")
sys.exit(1 if failed else 0)
PY
