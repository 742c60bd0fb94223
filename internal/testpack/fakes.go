package testpack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
)

// FakeBins are the paths of the built fake binaries. Treat them as read-only:
// New copies them into each pack.
type FakeBins struct {
	JVM string // fakejvm, installed as <jdk>/bin/java
	U2  string // fakeu2, installed as <pack>/bin/wso2update_linux
}

var (
	fakesOnce sync.Once
	fakesBins FakeBins
	fakesErr  error
)

// Fakes builds fakejvm and fakeu2 once per test process. The output lives in
// a directory named by a hash of the fakes' sources and the toolchain, so
// parallel package test processes and repeated runs reuse one build.
func Fakes(t testing.TB) FakeBins {
	t.Helper()
	fakesOnce.Do(func() { fakesBins, fakesErr = buildFakes() })
	if fakesErr != nil {
		t.Fatalf("testpack: building fakes: %v", fakesErr)
	}
	return fakesBins
}

// ModuleRoot is the carbonguard module root, found from this source file.
func ModuleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testpack: runtime.Caller failed")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func buildFakes() (FakeBins, error) {
	root := ModuleRoot()
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	// Every source the fakes are built from: their own and the project
	// packages they import.
	for _, dir := range []string{"internal/fakes", "internal/durable", "internal/copytree", "go.mod", "go.sum"} {
		if err := hashTree(h, filepath.Join(root, dir)); err != nil {
			return FakeBins{}, err
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(os.TempDir(), "carbonguard-fakes-"+sum)
	bins := FakeBins{JVM: filepath.Join(out, "fakejvm"), U2: filepath.Join(out, "fakeu2")}
	if fileExists(bins.JVM) && fileExists(bins.U2) {
		return bins, nil
	}
	// Build into a private directory and rename it into place, so another
	// process never sees a half-written binary.
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return FakeBins{}, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), "carbonguard-fakes-build-")
	if err != nil {
		return FakeBins{}, err
	}
	defer os.RemoveAll(tmp)
	for name, pkg := range map[string]string{"fakejvm": "./internal/fakes/fakejvm", "fakeu2": "./internal/fakes/fakeu2"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(tmp, name), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return FakeBins{}, fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		if fileExists(bins.JVM) && fileExists(bins.U2) {
			return bins, nil // another process won the race
		}
		return FakeBins{}, err
	}
	return bins, nil
}

func hashTree(h io.Writer, root string) error {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
