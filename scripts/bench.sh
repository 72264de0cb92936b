#!/usr/bin/env bash
# bench.sh: vstreamd's end-to-end benchmark. Runs two real daemons streaming
# the test pattern at 1280x720, 30 fps, through the badlink relay under each
# network condition (clean, i.i.d. loss 1/5/10/20%, burst loss, delay with
# jitter and reordering, loss with delay, a bandwidth cap), at parity 0.25
# and 0 (and 0.5 for 10% loss), and prints one table. See
# docs/benchmarks.md for what each column means.
#
#   scripts/bench.sh                      30 s per row (about 12 minutes)
#   scripts/bench.sh -duration 10s        shorter rows
#   scripts/bench.sh -quick               2 s per row, for CI (about 1.5 minutes)
#   scripts/bench.sh -conditions clean,loss5 -parity 0.25
#   scripts/bench.sh -netns               across three network namespaces (root)
#   scripts/bench.sh -markdown out.md -json out.json
#   scripts/bench.sh -h                   every flag
#
# It builds vstreamd and badlink from this tree unless -vstreamd and
# -badlink name binaries. Traffic stays on loopback, or inside the
# namespaces it creates with -netns.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec go run ./scripts/bench "$@"
