#!/usr/bin/env bash
# install-deps.sh: install the system packages vstreamd builds and tests
# against on Debian 12 (bookworm). Idempotent and non-interactive: when every
# package is already installed it changes nothing and does not touch apt.
# Runs as root, or through sudo when run as another user.
#
#   libopencv-dev  OpenCV 4.6.0 headers and libraries, for GoCV (cgo)
#   pkg-config     how GoCV's cgo finds OpenCV
#   g++            GoCV's C++ wrappers (build-essential brings it on most hosts)
#   xvfb xauth     a virtual X display for the window sink's tests
#   imagemagick    `import`, which takes the tests' screenshots
#   xdotool        types q into the window in the tests
#   systemd        systemd-analyze, which verifies the units in the tests
#   iproute2       ip netns, for the two-host namespace script and tests
#   libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
#   libavdevice-dev libavfilter-dev
#                  FFmpeg 5.1 headers and libraries for go-astiav (cgo): the
#                  H.264 encoder (libx264, which Debian's libavcodec links)
#                  and decoder, and the recorder's muxers. go-astiav's cgo
#                  asks pkg-config for all six, so all six are needed.
#   chromium       the headless browser the live page's test drives
#   libx11-dev libxext-dev  Xlib and MIT-SHM, which the glass-to-glass measurement reads the window with (cgo)
#
# Usage: scripts/install-deps.sh [--check]
#   --check  only report what is missing; exit 1 if anything is.
set -euo pipefail

packages=(libopencv-dev pkg-config g++ xvfb xauth imagemagick xdotool systemd iproute2
	libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev libavfilter-dev
	chromium libx11-dev libxext-dev)

missing=()
for p in "${packages[@]}"; do
	# dpkg-query prints "install ok installed" for an installed package.
	if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
		missing+=("$p")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	echo "install-deps: all present: ${packages[*]}"
	exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
	echo "install-deps: missing: ${missing[*]}" >&2
	exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Check that GoCV will find OpenCV.
if ! pkg-config --exists opencv4; then
	echo "install-deps: pkg-config cannot find opencv4 after installing libopencv-dev" >&2
	exit 1
fi
# And that go-astiav will find FFmpeg.
if ! pkg-config --exists libavcodec libavformat libavutil libswscale libavdevice libavfilter; then
	echo "install-deps: pkg-config cannot find the FFmpeg libraries after installing their -dev packages" >&2
	exit 1
fi
echo "install-deps: done (OpenCV $(pkg-config --modversion opencv4), FFmpeg libavcodec $(pkg-config --modversion libavcodec))"
