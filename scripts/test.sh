#!/usr/bin/env bash
# test.sh: the project's test command. Installs what the tests need (OpenCV,
# Xvfb, ...), then checks formatting, vets, runs staticcheck when it is
# installed, and runs every test, fuzz seed corpora included.
#
# Usage: scripts/test.sh [go test flags...]    e.g. scripts/test.sh -run TestCall -v
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

if ! command -v go >/dev/null 2>&1; then
	echo "test.sh: Go is not installed; install Go 1.26 or newer (https://go.dev/dl/) and make sure 'go' is on PATH" >&2
	exit 1
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

if command -v staticcheck >/dev/null 2>&1; then
	echo "== staticcheck"
	staticcheck ./...
fi

echo "== go test"
# -p 2: the machines have 2 cores; the end-to-end tests run real daemons.
go test -p 2 -count=1 "$@" ./...
