// Command srtcompare measures the CPU that vstreamd's transport and SRT
// (srt-live-transmit from Debian's srt-tools) spend on this machine to move
// the same bitrate over loopback, both encrypted, one after the other in
// alternating rounds, and prints CPU per 10 Mb/s of media for each, their
// ratio per round and the median ratio.
//
// vstreamd: two real daemons (the vstreamd binary, built here unless
// -vstreamd names one), each with its own config file in a temporary
// directory, encrypted with a shared key file, parity fixed at -parity
// (adaptive = false, so the stream does not change). A sends with source
// "jpegs:DIR", 1280x720 JPEG files of about -frame bytes that this program
// encodes once from the synthetic pattern, so A sends pre-encoded frames and
// encodes nothing; B receives with sink "discard", which counts frames and
// bytes and decodes nothing. Their CPU is the transport's: read and copy
// the file, packetize, parity, seal, send; receive, open, reassemble, hand
// over. CPU is the two processes' user and system time from
// /proc/PID/stat over the measuring window, after a warm-up; media is the
// picture bytes B's sink took (the parity and headers on the wire are
// vstreamd's cost, not counted as media).
//
// SRT: srt-live-transmit as a listener receiving SRT and writing UDP, and a
// caller reading UDP and sending SRT, with a passphrase (AES-256), fed by
// this program with 1316-byte UDP datagrams at the media rate vstreamd
// carried in the same round, the output read and discarded here. CPU is the
// two processes' time from /proc/PID/stat; the feeder's is not counted.
//
// Everything runs on loopback; each measurement is bounded by -warmup and
// -seconds.
//
//	go run ./scripts/srtcompare -seconds 15s -rounds 3
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/vstreamd/vstreamd/scripts/procstat"
)

type settings struct {
	seconds  time.Duration
	warmup   time.Duration
	rounds   int
	fps      int
	frame    int     // wanted JPEG size, bytes
	parity   float64 // vstreamd parity ratio
	srt      string  // the srt-live-transmit binary
	vstreamd string  // the vstreamd binary; "": build it
	perf     string  // perf record output for the first vstreamd window; "": none
}

func main() {
	var s settings
	flag.DurationVar(&s.seconds, "seconds", 15*time.Second, "measuring window of each measurement")
	flag.DurationVar(&s.warmup, "warmup", 3*time.Second, "time to settle after the stream starts, before measuring")
	flag.IntVar(&s.rounds, "rounds", 3, "rounds, each measuring vstreamd then SRT")
	flag.IntVar(&s.fps, "fps", 30, "vstreamd frames per second")
	flag.IntVar(&s.frame, "frame", 100_000, "wanted size of the 1280x720 JPEG files in bytes (a quality is picked to come close)")
	flag.Float64Var(&s.parity, "parity", 0.25, "vstreamd parity ratio")
	flag.StringVar(&s.srt, "srt", "srt-live-transmit", "the srt-live-transmit binary")
	flag.StringVar(&s.vstreamd, "vstreamd", "", "a vstreamd binary to use (default: go build ./cmd/vstreamd)")
	flag.StringVar(&s.perf, "perf", "", "record the two daemons with perf (perf record -g) over the first vstreamd window into this file")
	vstreamdOnly := flag.Bool("vstreamd-only", false, "measure vstreamd only, not SRT")
	flag.Parse()
	if err := run(s, !*vstreamdOnly, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "srtcompare:", err)
		os.Exit(1)
	}
}

// measurement is one side's result over one window.
type measurement struct {
	cpu     time.Duration // on CPU over wall, all processes of the side
	wall    time.Duration
	mediaMb float64 // media Mb/s carried
	wireMb  float64 // Mb/s on the wire (vstreamd: datagrams sent; SRT: payload)
	detail  string  // more to say, or ""
}

// perTen is the share of one core per 10 Mb/s of media, in percent.
func (m measurement) perTen() float64 {
	return 100 * m.cpu.Seconds() / m.wall.Seconds() / (m.mediaMb / 10)
}

// core is the share of one core, in percent.
func (m measurement) core() float64 { return 100 * m.cpu.Seconds() / m.wall.Seconds() }

func run(s settings, withSRT bool, out io.Writer) error {
	if s.rounds < 1 || s.seconds <= 0 {
		return fmt.Errorf("want -rounds >= 1 and -seconds > 0")
	}
	v, err := setUp(s)
	if err != nil {
		return err
	}
	defer v.cleanUp()
	fmt.Fprintf(out, "%s, load average %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), procstat.LoadAvg(3))
	fmt.Fprintf(out, "vstreamd: %d JPEG files of 1280x720, %d bytes on average (pattern, quality %d), %d fps, parity %g, encrypted\n",
		len(v.sizes), mean(v.sizes), v.quality, s.fps, s.parity)
	var ratios []float64
	for round := 1; round <= s.rounds; round++ {
		vm, err := v.measure(s, round == 1)
		if err != nil {
			return fmt.Errorf("round %d: vstreamd: %w", round, err)
		}
		fmt.Fprintf(out, "round %d: vstreamd %.1f Mb/s media (%.1f on the wire), %.1f%% of a core: %.2f%% per 10 Mb/s\n         (%s)\n",
			round, vm.mediaMb, vm.wireMb, vm.core(), vm.perTen(), vm.detail)
		if !withSRT {
			continue
		}
		sm, err := measureSRT(s, vm.mediaMb)
		if err != nil {
			return fmt.Errorf("round %d: srt: %w", round, err)
		}
		ratio := vm.perTen() / sm.perTen()
		ratios = append(ratios, ratio)
		fmt.Fprintf(out, "round %d: srt-live-transmit %.1f Mb/s, %.1f%% of a core: %.2f%% per 10 Mb/s; vstreamd / srt %.2f\n",
			round, sm.mediaMb, sm.core(), sm.perTen(), ratio)
	}
	if len(ratios) > 0 {
		fmt.Fprintf(out, "median vstreamd / srt: %.2f over %d rounds (target <= 0.33); load average %s\n", median(ratios), len(ratios), procstat.LoadAvg(3))
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mean(v []int) int {
	if len(v) == 0 {
		return 0
	}
	total := 0
	for _, x := range v {
		total += x
	}
	return total / len(v)
}
