#!/usr/bin/env bash
# replay-vs-kernel.sh: the timing of issue 4. Wall time of `./ptlab replay TRACE` (JVM start
# included) next to the kernel driver's on the same trace, and a check that both print the same
# lines.
#
#   tools/replay-vs-kernel.sh [TRACE] [ROUNDS]
#
# TRACE defaults to tools/traces/big-4g.trace (4 GiB of 4 KiB pages touched, protected, forked,
# reclaimed, unmapped), ROUNDS to 5. The kernel driver is the project's copy of ktrace
# (core/src/test/resources/ptlab/diff/kdriver.c), built with `cc`. Runs alternate, kernel then
# ptlab, so that both see the same host load. Every run is printed, then min and median for each,
# and the ratio of the medians. Needs Linux and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
TRACE="${1:-tools/traces/big-4g.trace}"
ROUNDS="${2:-5}"
[ -r "$TRACE" ] || { echo "replay-vs-kernel: cannot read trace '$TRACE'" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "replay-vs-kernel: ROUNDS must be a positive number: '$ROUNDS'" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/kdriver" core/src/test/resources/ptlab/diff/kdriver.c
./ptlab --version >/dev/null # builds the jar and its start-up archive outside the timed runs

# Seconds (3 decimals) one command takes; its stdout goes to $2.
timed() {
  local out="$1"; shift
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$out"
  t1=$(date +%s%N)
  echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

kern=(); sim=()
for ((r = 1; r <= ROUNDS; r++)); do
  k=$(timed "$tmp/kernel.out" "$tmp/kdriver" "$TRACE")
  s=$(timed "$tmp/ptlab.out" ./ptlab replay "$TRACE")
  kern+=("$k"); sim+=("$s")
  same=same; cmp -s "$tmp/kernel.out" "$tmp/ptlab.out" || same=DIFFERENT
  printf 'round %d: kernel %6.3f s   ptlab %6.3f s   output %s\n' "$r" "$k" "$s" "$same"
  if [ "$same" != same ]; then
    diff "$tmp/kernel.out" "$tmp/ptlab.out" | head -20 >&2
    exit 1
  fi
done

# min and median of the arguments
stats() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f", v[1], m}'; }
read -r kmin kmed <<<"$(stats "${kern[@]}")"
read -r smin smed <<<"$(stats "${sim[@]}")"
printf 'kernel: min %.3f s, median %.3f s\nptlab:  min %.3f s, median %.3f s\nptlab is %.1fx faster (medians)\n' \
  "$kmin" "$kmed" "$smin" "$smed" "$(echo "scale=2; $kmed / $smed" | bc)"
