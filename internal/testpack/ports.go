package testpack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// basePorts are the default ports any fixture's fake server may open
// (servlet HTTPS/HTTP, pass-through HTTP/HTTPS, MI management and internal
// API). Checking them all for every pack keeps the choice product-agnostic.
var basePorts = []int{9443, 9763, 8280, 8243, 9154, 9191}

// Offsets stay below 22000 so that every effective port sits under Linux's
// ephemeral range (32768+), where outgoing connections would collide.
const (
	minOffset = 100
	maxOffset = 22000
)

// portLocks holds flocks on one file per effective port in a directory shared
// by all test processes on the machine, so parallel packages never choose
// overlapping offsets; a bind test skips ports used by anything else.
type portLocks struct {
	offset int
	files  []*os.File
}

func lockFreeOffset(t testing.TB) *portLocks {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "carbonguard-testpack-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("testpack: %v", err)
	}
	for attempt := 0; attempt < 200; attempt++ {
		off := minOffset + rand.IntN(maxOffset-minOffset)
		if l := tryOffset(dir, off); l != nil {
			return l
		}
	}
	t.Fatalf("testpack: no free port offset found in 200 attempts")
	return nil
}

func tryOffset(dir string, off int) *portLocks {
	l := &portLocks{offset: off}
	for _, base := range basePorts {
		port := base + off
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			l.release()
			return nil
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			l.release()
			return nil
		}
		l.files = append(l.files, f)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			l.release()
			return nil
		}
		ln.Close()
	}
	return l
}

func (l *portLocks) release() {
	for _, f := range l.files {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
	l.files = nil
}
