package impair

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

type unit struct {
	suffix string
	mult   int64
}

// rateUnits returns the bit-rate suffixes ParseRate accepts, SI multiples,
// largest first.
func rateUnits() [4]unit {
	return [...]unit{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
}

// byteUnits returns the size suffixes ParseQueue accepts, ordered so that
// no suffix is tried before a longer one that ends with it.
func byteUnits() [5]unit {
	return [...]unit{{"kib", 1 << 10}, {"mib", 1 << 20}, {"kb", 1000}, {"mb", 1000 * 1000}, {"b", 1}}
}

// ParseRate reads a bit rate such as "8mbit", "1.5gbit", "500kbit" or "0"
// (no cap) and returns bits per second. Units are case-insensitive and
// decimal (1mbit = 1,000,000 bit/s).
func ParseRate(s string) (int64, error) {
	if s == "0" {
		return 0, nil
	}
	low := strings.ToLower(strings.TrimSpace(s))
	for _, u := range rateUnits() {
		num, ok := strings.CutSuffix(low, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a number followed by bit, kbit, mbit or gbit", s)
		}
		bps := f * float64(u.mult)
		if bps < 1 || bps > 1e12 {
			return 0, fmt.Errorf("%s: must be between 1bit and 1000gbit (or 0 for no cap)", s)
		}
		return int64(math.Round(bps)), nil
	}
	return 0, fmt.Errorf("%q has no unit: write e.g. 8mbit, 500kbit or 1gbit (bits per second)", s)
}

// FormatRate formats bits per second the way ParseRate reads it.
func FormatRate(bps int64) string {
	for _, u := range rateUnits() {
		if m := u.mult; bps >= m && bps%m == 0 {
			return strconv.FormatInt(bps/m, 10) + u.suffix
		}
	}
	return strconv.FormatInt(bps, 10) + "bit"
}

// ParseQueue reads a queue size: bytes ("64KB", "64KiB", "1MB", "1500B" or
// a bare "1500") or the time the queue takes to drain ("50ms"). KB and MB
// are decimal, KiB and MiB binary; units are case-insensitive.
func ParseQueue(s string) (Queue, error) {
	low := strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.ParseInt(low, 10, 64); err == nil {
		if n < 0 {
			return Queue{}, fmt.Errorf("%s: must not be negative", s)
		}
		return Queue{Bytes: n}, nil
	}
	for _, u := range byteUnits() {
		num, ok := strings.CutSuffix(low, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			break
		}
		if f < 0 || f*float64(u.mult) > 1<<30 {
			return Queue{}, fmt.Errorf("%s: must be between 0 and 1GiB", s)
		}
		return Queue{Bytes: int64(math.Round(f * float64(u.mult)))}, nil
	}
	if d, err := time.ParseDuration(low); err == nil {
		if d < 0 {
			return Queue{}, fmt.Errorf("%s: must not be negative", s)
		}
		return Queue{Time: d}, nil
	}
	return Queue{}, fmt.Errorf("%q is neither a size (64KB, 64KiB, 1500B) nor a time (50ms)", s)
}

// formatBytes formats n the way ParseQueue reads it.
func formatBytes(n int64) string {
	switch {
	case n >= 1000*1000 && n%(1000*1000) == 0:
		return strconv.FormatInt(n/(1000*1000), 10) + "MB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "KB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}
