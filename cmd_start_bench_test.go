package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// BenchmarkSupervisorRSS measures carbonguard's own memory while it
// supervises the fake server: the real binary, built with the release
// flags, runs "carbonguard run" (judging the boot, then forwarding signals)
// and "carbonguard start" (judging the boot). VmHWM (peak resident set) is
// read from /proc/<pid>/status. The goal is under 30 MB. Run with
//
//	go test -run XXX -bench SupervisorRSS -benchtime 3x .
func BenchmarkSupervisorRSS(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "carbonguard")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	var runHWM, startHWM []float64
	for i := 0; i < b.N; i++ {
		runHWM = append(runHWM, measureRun(b, bin))
		startHWM = append(startHWM, measureStart(b, bin))
	}
	b.ReportMetric(maxf(runHWM), "run-VmHWM-MB")
	b.ReportMetric(maxf(startHWM), "start-VmHWM-MB")
}

func benchEnv(b *testing.B, tp *testpack.Pack) []string {
	cfg := filepath.Join(b.TempDir(), "carbonguard.toml")
	if err := os.WriteFile(cfg, []byte("[start]\nallow_root = true\ngate = false\nstability = \"2s\"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return append(tp.Env(), "CARBONGUARD_CONFIG="+cfg, "CARBONGUARD_STATE_DIR="+filepath.Join(b.TempDir(), "state"), "CARBON_HOME="+tp.Home)
}

// measureRun: run in the foreground, READY=1 through a notify socket, five
// more seconds of supervision, then SIGTERM.
func measureRun(b *testing.B, bin string) float64 {
	tp := testpack.New(b, "apim-4.2")
	sock := filepath.Join(b.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(bin, "-q", "run")
	cmd.Env = append(benchEnv(b, tp), "NOTIFY_SOCKET="+sock)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	buf := make([]byte, 512)
	_ = ln.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		n, err := ln.Read(buf)
		if err != nil {
			b.Fatalf("no READY=1: %v", err)
		}
		if strings.HasPrefix(string(buf[:n]), "READY=1") {
			break
		}
	}
	time.Sleep(5 * time.Second)
	hwm := vmHWM(b, cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	return hwm
}

// measureStart samples the start command's peak until just before it exits.
func measureStart(b *testing.B, bin string) float64 {
	tp := testpack.New(b, "apim-4.2")
	env := benchEnv(b, tp)
	cmd := exec.Command(bin, "-q", "start")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var hwm float64
	for {
		select {
		case err := <-done:
			if err != nil {
				b.Fatalf("start: %v", err)
			}
			stop := exec.Command(bin, "-q", "stop")
			stop.Env = env
			_ = stop.Run()
			return hwm
		case <-time.After(20 * time.Millisecond):
			if v, ok := readHWM(cmd.Process.Pid); ok {
				hwm = v
			}
		}
	}
}

func vmHWM(b *testing.B, pid int) float64 {
	v, ok := readHWM(pid)
	if !ok {
		b.Fatalf("no VmHWM for pid %d", pid)
	}
	return v
}

// readHWM reads VmHWM in MB.
func readHWM(pid int) (float64, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				return 0, false
			}
			return float64(kb) / 1024, true
		}
	}
	return 0, false
}

func maxf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		if x > m {
			m = x
		}
	}
	return m
}
