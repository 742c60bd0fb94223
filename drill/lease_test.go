package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
)

// TestMain doubles as a helper process: with CG_DRILL_PRUNE set to a
// snapshot store, the test binary prunes it (keep-last 1) as another
// carbonguard would, and prints the report as JSON.
func TestMain(m *testing.M) {
	if dir := os.Getenv("CG_DRILL_PRUNE"); dir != "" {
		s, err := archive.OpenStore(dir, zerolog.Nop())
		if err == nil {
			var rep *archive.PruneReport
			if rep, err = s.Prune(archive.PruneOptions{KeepLast: 1}); err == nil {
				_ = json.NewEncoder(os.Stdout).Encode(rep)
				os.Exit(0)
			}
		}
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// pruneElsewhere prunes the store from another process.
func pruneElsewhere(dir string) (*archive.PruneReport, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CG_DRILL_PRUNE="+dir)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("prune: %w: %s", err, out)
	}
	var rep archive.PruneReport
	return &rep, json.Unmarshal(out, &rep)
}

// A prune that another process runs while a drill lays its snapshot down
// keeps that snapshot (the drill's lease) and the content it reads, while
// it frees what the snapshots it removes alone held; the drill completes
// and its copy matches the snapshot. Once the drill is over, nothing is
// in use.
func TestPruneDuringADrillKeepsItsSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	big := filepath.Join(f.tp.Home, "repository", "components", "lib", "big.jar")
	require.NoError(t, os.MkdirAll(filepath.Dir(big), 0o755))
	noise := make([]byte, 3<<20)
	for i := range noise {
		noise[i] = byte(i*31 + i/97)
	}
	require.NoError(t, os.WriteFile(big, noise, 0o644))
	middle, err := f.store.Create(ctx, f.tp.Home, archive.CreateOptions{Reason: "middle", NoSync: true})
	require.NoError(t, err)
	require.NotEmpty(t, middle.NewPacks)
	require.NoError(t, os.Remove(big))
	newest, err := f.store.Create(ctx, f.tp.Home, archive.CreateOptions{Reason: "newest", NoSync: true})
	require.NoError(t, err)
	_, err = f.store.Verify(ctx, newest.ID, nil) // the newest verified now: no rule keeps the drilled one
	require.NoError(t, err)

	o := f.options(t)
	o.NoBoot = true
	o.Snapshot = f.snap // the oldest: no rule keeps it
	var (
		once   sync.Once
		rep    *archive.PruneReport
		perr   error
		during []archive.LeaseInfo
	)
	// The first report of the extract with bytes written (throttled: on a
	// small pack it may be the last, Done, which still comes from inside
	// the extract, its lease held and its content open).
	o.Progress = func(p archive.Progress) {
		if p.Bytes > 0 {
			once.Do(func() {
				during, _ = f.store.InUse(f.snap)
				rep, perr = pruneElsewhere(f.store.Dir())
			})
		}
	}
	r, err := Run(ctx, o)
	require.NoError(t, err)
	require.NoError(t, perr)
	require.NotNil(t, rep, "the prune ran while the snapshot was laid down")
	assert.Equal(t, StatePassed, r.State)
	assert.Equal(t, LevelChecked, r.Level)
	assert.Zero(t, r.Verify.Count, "the copy matches its snapshot")

	require.NotEmpty(t, during)
	assert.Equal(t, "drill", during[0].Holder)
	kept := map[string]string{}
	for _, d := range rep.Kept {
		kept[d.ID] = d.Reason
	}
	assert.Equal(t, fmt.Sprintf("in use by drill (pid %d)", os.Getpid()), kept[f.snap])
	assert.Contains(t, kept, newest.ID)
	require.Len(t, rep.Removed, 1)
	assert.Equal(t, middle.ID, rep.Removed[0].ID)
	require.NotNil(t, rep.Swept)
	assert.Positive(t, rep.Swept.PacksRemoved, "the middle snapshot's own content was freed")
	assert.Positive(t, rep.Swept.PacksInUse)

	left, err := f.store.InUse(f.snap)
	require.NoError(t, err)
	assert.Empty(t, left, "the drill's lease ends with it")
	_, err = f.store.Verify(ctx, f.snap, nil)
	require.NoError(t, err)
}
