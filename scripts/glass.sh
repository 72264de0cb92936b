#!/usr/bin/env bash
# glass.sh: measure vstreamd's glass-to-glass latency on a real window. Two
# real daemons on loopback, the sender streaming the test pattern at
# 1280x720 and 30 fps, the receiver showing it in its GoCV window on a
# private Xvfb display; the window is read with XGetImage every few
# milliseconds and the frame number and capture time the pattern draws into
# each frame are decoded from the screen. Prints p50/p95/p99, frames seen
# against frames sent, and where the time goes. See docs/benchmarks.md.
#
#   scripts/glass.sh                          20 s
#   scripts/glass.sh -duration 60s -json glass.json
#   scripts/glass.sh -width 640 -height 360
#   scripts/glass.sh -h                       every flag
#
# Needs Xvfb, xdotool and Xlib's headers (scripts/install-deps.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec go run ./scripts/glass "$@"
