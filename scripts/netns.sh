#!/usr/bin/env bash
# netns.sh: two vstreamd hosts in two network namespaces, with the badlink
# relay in a third one between them, so the video crosses a real IP stack.
#
#   ns ID-a                 ns ID-r (relay)                 ns ID-b
#   eth0 10.77.1.1 <-veth-> veth-a 10.77.1.2  veth-b 10.77.2.2 <-veth-> eth0 10.77.2.1
#   vstreamd :5600           badlink :7001  badlink :7002           vstreamd :5600
#
# Daemon A sends to the relay's A side (10.77.1.2:7001), which forwards to
# daemon B from its B side (10.77.2.2:7002), and back. The namespaces have no
# route to each other or to the host except through the relay, and every
# address used is one this script assigned inside namespaces it created.
#
# Usage:
#   scripts/netns.sh [run] [-t SECONDS] [-s WIDTHxHEIGHT] [-- BADLINK FLAGS...]
#       Build vstreamd and badlink (or use $VSTREAMD and $BADLINK), create
#       the namespaces, stream the test pattern both ways for SECONDS
#       (default 5) through the relay with the given impairments, print
#       `vstreamd status` from both hosts and the relay's counters, and
#       remove everything again (also on error or Ctrl-C).
#       Example: scripts/netns.sh run -t 10 -- -loss 0.05 -delay 30ms
#   scripts/netns.sh up ID
#       Create namespaces ID-a, ID-b, ID-r and their links, and print the
#       topology as KEY=VALUE lines. The caller must run `down ID` later.
#   scripts/netns.sh down ID
#       Delete the namespaces of ID (their veths go with them).
#
# Needs root and `ip` (iproute2). Where namespaces are not permitted, `run`
# prints a SKIP message and exits 0; `up` prints it and exits 77.

set -euo pipefail

readonly SKIP_STATUS=77
readonly NET_A=10.77.1 NET_B=10.77.2
# Not readonly: `run` reads them back from up's output.
DAEMON_PORT=5600 RELAY_PORT_A=7001 RELAY_PORT_B=7002

die() {
	echo "netns.sh: $*" >&2
	exit 1
}

# skip_reason prints why namespaces cannot be used here, or nothing.
skip_reason() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "network namespaces need root (running as uid $(id -u))"
	elif ! command -v ip >/dev/null 2>&1; then
		echo "the ip command (iproute2) is not installed"
	fi
}

# ns_names ID prints the three namespace names.
ns_names() {
	echo "$1-a" "$1-b" "$1-r"
}

down() {
	local id=$1 ns
	for ns in $(ns_names "$id"); do
		if [[ -e /run/netns/$ns ]]; then
			ip netns delete "$ns" || echo "netns.sh: could not delete namespace $ns" >&2
		fi
	done
}

