package systemd

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/media"
)

const installScript = "../install.sh"

// fakeBinary writes a stand-in for vstreamd whose genkey prints key, or
// fails when key is empty.
func fakeBinary(t *testing.T, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vstreamd")
	genkey := "echo " + key
	if key == "" {
		genkey = "echo 'genkey is not available in this build' >&2; exit 1"
	}
	script := "#!/bin/sh\ncase \"$1\" in\ngenkey) " + genkey + " ;;\n*) echo fake vstreamd ;;\nesac\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// install runs install.sh with DESTDIR set (always: the tests never touch
// the real system) and HOME pointing at home.
func install(t *testing.T, destdir, home string, args ...string) (string, error) {
	t.Helper()
	if destdir == "" {
		t.Fatal("install.sh must only run with DESTDIR in tests")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	cmd := exec.Command("bash", append([]string{installScript}, args...)...)
	cmd.Env = append(os.Environ(), "DESTDIR="+destdir, "HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fi.Mode()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallSystem(t *testing.T) {
	dest := t.TempDir()
	bin := fakeBinary(t, "KEY-ONE")
	out, err := install(t, dest, t.TempDir(), "--binary", bin)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	files := []struct {
		path string
		mode fs.FileMode
	}{
		{"usr/local/bin/vstreamd", 0o755},
		{"etc/vstreamd", fs.ModeDir | 0o750},
		{"etc/vstreamd/config.toml", 0o640},
		{"etc/vstreamd/psk", 0o600},
		{"etc/systemd/system/vstreamd.service", 0o644},
	}
	for _, f := range files {
		if got := mode(t, filepath.Join(dest, f.path)); got != f.mode {
			t.Errorf("%s mode = %v, want %v", f.path, got, f.mode)
		}
	}
	if got, want := read(t, filepath.Join(dest, "usr/local/bin/vstreamd")), read(t, bin); got != want {
		t.Errorf("installed binary differs from --binary")
	}
	if got, want := read(t, filepath.Join(dest, "etc/systemd/system/vstreamd.service")), read(t, "vstreamd.service"); got != want {
		t.Errorf("installed unit differs from scripts/systemd/vstreamd.service")
	}
	if got := read(t, filepath.Join(dest, "etc/vstreamd/psk")); got != "KEY-ONE\n" {
		t.Errorf("psk = %q, want the output of vstreamd genkey", got)
	}

	confPath := filepath.Join(dest, "etc/vstreamd/config.toml")
	c, err := config.Load(confPath)
	if err != nil {
		t.Fatalf("installed config does not load: %v", err)
	}
	if c.Capture.Kind != media.SourceCamera || c.Capture.Device != "0" || c.Display.Kind != media.SinkNull ||
		c.Security.KeyFile != "/etc/vstreamd/psk" || !c.Security.Encryption || c.Control.Socket != "/run/vstreamd/vstreamd.sock" {
		t.Errorf("installed config = %+v, want camera 0, sink null, encryption with /etc/vstreamd/psk, socket in /run/vstreamd", c)
	}
	for _, w := range []string{"sudo systemctl enable --now vstreamd", "Set peer in /etc/vstreamd/config.toml", "copy /etc/vstreamd/psk"} {
		if !strings.Contains(out, w) {
			t.Errorf("install.sh output does not mention %q:\n%s", w, out)
		}
	}

	// Again, after the admin edited the config: the config and the key are
	// kept, the binary is replaced.
	edited := strings.Replace(read(t, confPath), `peer = "192.0.2.10:5600"`, `peer = "198.51.100.7:5600"`, 1)
	if err := os.WriteFile(confPath, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	bin2 := fakeBinary(t, "KEY-TWO")
	if err := os.WriteFile(bin2, append([]byte(read(t, bin2)), "# v2\n"...), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = install(t, dest, t.TempDir(), "--binary", bin2)
	if err != nil {
		t.Fatalf("install.sh the second time: %v\n%s", err, out)
	}
	if got := read(t, confPath); got != edited {
		t.Error("a second install changed the existing config")
	}
	if got := read(t, filepath.Join(dest, "etc/vstreamd/psk")); got != "KEY-ONE\n" {
		t.Errorf("a second install replaced the key: psk = %q", got)
	}
	if !strings.HasSuffix(read(t, filepath.Join(dest, "usr/local/bin/vstreamd")), "# v2\n") {
		t.Error("a second install did not replace the binary")
	}
}

func TestInstallUser(t *testing.T) {
	dest, home := t.TempDir(), t.TempDir()
	out, err := install(t, dest, home, "--user", "--binary", fakeBinary(t, "USERKEY"))
	if err != nil {
		t.Fatalf("install.sh --user: %v\n%s", err, out)
	}
	root := filepath.Join(dest, home)
	for path, want := range map[string]fs.FileMode{
		".local/bin/vstreamd":                   0o755,
		".config/vstreamd":                      fs.ModeDir | 0o700,
		".config/vstreamd/config.toml":          0o600,
		".config/vstreamd/psk":                  0o600,
		".config/systemd/user/vstreamd.service": 0o644,
	} {
		if got := mode(t, filepath.Join(root, path)); got != want {
			t.Errorf("~/%s mode = %v, want %v", path, got, want)
		}
	}
	if got, want := read(t, filepath.Join(root, ".config/systemd/user/vstreamd.service")), read(t, "vstreamd-user.service"); got != want {
		t.Error("installed user unit differs from scripts/systemd/vstreamd-user.service")
	}
	c, err := config.Load(filepath.Join(root, ".config/vstreamd/config.toml"))
	if err != nil {
		t.Fatalf("installed user config does not load: %v", err)
	}
	socket := "/run/user/" + strconv.Itoa(os.Getuid()) + "/vstreamd.sock"
	if c.Control.Socket != socket || c.Security.KeyFile != filepath.Join(home, ".config/vstreamd/psk") || c.Display.Kind != media.SinkWindow {
		t.Errorf("user config: socket %q, key_file %q, sink %v; want %q, %q, window",
			c.Control.Socket, c.Security.KeyFile, c.Display.Kind, socket, filepath.Join(home, ".config/vstreamd/psk"))
	}
	if !strings.Contains(out, "systemctl --user enable --now vstreamd") {
		t.Errorf("install.sh --user output does not give the systemctl --user step:\n%s", out)
	}
}

func TestInstallDryRun(t *testing.T) {
	dest := t.TempDir()
	out, err := install(t, dest, t.TempDir(), "--dry-run", "--binary", fakeBinary(t, "K"))
	if err != nil {
		t.Fatalf("install.sh --dry-run: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("--dry-run created %d entries in DESTDIR", len(entries))
	}
	for _, w := range []string{"+ install -D -m 0755", "genkey >", "+ install -D -m 0644"} {
		if !strings.Contains(out, w) {
			t.Errorf("--dry-run output does not show %q:\n%s", w, out)
		}
	}
}

func TestInstallErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing binary", []string{"--binary", "/nonexistent/vstreamd"}, "is not an executable file"},
		{"unknown flag", []string{"--frobnicate"}, "unknown argument --frobnicate"},
		{"genkey fails", []string{"--binary", fakeBinary(t, "")}, "'vstreamd genkey' failed"},
	}
	for _, tc := range tests {
		dest := t.TempDir()
		out, err := install(t, dest, t.TempDir(), tc.args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("install.sh %s: error %v, output:\n%s\nwant a failure saying %q", tc.name, err, out, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dest, "etc/vstreamd/psk")); err == nil {
			t.Errorf("install.sh %s left a key behind", tc.name)
		}
		leftovers, _ := filepath.Glob(filepath.Join(dest, "etc/vstreamd/.*"))
		if len(leftovers) != 0 {
			t.Errorf("install.sh %s left temporary files: %v", tc.name, leftovers)
		}
	}
}

// TestInstallHelp checks --help prints the usage from the script's header.
func TestInstallHelp(t *testing.T) {
	out, err := install(t, t.TempDir(), t.TempDir(), "--help")
	if err != nil || !strings.Contains(out, "--binary PATH") || strings.Contains(out, "set -euo") {
		t.Errorf("install.sh --help = %v:\n%s", err, out)
	}
}
