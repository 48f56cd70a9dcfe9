#!/usr/bin/env bash
# fuzz-diff.sh: a long differential fuzz run, ptlab against the live Linux kernel.
#
#   tools/fuzz-diff.sh [COUNT] [SEED]
#
# Runs DifferentialTest (core/src/test/java/ptlab/diff) with COUNT random traces (default 5000)
# from base seed SEED (default: random, printed first). Each trace runs on this machine's kernel
# (core/src/test/resources/ptlab/diff/kdriver.c, compiled with `cc` at test time) and in
# ptlab.trace.Replay, followed there by the page-reference audit and the invariant checker (a
# violation is a mismatch too); the first mismatch of each kind is shrunk to its shortest failing
# prefix and printed with both outputs side by side. Needs Linux x86-64 with THP in madvise mode and a C
# compiler; otherwise the tests are skipped. About 20-40 ms per trace on 2 cores.
#
# Reproduce one trace of a failing run:
#   mvn -B -ntp -pl core test -Dtest='DifferentialTest#randomTraces' -Dptlab.diff.seed=SEED -Dptlab.diff.index=N
# Other knobs: -Dptlab.diff.threads=N (kernel-side workers, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-5000}"
SEED="${2:-$(( ($(date +%s%N) ^ (RANDOM << 40 | RANDOM << 20 | RANDOM)) & 0x7fffffffffffffff ))}"
echo "== fuzz-diff: ptlab.diff.count=$COUNT ptlab.diff.seed=$SEED"
exec mvn -B -ntp -pl core test -Dtest='DifferentialTest' \
    -Dptlab.diff.count="$COUNT" -Dptlab.diff.seed="$SEED"
