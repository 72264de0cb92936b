#!/usr/bin/env bash
# test.sh: the project's test command. Installs what the tests need (OpenCV,
# Xvfb, staticcheck, ...), then checks formatting, vets, runs staticcheck,
# and runs every test, fuzz seed corpora included.
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

echo "== staticcheck"
staticcheck=$(command -v staticcheck || true)
if [[ -z "$staticcheck" ]]; then
	# Pinned, built once into the Go bin directory (about a minute).
	GOBIN="$(go env GOPATH)/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	staticcheck="$(go env GOPATH)/bin/staticcheck"
fi
"$staticcheck" ./...

echo "== go test"
# -p 2: the machines have 2 cores; the end-to-end tests run real daemons.
go test -p 2 -count=1 "$@" ./...

if [[ $# -eq 0 ]]; then
	echo "== OpenCV Mat leaks (-tags matprofile)"
	# GoCV counts every Mat it allocates only when built with this tag.
	go test -count=1 -tags matprofile -run TestMatProfile ./capture/ ./display/
fi
