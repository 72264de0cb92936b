package web

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
)

// TestGrafanaDashboard: scripts/grafana/vstreamd.json is valid JSON and
// every metric its queries name is one /metrics serves.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../../scripts/grafana/vstreamd.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	m := NewMetrics()
	m.SetStatus(fakeStatus)
	m.FrameDelivered(daemon.Delivered{Latency: time.Millisecond, Transport: time.Millisecond})
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range fams {
		served[f.GetName()] = true
	}
	name := regexp.MustCompile(`\b(vstreamd|process|go)_[a-z0-9_]+\b`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
				if !served[base] {
					t.Errorf("panel %q queries %s, which /metrics does not serve", p.Title, n)
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries, want the call's main series", queries)
	}
}
