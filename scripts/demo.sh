#!/usr/bin/env bash
# demo.sh: the main job in one command. Installs what vstreamd needs, builds
# it, and runs two endpoints on loopback that stream the synthetic test
# pattern to each other (no camera needed). Each shows the other's video in a
# window when DISPLAY is set, and decodes it headless otherwise. Both
# `vstreamd status` outputs are shown for about ten seconds, then both
# daemons are stopped cleanly.
#
# Usage: scripts/demo.sh [seconds]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}

scripts/install-deps.sh
if ! command -v go >/dev/null 2>&1; then
	echo "demo.sh: Go is not installed; install Go 1.26 or newer (https://go.dev/dl/) and make sure 'go' is on PATH" >&2
	exit 1
fi

work=$(mktemp -d /tmp/vstreamd-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== building vstreamd (the first build compiles GoCV: about a minute)"
go build -o "$work/vstreamd" ./cmd/vstreamd
bin="$work/vstreamd"
# One pre-shared key for both endpoints (on two machines: copy it over ssh).
"$bin" genkey -o "$work/psk" 2>/dev/null

sink=null
if [[ -n "${DISPLAY:-}" ]]; then sink=window; fi

# The two endpoints: alice on 5601, bob on 5602, each the other's peer.
for side in alice bob; do
	if [[ $side == alice ]]; then port=5601; peer=5602; else port=5602; peer=5601; fi
	http=$((port + 4000)) # the live page and /metrics: 9601 (alice), 9602 (bob)
	cat >"$work/$side.toml" <<TOML
listen = "127.0.0.1:$port"
peer   = "127.0.0.1:$peer"

[capture]
source  = "pattern"
width   = 1280
height  = 720
fps     = 30
codec   = "h264"   # the default: about 3.6 Mb/s on the wire; "jpeg" sends each frame whole (about 30)
bitrate_mbps = 3

[display]
sink  = "$sink"
title = "vstreamd demo: $side sees $( [[ $side == alice ]] && echo bob || echo alice )"

[control]
socket = "$work/$side.sock"

[http]
listen = "127.0.0.1:$http"

[security]
key_file = "$work/psk"   # made by vstreamd genkey, mode 0600
TOML
	"$bin" check-config -config "$work/$side.toml" >/dev/null
	MALLOC_ARENA_MAX=2 "$bin" run -config "$work/$side.toml" 2>"$work/$side.log" &
	pids+=($!)
done

echo "== two endpoints streaming the test pattern to each other (sink: $sink); status for ${seconds}s"
echo "   live pages (previews, charts): http://127.0.0.1:9601/ (alice), http://127.0.0.1:9602/ (bob); Prometheus metrics at /metrics"
end=$((SECONDS + seconds))
sleep 2
while ((SECONDS < end)); do
	for side in alice bob; do
		echo "---- $side ----"
		"$bin" status -socket "$work/$side.sock" || true
	done
	sleep 3
done

echo "== stopping both daemons"
for p in "${pids[@]}"; do kill -TERM "$p"; done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
pids=()
for side in alice bob; do
	echo "---- $side log (last lines) ----"
	tail -n 4 "$work/$side.log"
done
if ((status != 0)); then
	echo "demo: a daemon exited with status $status" >&2
	exit "$status"
fi
echo "== demo done: both daemons stopped cleanly"
