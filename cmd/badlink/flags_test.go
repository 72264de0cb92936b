package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
)

// addrs are the four required flags, on loopback.
func addrs() []string {
	return []string{"-a-listen", "127.0.0.1:7001", "-a", "127.0.0.1:5601", "-b-listen", "127.0.0.1:7002", "-b", "127.0.0.1:5602"}
}

func TestParseArgsPerDirectionOverrides(t *testing.T) {
	args := append(addrs(), "-loss", "0.05", "-burst", "4", "-delay", "30ms", "-jitter", "10ms", "-reorder",
		"-b2a-loss", "0", "-a2b-reorder=false", "-rate", "8mbit", "-queue", "50ms", "-b2a-queue", "64KiB",
		"-a2b-dup", "0.01", "-seed", "7", "-stats-every", "1s")
	opts, err := parseArgs(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantA2B := impair.Params{Loss: 0.05, Burst: 4, Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond,
		Dup: 0.01, Rate: 8_000_000, Queue: impair.Queue{Time: 50 * time.Millisecond}}
	wantB2A := impair.Params{Loss: 0, Burst: 4, Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond,
		Reorder: true, Rate: 8_000_000, Queue: impair.Queue{Bytes: 65536}}
	if opts.cfg.A2B != wantA2B {
		t.Errorf("a2b = %+v\nwant  %+v", opts.cfg.A2B, wantA2B)
	}
	if opts.cfg.B2A != wantB2A {
		t.Errorf("b2a = %+v\nwant  %+v", opts.cfg.B2A, wantB2A)
	}
	if opts.cfg.Seed != 7 || opts.statsEvery != time.Second || opts.cfg.PeerA.String() != "127.0.0.1:5601" ||
		opts.listenB.String() != "127.0.0.1:7002" {
		t.Errorf("seed %d, stats-every %v, peer A %v, B side %v", opts.cfg.Seed, opts.statsEvery, opts.cfg.PeerA, opts.listenB)
	}
}

func TestParseArgsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-loss", "1.5"}, "-loss 1.5: must be between 0 and 1"},
		{[]string{"-a2b-loss", "-0.1"}, "-a2b-loss -0.1: must be between 0 and 1"},
		{[]string{"-loss", "5%"}, "-loss 5%: not a number; give a ratio between 0 and 1"},
		{[]string{"-dup", "2"}, "-dup 2: must be between 0 and 1"},
		{[]string{"-burst", "0.5"}, "-burst 0.5: must be 0 (independent losses) or a number of datagrams of at least 1"},
		{[]string{"-loss", "0.6", "-burst", "1.2"}, "a2b (A to B): invalid impairment: burst 1.2 with loss 0.6: mean burst must be at least loss/(1-loss) = 1.5"},
		{[]string{"-loss", "0.6", "-burst", "1.2", "-a2b-loss", "0.1"}, "b2a (B to A): invalid impairment: burst 1.2"},
		{[]string{"-delay", "30"}, "-delay 30: missing unit; write e.g. 30ms"},
		{[]string{"-b2a-jitter", "soon"}, "-b2a-jitter soon: not a duration"},
		{[]string{"-delay", "1m"}, "-delay 1m: must be between 0 and 10s"},
		{[]string{"-reorder=maybe"}, "-reorder=maybe: must be true or false"},
		{[]string{"-rate", "8m"}, `-rate 8m: "8m" has no unit: write e.g. 8mbit`},
		{[]string{"-rate", "8mbit", "-queue", "lots"}, `-queue lots: "lots" is neither a size`},
		{[]string{"-rate", "1kbit", "-queue", "64KB"}, "a2b (A to B): invalid impairment: queue 64KB at rate 1kbit: drains in 8m32s"},
		{[]string{"-limit", "0"}, "-limit 0: must be between 1"},
		{[]string{"-max-size", "70000"}, "-max-size 70000: must be between 1 and 65535"},
		{[]string{"-realtime-priority", "100"}, "-realtime-priority 100: must be between 0 (normal priority) and 99"},
		{[]string{"-realtime-priority", "-1"}, "-realtime-priority -1: must be between 0"},
		{[]string{"-stats-json", filepath.Join(dir, "no", "such.json")}, "directory " + filepath.Join(dir, "no") + " does not exist"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-los", "0.1"}, "flag provided but not defined: -los"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseArgs(append(addrs(), tc.args...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseArgs(... %s) = %v, want an error containing %q", strings.Join(tc.args, " "), err, tc.wantErr)
			}
		})
	}
}

