#!/bin/bash
# Runs each fuzz target (built by tools/fuzz/build.sh) for FUZZ_SECONDS seconds from its
# committed seeds (tools/fuzz/corpus/TARGET), growing a working corpus in .build/fuzz/corpus.
# A crash, leak, timeout or out-of-memory input is saved to .build/fuzz/findings/TARGET/ and
# makes the script exit 1; a summary line per target gives its executions.
#
# Usage: FUZZ_SECONDS=60 tools/fuzz/run.sh [TARGET...]   (default: every target)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_BUILD:-$root/.build/fuzz}
seconds=${FUZZ_SECONDS:-60}
# A Swift trap would otherwise hang in Swift's own backtracer instead of reaching libFuzzer.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tools/fuzz/lsan.supp:print_suppressions=0}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for file in "$root"/tools/fuzz/targets/*.swift; do targets+=("$(basename "$file" .swift)"); done
fi
status=0
for target in "${targets[@]}"; do
  corpus="$out/corpus/$target"
  findings="$out/findings/$target"
  mkdir -p "$corpus" "$findings"
  log="$out/fuzz-$target.log"
  # -rss_limit_mb: an input that makes entk allocate gigabytes is a finding (a size read from a
  # file and trusted), not a reason to swap.
  "$out/fuzz-$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" "$root/tools/fuzz/corpus/$target" >"$log" 2>&1
  code=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [[ $code -eq 0 ]]; then
    echo "fuzz: $target: ${runs:-0} executions (${rate:-0}/s), no finding"
  else
    echo "fuzz: $target: FINDING after ${runs:-?} executions (exit $code); see $log and $findings/"
    grep -m3 -E "ERROR|SUMMARY|Fatal error|==[0-9]+==" "$log" | sed 's/^/  /'
    status=1
  fi
done
exit $status
