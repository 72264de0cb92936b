// Command vstreamd is a low-latency two-way video link over UDP: each
// endpoint captures, encodes and sends its video to its peer with
// Reed-Solomon parity, and shows what the peer sends.
//
//	vstreamd run [-config PATH]            run the daemon
//	vstreamd status [-socket PATH | -config PATH] [-json] [-watch]
//	vstreamd check-config [-config PATH]   validate a config file
//	vstreamd genkey [-o FILE]              make a new pre-shared key
//	vstreamd version
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes.
const (
	exitOK         = 0
	exitFailure    = 1 // the daemon failed while running
	exitUsage      = 2 // bad flags or a bad config file
	exitNotRunning = 3 // status: no daemon answers (like systemctl status)
)

// release is the version of this source tree.
const release = "0.1.0"

const defaultConfig = "/etc/vstreamd/config.toml"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, stderr)
	case "status":
		return cmdStatus(rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "genkey":
		return cmdGenkey(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "vstreamd", version())
		return exitOK
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "vstreamd: unknown command %q\n\n", cmd)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `vstreamd: a low-latency two-way video link over UDP

Usage:
  vstreamd run [-config PATH]
        Run the daemon: stream this endpoint's video to the peer named in
        the config and show the peer's. SIGHUP reloads the config; SIGTERM
        or SIGINT stops. Default config: `+defaultConfig+`
  vstreamd status [-socket PATH | -config PATH] [-json] [-watch]
        Ask the running daemon how the call is going. Exits 3 when no
        daemon is running.
  vstreamd check-config [-config PATH]
        Validate a config file and print what it sets up.
  vstreamd genkey [-o FILE]
        Print (or write to a new 0600 FILE) a random pre-shared key; both
        endpoints need it in the file [security] key_file names.
  vstreamd version
        Print the version.

Run "vstreamd COMMAND -h" for a command's flags.
`)
}

// version is the release plus the VCS revision the binary was built from.
func version() string {
	v := release
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev + dirty + ")"
		}
	}
	return v
}
