package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// errSkip reports that namespaces cannot be used here.
var errSkip = errors.New("network namespaces are not available")

// skipStatus is netns.sh's exit status for "not permitted here".
const skipStatus = 77

// setupNetns creates the two-hosts topology with scripts/netns.sh and
// returns it with a function that removes it again.
func setupNetns(script string) (network, func() error, error) {
	id := fmt.Sprintf("vsb%dx%d", os.Getpid(), rand.IntN(1e6))
	var stderr bytes.Buffer
	cmd := exec.Command(script, "up", id)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == skipStatus {
		return network{}, nil, fmt.Errorf("%w: %s", errSkip, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return network{}, nil, fmt.Errorf("%s up %s: %w: %s", script, id, err, strings.TrimSpace(stderr.String()))
	}
	down := func() error {
		_, err := commandOutput(script, "down", id)
		return err
	}
	n, err := parseTopology(out)
	if err != nil {
		return network{}, nil, errors.Join(err, down())
	}
	return n, down, nil
}

// parseTopology reads the KEY=VALUE lines `netns.sh up` prints.
func parseTopology(out []byte) (network, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			kv[k] = v
		}
	}
	var n network
	var errs []error
	addr := func(key string) netip.Addr {
		a, err := netip.ParseAddr(kv[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("netns.sh up: %s=%q: %w", key, kv[key], err))
		}
		return a
	}
	port := func(key string) uint16 {
		p, err := strconv.ParseUint(kv[key], 10, 16)
		if err != nil || p == 0 {
			errs = append(errs, fmt.Errorf("netns.sh up: %s=%q is not a port", key, kv[key]))
		}
		return uint16(p)
	}
	n.nsA, n.nsB, n.nsRelay = kv["NS_A"], kv["NS_B"], kv["NS_RELAY"]
	if n.nsA == "" || n.nsB == "" || n.nsRelay == "" {
		errs = append(errs, fmt.Errorf("netns.sh up: namespace names missing in its output %q", out))
	}
	n.addrA, n.addrB = addr("ADDR_A"), addr("ADDR_B")
	n.relayA, n.relayB = addr("RELAY_A"), addr("RELAY_B")
	n.portA = port("DAEMON_PORT")
	n.portB = n.portA
	n.relayPortA, n.relayPortB = port("RELAY_PORT_A"), port("RELAY_PORT_B")
	return n, errors.Join(errs...)
}
