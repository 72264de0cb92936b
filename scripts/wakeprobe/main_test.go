package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the probe's child, which the
// probe starts as its own executable with -child.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := run(os.Args[1:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestProbe runs the probe for real, briefly: a child process on loopback
// receives every datagram and reports percentiles in order.
func TestProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	var out bytes.Buffer
	if err := run([]string{"-duration", "400ms", "-every", "10ms"}, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`received (\d+) of 40 datagrams; send to read ms: p50 ([0-9.]+) p95 ([0-9.]+) p99 ([0-9.]+) max ([0-9.]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output %q", out.String())
	}
	if m[1] != "40" {
		t.Errorf("received %s of 40 over loopback", m[1])
	}
	var v []float64
	for _, s := range m[2:] {
		f, _ := strconv.ParseFloat(s, 64)
		v = append(v, f)
	}
	if !(v[0] > 0 && v[0] <= v[1] && v[1] <= v[2] && v[2] <= v[3]) {
		t.Errorf("percentiles %v: want positive and in order", v)
	}
}

func TestReport(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	want := "received 100 of 120 datagrams; send to read ms: p50 50.000 p95 95.000 p99 99.000 max 100.000"
	if got := report(d, 120); got != want {
		t.Errorf("report = %q, want %q", got, want)
	}
	if d[0] != 100*time.Millisecond {
		t.Error("report sorted its input in place")
	}
	if got := report(nil, 5); got != "received 0 of 5 datagrams" {
		t.Errorf("report(nil) = %q", got)
	}
}