# up ID creates the topology; on failure it removes what it made. It
# returns SKIP_STATUS when namespaces are not permitted.
up() {
	local id=$1 reason
	[[ $id =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "up: bad ID '$id': use letters, digits, '_', '.', '-'"
	reason=$(skip_reason)
	if [[ -n $reason ]]; then
		echo "netns.sh: SKIP: $reason" >&2
		return "$SKIP_STATUS"
	fi
	local a b r
	read -r a b r <<<"$(ns_names "$id")"
	for ns in "$a" "$b" "$r"; do
		if [[ -e /run/netns/$ns ]]; then
			echo "netns.sh: namespace $ns already exists; pick another ID" >&2
			return 1
		fi
	done
	local err
	if ! err=$(ip netns add "$a" 2>&1); then
		echo "netns.sh: SKIP: network namespaces are not permitted here (ip netns add: $err)" >&2
		return "$SKIP_STATUS"
	fi
	if ! setup_links "$a" "$b" "$r"; then
		down "$id"
		echo "netns.sh: setting up the links of $id failed" >&2
		return 1
	fi
	cat <<EOF
NS_A=$a
NS_B=$b
NS_RELAY=$r
ADDR_A=$NET_A.1
ADDR_B=$NET_B.1
RELAY_A=$NET_A.2
RELAY_B=$NET_B.2
DAEMON_PORT=$DAEMON_PORT
RELAY_PORT_A=$RELAY_PORT_A
RELAY_PORT_B=$RELAY_PORT_B
EOF
}

# setup_links A B R adds namespaces B and R and the two veth pairs.
setup_links() {
	local a=$1 b=$2 r=$3
	ip netns add "$b" && ip netns add "$r" &&
		ip -n "$a" link add eth0 type veth peer name veth-a netns "$r" &&
		ip -n "$b" link add eth0 type veth peer name veth-b netns "$r" &&
		ip -n "$a" addr add "$NET_A.1/24" dev eth0 &&
		ip -n "$r" addr add "$NET_A.2/24" dev veth-a &&
		ip -n "$b" addr add "$NET_B.1/24" dev eth0 &&
		ip -n "$r" addr add "$NET_B.2/24" dev veth-b &&
		for ns in "$a" "$b" "$r"; do ip -n "$ns" link set dev lo up || return 1; done &&
		ip -n "$a" link set dev eth0 up && ip -n "$b" link set dev eth0 up &&
		ip -n "$r" link set dev veth-a up && ip -n "$r" link set dev veth-b up
}

# write_config FILE LISTEN PEER SOCKET SIZE writes a daemon config.
write_config() {
	local width=${5%x*} height=${5#*x}
	cat >"$1" <<EOF
listen = "$2"
peer = "$3"

[capture]
source = "pattern"
width = $width
height = $height
fps = 30
quality = 80

[display]
sink = "null"

[transport]
max_datagram = 1200
max_delay_ms = 100
parity = 0.25

[control]
socket = "$4"

[security]
encryption = "off"
EOF
}

# wait_streaming BIN SOCKET waits up to 10 s for the daemon to stream.
wait_streaming() {
	local i
	for ((i = 0; i < 100; i++)); do
		if "$1" status -json -socket "$2" 2>/dev/null | grep -q '"state": "streaming"'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

run() {
	local seconds=5 size=1280x720
	while [[ $# -gt 0 ]]; do
		case $1 in
		-t) seconds=${2:?-t needs a number of seconds}; shift 2 ;;
		-s) size=${2:?-s needs WIDTHxHEIGHT}; shift 2 ;;
		--) shift; break ;;
		-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; return 0 ;;
		*) die "run: unknown argument '$1' (badlink flags go after --)" ;;
		esac
	done
	[[ $seconds =~ ^[0-9]+$ ]] || die "-t $seconds: want a whole number of seconds"
	[[ $size =~ ^[0-9]+x[0-9]+$ ]] || die "-s $size: want WIDTHxHEIGHT, e.g. 640x360"
	local reason
	reason=$(skip_reason)
	if [[ -n $reason ]]; then
		echo "netns.sh: SKIP: $reason"
		return 0
	fi

	work=$(mktemp -d /tmp/vstreamd-netns.XXXXXX)
	id="vsd$$x$RANDOM"
	pids=()
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local vstreamd=${VSTREAMD:-} badlink=${BADLINK:-}
	if [[ -z $vstreamd || -z $badlink ]]; then
		echo "building vstreamd and badlink..."
		(cd "$(dirname "$0")/.." && go build -o "$work/vstreamd" ./cmd/vstreamd && go build -o "$work/badlink" ./cmd/badlink)
		vstreamd=${vstreamd:-$work/vstreamd} badlink=${badlink:-$work/badlink}
	fi

	local topo status=0
	topo=$(up "$id") || status=$?
	if [[ $status -eq $SKIP_STATUS ]]; then
		return 0
	elif [[ $status -ne 0 ]]; then
		die "could not create the namespaces"
	fi
	created=1
	local NS_A NS_B NS_RELAY ADDR_A ADDR_B RELAY_A RELAY_B
	eval "$topo"
	echo "namespaces: $NS_A ($ADDR_A), $NS_RELAY ($RELAY_A, $RELAY_B), $NS_B ($ADDR_B)"

	write_config "$work/a.toml" "$ADDR_A:$DAEMON_PORT" "$RELAY_A:$RELAY_PORT_A" "$work/a.sock" "$size"
	write_config "$work/b.toml" "$ADDR_B:$DAEMON_PORT" "$RELAY_B:$RELAY_PORT_B" "$work/b.sock" "$size"
	ip netns exec "$NS_RELAY" "$badlink" \
		-a-listen "$RELAY_A:$RELAY_PORT_A" -a "$ADDR_A:$DAEMON_PORT" \
		-b-listen "$RELAY_B:$RELAY_PORT_B" -b "$ADDR_B:$DAEMON_PORT" \
		"$@" >"$work/relay.out" 2>"$work/relay.err" &
	relay_pid=$!
	ip netns exec "$NS_A" "$vstreamd" run -config "$work/a.toml" 2>"$work/a.log" &
	pids+=($!)
	ip netns exec "$NS_B" "$vstreamd" run -config "$work/b.toml" 2>"$work/b.log" &
	pids+=($!)

	local side
	for side in a b; do
		if ! wait_streaming "$vstreamd" "$work/$side.sock"; then
			echo "netns.sh: daemon $side did not start streaming within 10 s; its log:" >&2
			cat "$work/$side.log" >&2
			echo "relay:" >&2
			cat "$work/relay.err" >&2
			exit 1
		fi
	done
	echo "both daemons streaming; running for $seconds s"
	# Sleep in the background so that a signal's trap runs at once.
	sleep "$seconds" &
	wait $!
	echo
	echo "=== host A (namespace $NS_A, $ADDR_A): vstreamd status"
	"$vstreamd" status -socket "$work/a.sock"
	echo
	echo "=== host B (namespace $NS_B, $ADDR_B): vstreamd status"
	"$vstreamd" status -socket "$work/b.sock"
	stop_all
	echo
	echo "=== relay (namespace $NS_RELAY)"
	cat "$work/relay.out"
}

# stop_all stops the daemons, then the relay (which prints its counters).
stop_all() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	pids=()
	if [[ -n ${relay_pid:-} ]]; then
		kill -TERM "$relay_pid" 2>/dev/null || true
		wait "$relay_pid" 2>/dev/null || true
		relay_pid=
	fi
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_all
	if [[ -n ${created:-} ]]; then
		down "$id"
	fi
	rm -rf "$work"
	exit "$status"
}

main() {
	local cmd=${1:-run}
	case $cmd in
	run) shift || true; run "$@" ;;
	up) [[ $# -eq 2 ]] || die "usage: netns.sh up ID"; up "$2" ;;
	down) [[ $# -eq 2 ]] || die "usage: netns.sh down ID"; down "$2" ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" ;;
	-*) run "$@" ;;
	*) die "unknown command '$cmd': want run, up ID or down ID (see -h)" ;;
	esac
}

main "$@"