func TestParseArgsAddressErrors(t *testing.T) {
	for _, tc := range []struct {
		a, aListen, b, bListen string
		wantErr                string
	}{
		{"", "", "", "", "missing -a-listen, -a, -b-listen, -b"},
		{"127.0.0.1:5601", "127.0.0.1:7001", "", "127.0.0.1:7002", "missing -b"},
		{"127.0.0.1:5601", "127.0.0.1:7001", "127.0.0.1:5602", "127.0.0.1:7001", "-a-listen and -b-listen are both 127.0.0.1:7001"},
		{"127.0.0.1:5601", "127.0.0.1:7001", "127.0.0.1:5601", "127.0.0.1:7002", "-a and -b are both 127.0.0.1:5601"},
		{"127.0.0.1:7002", "127.0.0.1:7001", "127.0.0.1:5602", "127.0.0.1:7002", "-b-listen and -a are both 127.0.0.1:7002: the relay would send to itself"},
		{"0.0.0.0:5601", "127.0.0.1:7001", "127.0.0.1:5602", "127.0.0.1:7002", "-a 0.0.0.0:5601: must be a specific host and port"},
		{"127.0.0.1:0", "127.0.0.1:7001", "127.0.0.1:5602", "127.0.0.1:7002", "-a 127.0.0.1:0: must be a specific host and port"},
		{"127.0.0.1", "127.0.0.1:7001", "127.0.0.1:5602", "127.0.0.1:7002", "-a 127.0.0.1: "},
		{"[::1]:5601", "127.0.0.1:7001", "127.0.0.1:5602", "127.0.0.1:7002", "-a-listen 127.0.0.1:7001 and -a [::1]:5601 are of different IP families"},
	} {
		var args []string
		for _, f := range []struct{ name, val string }{{"-a", tc.a}, {"-a-listen", tc.aListen}, {"-b", tc.b}, {"-b-listen", tc.bListen}} {
			if f.val != "" {
				args = append(args, f.name, f.val)
			}
		}
		if _, err := parseArgs(args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseArgs(%q) = %v, want an error containing %q", args, err, tc.wantErr)
		}
	}
}

func TestHelpListsEveryImpairmentOnce(t *testing.T) {
	var out bytes.Buffer
	_, err := parseArgs([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseArgs(-h) = %v, want flag.ErrHelp", err)
	}
	help := out.String()
	for _, im := range impairments() {
		if n := strings.Count(help, "\n  -"+im.name+" "); n+strings.Count(help, "\n  -"+im.name+"\n") != 1 {
			t.Errorf("-h shows -%s %d times, want once", im.name, n)
		}
		if strings.Contains(help, "-a2b-"+im.name) {
			t.Errorf("-h lists -a2b-%s; the override scheme is explained once instead", im.name)
		}
	}
	for _, want := range []string{"a2b- or b2a-", "-stats-json path", "-seed seed", "Gilbert-Elliott"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h does not mention %q", want)
		}
	}
}

// TestRunStopsCleanly starts the command on two free loopback ports, stops
// it at once, and checks the summary and the JSON it leaves.
func TestRunStopsCleanly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.json")
	args := []string{"-a-listen", "127.0.0.1:0", "-a", "127.0.0.1:5601", "-b-listen", "127.0.0.1:0", "-b", "127.0.0.1:5602",
		"-loss", "0.1", "-stats-json", path}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("run = %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "a2b (A to B): loss 0.1") {
		t.Errorf("summary does not show the impairments:\n%s", stdout.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Seed uint64
		A2B  struct {
			Params struct{ Loss float64 }
			In     uint64
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("stats JSON: %v\n%s", err, b)
	}
	if got.Seed != 1 || got.A2B.Params.Loss != 0.1 || got.A2B.In != 0 {
		t.Errorf("stats JSON = %+v, want seed 1, a2b loss 0.1, in 0", got)
	}
	if code := run(context.Background(), []string{"-loss", "2"}, io.Discard, &stderr); code != 2 {
		t.Errorf("run with a bad flag = %d, want 2", code)
	}
}
