// Package systemd holds vstreamd's systemd units and tests them, together
// with scripts/install.sh that installs them. It has no Go code of its own.
package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type unit struct {
	file      string
	user      bool
	execStart string // the binary ExecStart names, replaced for verify
}

// units lists the unit files. Both are installed as vstreamd.service, the
// user unit in ~/.config/systemd/user.
func units() []unit {
	return []unit{
		{"vstreamd.service", false, "/usr/local/bin/vstreamd"},
		{"vstreamd-user.service", true, "%h/.local/bin/vstreamd"},
	}
}

func analyze(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd): the units can not be verified here")
	}
	return path
}

// verify runs systemd-analyze verify on unit text saved as vstreamd.service
// in a fresh directory, and returns the lines it printed and its error.
func verify(t *testing.T, text string, user bool) ([]string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "vstreamd.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", path}
	if user {
		args = append([]string{"--user"}, args...)
	}
	cmd := exec.Command(analyze(t), args...)
	runtime := filepath.Join(dir, "runtime") // the user manager wants $XDG_RUNTIME_DIR
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	out, err := cmd.CombinedOutput()
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, err
}

// aboutUnit picks the lines that concern our unit rather than units of the
// machine the test runs on.
func aboutUnit(lines []string) []string {
	var ours []string
	for _, l := range lines {
		if strings.Contains(l, "vstreamd") {
			ours = append(ours, l)
		}
	}
	return ours
}

// runnable returns the unit's text with ExecStart's binary replaced by one
// that exists, since verify checks that it does.
func runnable(t *testing.T, file, execStart string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	old := "\nExecStart=" + execStart + " "
	if !strings.Contains(text, old) {
		t.Fatalf("%s has no line starting %q", file, strings.TrimSpace(old))
	}
	real, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(text, old, "\nExecStart="+real+" ", 1)
}

func TestUnitsVerify(t *testing.T) {
	for _, u := range units() {
		t.Run(u.file, func(t *testing.T) {
			lines, err := verify(t, runnable(t, u.file, u.execStart), u.user)
			for _, l := range lines {
				t.Logf("systemd-analyze: %s", l)
			}
			if err != nil {
				t.Errorf("systemd-analyze verify %s failed: %v", u.file, err)
			}
			for _, l := range aboutUnit(lines) {
				t.Errorf("systemd-analyze verify %s: %s", u.file, l)
			}
		})
	}
}

// TestVerifyCatchesMistakes shows that TestUnitsVerify can fail: the same
// check reports a misspelt directive and a missing binary.
func TestVerifyCatchesMistakes(t *testing.T) {
	for _, u := range units() {
		good := runnable(t, u.file, u.execStart)
		bad := strings.Replace(good, "\nRestart=on-failure\n", "\nRestart=on-failure\nRestartSecs=2s\n", 1)
		if bad == good {
			t.Fatalf("%s has no Restart=on-failure line", u.file)
		}
		lines, _ := verify(t, bad, u.user)
		if found := aboutUnit(lines); len(found) == 0 || !strings.Contains(strings.Join(found, "\n"), "RestartSecs") {
			t.Errorf("%s with a misspelt key: verify printed %q, want a line about RestartSecs", u.file, lines)
		}
		missing := strings.Replace(good, "\nExecStart=", "\nExecStart=/nonexistent/vstreamd-", 1)
		lines, err := verify(t, missing, u.user)
		if err == nil && len(aboutUnit(lines)) == 0 {
			t.Errorf("%s with a missing binary: verify passed silently", u.file)
		}
	}
}

// directives returns the unit's "Key=value" lines by section.
func directives(t *testing.T, file string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d := map[string][]string{}
	section := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			section = strings.Trim(l, "[]")
		default:
			d[section] = append(d[section], l)
		}
	}
	return d
}

func TestUnitSettings(t *testing.T) {
	common := []string{
		"Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
		"WatchdogSec=10s", "NoNewPrivileges=yes",
	}
	want := map[string][]string{
		"vstreamd.service": append([]string{
			"ExecStart=/usr/local/bin/vstreamd run -config /etc/vstreamd/config.toml",
			"RuntimeDirectory=vstreamd", "RuntimeDirectoryMode=0750",
			"User=vstreamd", "Group=vstreamd", "SupplementaryGroups=video",
			"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ProtectKernelTunables=yes",
			"ProtectKernelModules=yes", "ProtectControlGroups=yes",
			"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "RestrictNamespaces=yes", "LockPersonality=yes",
			"MemoryDenyWriteExecute=yes", "SystemCallArchitectures=native", "CapabilityBoundingSet=",
			"PrivateDevices=no", "DevicePolicy=closed", "DeviceAllow=char-video4linux rw",
			"LimitNOFILE=4096", "MemoryMax=512M",
		}, common...),
		"vstreamd-user.service": append([]string{
			"ExecStart=%h/.local/bin/vstreamd run -config %h/.config/vstreamd/config.toml",
		}, common...),
	}
	install := map[string]string{"vstreamd.service": "multi-user.target", "vstreamd-user.service": "graphical-session.target"}
	for file, lines := range want {
		d := directives(t, file)
		for _, w := range lines {
			found := false
			for _, l := range d["Service"] {
				found = found || l == w
			}
			if !found {
				t.Errorf("%s: [Service] lacks %s", file, w)
			}
		}
		if got := strings.Join(d["Install"], " "); got != "WantedBy="+install[file] {
			t.Errorf("%s: [Install] = %q, want WantedBy=%s", file, got, install[file])
		}
	}
	user := strings.Join(directives(t, "vstreamd-user.service")["Unit"], " ")
	for _, w := range []string{"After=graphical-session.target", "PartOf=graphical-session.target"} {
		if !strings.Contains(user, w) {
			t.Errorf("vstreamd-user.service: [Unit] lacks %s", w)
		}
	}
}
