package testpack

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var insecure = &http.Client{
	Timeout:   3 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the fake's throwaway cert
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := insecure.Get(url)
	require.NoError(t, err, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func portOpen(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func startedLine(p *Pack) string {
	if p.Name == "mi-4.3" {
		return "WSO2 Micro Integrator started in"
	}
	return "WSO2 Carbon started in"
}

// start runs `<script> start` and waits for the started line.
func start(t *testing.T, p *Pack, args ...string) {
	t.Helper()
	out, err := p.Command(append([]string{"start"}, args...)...).CombinedOutput()
	require.NoError(t, err, string(out))
	p.WaitLog(t, startedLine(p), 10*time.Second)
}

func waitGone(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %v", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exitCode runs cmd and returns its exit status and combined output.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err == nil {
		return 0, string(out)
	}
	ee, ok := err.(*exec.ExitError)
	require.True(t, ok, "run %v: %v\n%s", cmd.Args, err, out)
	return ee.ExitCode(), string(out)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func strconvItoa(n int) string { return fmt.Sprint(n) }
