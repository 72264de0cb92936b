package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vstreamd/vstreamd/daemon"
)

// columns returns the table's headings; cells returns a row in this order.
func columns() []string {
	return []string{
		"condition", "codec", "parity", "sent", "delivered", "shown/frozen (recov)", "MDS bound", "FEC used",
		"late/inc/lost", "corrupt",
		"transport p50/p95/p99 ms", "capture p50/p95/p99 ms",
		"goodput Mb/s", "wire Mb/s", "enc A/dec B ms", "relay drop", "sock drops", "src drops",
		"CPU A/B/relay %", "runq wait A/B ms/s", "peak RSS A/B MB (anon)",
	}
}

func (r result) cells() []string {
	bound := "n/a"
	if r.MDSBound != nil {
		bound = pct(*r.MDSBound)
	}
	cond := r.Condition
	if r.CapBps > 0 {
		cond = fmt.Sprintf("%s %.1f Mb/s", cond, r.CapBps/1e6)
	}
	return []string{
		cond,
		r.Codec,
		fmt.Sprintf("%.2f", r.Parity),
		fmt.Sprint(r.Sent),
		pct(r.DeliveredRatio),
		fmt.Sprintf("%d/%d (%d)", r.Shown, r.Frozen, r.Recoveries),
		bound,
		fmt.Sprint(r.Recovered),
		fmt.Sprintf("%d/%d/%d", r.Late, r.Incomplete, r.Lost),
		fmt.Sprint(r.Corrupt),
		lat(r.Transport),
		lat(r.Capture),
		fmt.Sprintf("%.1f", r.GoodputBps/1e6),
		fmt.Sprintf("%.1f", r.WireBps/1e6),
		fmt.Sprintf("%.1f/%.1f", r.EncodeMs, r.DecodeMs),
		pct(r.RelayDrop),
		fmt.Sprint(r.SocketDrops),
		fmt.Sprint(r.SourceDrops),
		fmt.Sprintf("%.0f/%.0f/%.0f", r.CPUA, r.CPUB, r.CPURelay),
		fmt.Sprintf("%.0f/%.0f", r.WaitA, r.WaitB),
		fmt.Sprintf("%.0f/%.0f (%.0f/%.0f)", mib(r.RSSA), mib(r.RSSB), mib(r.AnonA), mib(r.AnonB)),
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func pct(x float64) string { return fmt.Sprintf("%.2f%%", x*100) }

func lat(p daemon.Percentiles) string {
	if p.Samples == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f/%.1f/%.1f", p.P50, p.P95, p.P99)
}

// writeText writes the table aligned in columns.
func writeText(w io.Writer, rows []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns(), "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t")+"\t")
	}
	return tw.Flush()
}

// writeMarkdown writes the table as GitHub-flavoured Markdown.
func writeMarkdown(w io.Writer, rows []result) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(columns(), " | ") + " |\n|")
	for i := range columns() {
		if i < 2 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r.cells(), " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
