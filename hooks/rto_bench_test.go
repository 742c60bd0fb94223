package hooks

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/wrapper"
)

// timedServer is fileServer that remembers when each boot was judged up.
type timedServer struct {
	fileServer
	mu     sync.Mutex
	upAt   []time.Time
	failAt []time.Time
}

func (s *timedServer) Start(ctx context.Context) (*wrapper.Verdict, error) {
	v, err := s.fileServer.Start(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v != nil && v.State == wrapper.Up {
		s.upAt = append(s.upAt, time.Now())
	} else {
		s.failAt = append(s.failAt, time.Now())
	}
	return v, err
}

// benchPack returns the pack the RTO benchmark rolls back: a copy of
// $CARBONGUARD_BENCH_PACK (scripts/bench-snapshot's generated pack) when
// set, else the fixture pack grown with $CARBONGUARD_BENCH_MB (default 200)
// MB of jar-like files and ~3,000 small config files.
func benchPack(b *testing.B) string {
	b.Helper()
	home := filepath.Join(b.TempDir(), "wso2am-4.2.0")
	src := filepath.Join("..", "testdata", "packs", "apim-4.2")
	if big := os.Getenv("CARBONGUARD_BENCH_PACK"); big != "" {
		// The generated tree has the bulk; the fixture laid over it makes
		// it a pack (product.txt, deployment.toml, the startup script).
		out, err := execCmd("cp", "-a", big, home)
		require.NoError(b, err, out)
		out, err = execCmd("cp", "-a", src+"/.", home)
		require.NoError(b, err, out)
		return home
	}
	out, err := execCmd("cp", "-a", src, home)
	require.NoError(b, err, out)
	require.NoError(b, os.MkdirAll(filepath.Join(home, "repository", "logs"), 0o755))
	mb := 200
	if v, err := strconv.Atoi(os.Getenv("CARBONGUARD_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	rng := rand.New(rand.NewSource(1))
	plugins := filepath.Join(home, "repository", "components", "plugins")
	buf := make([]byte, 1<<20)
	for i := 0; i < mb; i++ {
		// Half random (compressed class files), half repetitive (manifests).
		rng.Read(buf[:len(buf)/2])
		for j := len(buf) / 2; j < len(buf); j++ {
			buf[j] = byte('a' + j%26)
		}
		require.NoError(b, os.WriteFile(filepath.Join(plugins, fmt.Sprintf("org.example.bundle%04d_1.0.%d.jar", i, i)), buf, 0o644))
	}
	for i := 0; i < 3000; i++ {
		dir := filepath.Join(home, "repository", "deployment", "server", "conf", strconv.Itoa(i%60))
		require.NoError(b, os.MkdirAll(dir, 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%d.xml", i)), []byte(fmt.Sprintf("<conf id=\"%d\"><v>%d</v></conf>\n", i, rng.Int())), 0o644))
	}
	return home
}

// BenchmarkRTO measures the rollback after a failed first boot: from the
// failed verdict to the restored server's up verdict, minus the server's
// own boot time (zero for this server double), against a plain restore of
// the same snapshot. The goal: rto_s <= restore_s + 2.
func BenchmarkRTO(b *testing.B) {
	home := benchPack(b)
	installU2ForBench(b, home)
	for i := 0; i < b.N; i++ {
		env := testEnvB(b, home)
		srv := &timedServer{fileServer: fileServer{home: home}}
		env.Server = srv
		res, err := Update(context.Background(), UpdateOptions{Env: env})
		require.NoError(b, err)
		snap := res.Tx.SnapshotID

		g, err := BeginStart(context.Background(), env)
		require.NoError(b, err)
		boot, _ := srv.Start(context.Background())
		require.Equal(b, wrapper.Failed, boot.State)
		// Both timings start with nothing dirty in the page cache, so that
		// neither pays for the other's (or the update's) writes in its syncfs.
		syscall.Sync()
		failed := time.Now()
		b.StartTimer()
		_, err = g.AfterBoot(context.Background(), boot)
		b.StopTimer()
		require.Error(b, err)
		require.Len(b, srv.upAt, 1)
		rto := srv.upAt[0].Sub(failed)
		// The restore inside the rollback: from its journal step to the next.
		var inRestore time.Duration
		tx := loadTxB(b, env, res.Tx.ID)
		for k, ev := range tx.Events {
			if ev.Step == string(StepRestoring) && k+1 < len(tx.Events) {
				inRestore = tx.Events[k+1].Time.Sub(ev.Time)
			}
		}

		// The same restore alone, for comparison.
		require.NoError(b, srv.Stop(context.Background()))
		_, err = env.Store.DropDisplaced(home)
		require.NoError(b, err)
		syscall.Sync()
		t0 := time.Now()
		_, err = env.restore(context.Background(), snap, true) // as the rollback does
		require.NoError(b, err)
		restore := time.Since(t0)
		_, err = env.Store.DropDisplaced(home)
		require.NoError(b, err)

		b.ReportMetric(rto.Seconds(), "rto_s")
		b.ReportMetric(inRestore.Seconds(), "restore_in_rollback_s")
		b.ReportMetric((rto - inRestore).Seconds(), "overhead_s")
		b.ReportMetric(restore.Seconds(), "restore_alone_s")
		b.Logf("pack %s: RTO (failed verdict -> up verdict, boot time 0) %.2fs = restore %.2fs + overhead %.2fs; the same restore alone %.2fs",
			humanize.Bytes(treeSize(home)), rto.Seconds(), inRestore.Seconds(), (rto - inRestore).Seconds(), restore.Seconds())

		// Ready for the next round: a fresh state and the u2 again.
		require.NoError(b, os.RemoveAll(env.StateDir))
		installU2ForBench(b, home)
	}
}

func installU2ForBench(b *testing.B, home string) {
	// scripts/bench-snapshot's generated pack may have no bin/ of its own.
	require.NoError(b, os.MkdirAll(filepath.Join(home, "bin"), 0o755))
	require.NoError(b, os.WriteFile(filepath.Join(home, "bin", "wso2update_linux"), []byte(u2Scripts["broken-boot"]), 0o755))
}

func testEnvB(b *testing.B, home string) Env {
	b.StopTimer()
	state := filepath.Join(filepath.Dir(home), "state")
	env, err := envFor(home, state)
	require.NoError(b, err)
	return env
}

func loadTxB(b *testing.B, env Env, id string) *Tx {
	j, err := OpenJournal(env.StateDir)
	require.NoError(b, err)
	tx, err := j.Load(id)
	require.NoError(b, err)
	return tx
}
