package archive

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/internal/benchpack"
)

// benchScale gives a tree of about 75 MB shaped like a pack.
const benchScale = 0.1

var (
	benchOnce sync.Once
	benchRoot string // generated here, removed by TestMain
	benchPath string // the tree benchmarked
	benchSize int64
	benchErr  error
)

// benchTree generates the benchmark tree once per test binary run, or uses
// the tree named by CARBONGUARD_BENCH_TREE (e.g. a full-size pack made by
// internal/benchpack/cmd/benchpack), so that profiles of a real-sized run
// are not mixed with the generator's own work.
func benchTree(b *testing.B) (string, int64) {
	benchOnce.Do(func() {
		if root := os.Getenv("CARBONGUARD_BENCH_TREE"); root != "" {
			benchPath = root
			benchSize, benchErr = treeBytes(benchPath)
			return
		}
		dir, err := os.MkdirTemp("", "cg-bench-*")
		if err != nil {
			benchErr = err
			return
		}
		benchRoot = filepath.Join(dir, "pack")
		if benchErr = benchpack.Generate(benchRoot, benchScale); benchErr != nil {
			return
		}
		benchPath = benchRoot
		benchSize, benchErr = treeBytes(benchPath)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath, benchSize
}

func benchStore(b *testing.B) *Store {
	s, err := OpenStore(filepath.Join(b.TempDir(), "snapshots"), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkCreate(b *testing.B) {
	root, size := benchTree(b)
	s := benchStore(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		m, err := s.Create(context.Background(), root, CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Delete(m.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func BenchmarkVerify(b *testing.B) {
	root, size := benchTree(b)
	s := benchStore(b)
	m, err := s.Create(context.Background(), root, CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Verify(context.Background(), m.ID, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkRestore(b *testing.B, noSync bool) {
	root, size := benchTree(b)
	s := benchStore(b)
	m, err := s.Create(context.Background(), root, CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	target := filepath.Join(b.TempDir(), "restored")
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Restore(context.Background(), m.ID, target, RestoreOptions{NoSync: noSync}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(target); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkRestore includes the syncfs that makes the staged tree durable
// before the swap.
func BenchmarkRestore(b *testing.B) { benchmarkRestore(b, false) }

// BenchmarkRestoreNoSync leaves the flush to the kernel, as tar -x does.
func BenchmarkRestoreNoSync(b *testing.B) { benchmarkRestore(b, true) }

func treeBytes(root string) (int64, error) {
	w, err := walkInto(context.Background(), root, nil, nil, nil)
	if err != nil {
		return 0, err
	}
	return w.bytes, nil
}
