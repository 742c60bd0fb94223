package archive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// later is a clock for Create a few seconds ahead, so that every file
// written by the test is older than the walk by more than the stat cache's
// racy margin and may be vouched for.
func later(n int) func() time.Time {
	at := time.Now().Add(time.Duration(10+n) * time.Second)
	return func() time.Time { return at }
}

func randomBytes(seed uint64, n int) []byte {
	rnd := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.UintN(256))
	}
	return b
}

// step is one state of a tree in a chain of snapshots.
type step struct {
	name   string
	change func(t *testing.T, root string)
}

// chainTree is makeTree plus content big enough to span several frames and
// packs' worth of reuse: a random 3 MiB file, a compressible 2.5 MiB one.
func chainTree(t *testing.T, root string) {
	makeTree(t, root)
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "lib/random.bin"), randomBytes(1, 3<<20), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "lib/text.log"), []byte(strings.Repeat("INFO carbon started in 1234 ms\n", 80000)), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/deployment"), 0o755))
	for i := range 20 {
		require.NoError(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("repository/deployment/api%02d.xml", i)), fmt.Appendf(nil, "<api name=\"api%d\"/>\n", i), 0o644))
	}
}

var chainSteps = []step{
	{"first", func(t *testing.T, root string) {}},
	{"content changed, a file deleted, one renamed, a mode changed", func(t *testing.T, root string) {
		require.NoError(t, os.WriteFile(filepath.Join(root, "lib/random.bin"), randomBytes(2, 3<<20), 0o644))
		require.NoError(t, os.Remove(filepath.Join(root, "repository/deployment/api03.xml")))
		require.NoError(t, os.Rename(filepath.Join(root, "repository/deployment/api04.xml"), filepath.Join(root, "repository/deployment/renamed.xml")))
		require.NoError(t, os.Chmod(filepath.Join(root, "bin/server.sh"), 0o700))
	}},
	{"rewritten within the same second, same size and times", func(t *testing.T, root string) {
		p := filepath.Join(root, "conf/deployment.toml")
		var st unix.Stat_t
		require.NoError(t, unix.Stat(p, &st))
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		data[0] ^= 0x20
		require.NoError(t, os.WriteFile(p, data, 0o640))
		// The same mtime to the nanosecond: only ctime and the content
		// changed.
		require.NoError(t, unix.UtimesNano(p, []unix.Timespec{st.Atim, st.Mtim}))
		// Back to the first step's random.bin: content the store holds.
		require.NoError(t, os.WriteFile(filepath.Join(root, "lib/random.bin"), randomBytes(1, 3<<20), 0o644))
	}},
	{"a directory added, one removed, a link retargeted", func(t *testing.T, root string) {
		require.NoError(t, os.RemoveAll(filepath.Join(root, "empty")))
		require.NoError(t, os.MkdirAll(filepath.Join(root, "new/dir"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "new/dir/file"), randomBytes(3, 100000), 0o600))
		require.NoError(t, os.Remove(filepath.Join(root, "dangling")))
		require.NoError(t, os.Symlink("/var/log/elsewhere", filepath.Join(root, "dangling")))
		require.NoError(t, os.WriteFile(filepath.Join(root, "lib/text.log"), []byte(strings.Repeat("WARN slow\n", 90000)), 0o644))
	}},
}

// chain takes one snapshot per step (each verified, so that the next one
// uses it as its stat cache) and returns them with the tree each holds.
func chain(t *testing.T, s *Store, root string) ([]*Manifest, []map[string]string) {
	t.Helper()
	chainTree(t, root)
	var ms []*Manifest
	var trees []map[string]string
	for i, st := range chainSteps {
		st.change(t, root)
		trees = append(trees, describe(t, root))
		m := createSnap(t, s, root, CreateOptions{Now: later(i)})
		_, err := s.Verify(context.Background(), m.ID, nil)
		require.NoError(t, err, st.name)
		ms = append(ms, m)
	}
	return ms, trees
}

func TestChainOfSnapshotsRestoresEach(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	ms, trees := chain(t, s, root)

	assert.Empty(t, ms[0].Parent, "the first snapshot reads everything")
	assert.Zero(t, ms[0].Reused)
	for i := 1; i < len(ms); i++ {
		assert.Equal(t, ms[i-1].ID, ms[i].Parent, "step %d: the newest verified snapshot is the stat cache", i)
		assert.Positive(t, ms[i].Reused)
	}
	// What each step stores is what changed: a new 3 MiB random file;
	// then one small file (random.bin went back to content the store
	// holds: not stored again); then 100 kB of random and a log that
	// compresses to little.
	assert.Less(t, ms[1].NewBytes, int64(3<<20)+64<<10)
	assert.Less(t, ms[2].NewBytes, int64(64<<10), "content already in the store is not stored again")
	assert.Less(t, ms[3].NewBytes, int64(200<<10))

	for i, m := range ms {
		fresh := filepath.Join(t.TempDir(), "restored")
		_, err := s.Restore(context.Background(), m.ID, fresh, RestoreOptions{})
		require.NoError(t, err)
		assert.Equal(t, trees[i], describe(t, fresh), "snapshot %d (%s) restores bit for bit", i, chainSteps[i].name)
	}
	// Over the live tree too, oldest last.
	for i := len(ms) - 1; i >= 0; i-- {
		_, err := s.Restore(context.Background(), ms[i].ID, root, RestoreOptions{})
		require.NoError(t, err)
		got := describe(t, root)
		delete(got, ".")
		want := trees[i]
		delete(want, ".")
		assert.Equal(t, want, got, "snapshot %d over the live tree", i)
	}
}

// An unchanged tree's next snapshot reads no file and stores only its entry
// list.
func TestUnchangedTreeStoresNothingNew(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	chainTree(t, root)
	m1 := createSnap(t, s, root, CreateOptions{Now: later(0)})
	// Not verified yet: no stat cache, but no new content either.
	m2 := createSnap(t, s, root, CreateOptions{Now: later(1)})
	assert.Zero(t, m2.Reused)
	assert.Empty(t, m2.NewPacks, "content already in the store is not stored again")
	_, err := s.Verify(context.Background(), m2.ID, nil)
	require.NoError(t, err)
	m3 := createSnap(t, s, root, CreateOptions{Now: later(2)})
	assert.Equal(t, m2.ID, m3.Parent)
	assert.Equal(t, m3.Files-2, m3.Reused, "every file but the two extra names of big.jar is vouched for")
	assert.Empty(t, m3.NewPacks)
	assert.Less(t, m3.NewBytes, int64(8<<10), "only the entry list")
	m4 := createSnap(t, s, root, CreateOptions{Now: later(3), Reread: true})
	assert.Zero(t, m4.Reused, "--reread reads everything")
	assert.Empty(t, m4.NewPacks)
	for _, m := range []*Manifest{m1, m3, m4} {
		_, err := s.Verify(context.Background(), m.ID, nil)
		require.NoError(t, err)
	}
	list, err := s.List()
	require.NoError(t, err)
	assert.Equal(t, m1.NewBytes, list[0].NewBytes)
	u, err := s.Usage()
	require.NoError(t, err)
	assert.Equal(t, 4, u.Snapshots)
	assert.Greater(t, u.Bytes, u.PackBytes)
	assert.Equal(t, m1.NewPacks[0].Size, u.PackBytes)
}

// A file changed within the timestamps' granularity of the walk that
// recorded it is not vouched for (git's racy case): it is read again.
func TestStatCacheDistrustsRecentChanges(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	chainTree(t, root)
	// A walk that started before the files' last change (the clock says
	// so): none of them may be vouched for.
	m1 := createSnap(t, s, root, CreateOptions{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	_, err := s.Verify(context.Background(), m1.ID, nil)
	require.NoError(t, err)
	m2 := createSnap(t, s, root, CreateOptions{Now: later(1)})
	assert.Equal(t, m1.ID, m2.Parent)
	assert.Zero(t, m2.Reused, "files changed right before the parent's walk are read again")
}

// A stat cache whose snapshot belongs to another tree is not used, nor an
// unverified or failed one.
func TestStatCacheComesFromAVerifiedSnapshotOfTheSameTree(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	a := filepath.Join(t.TempDir(), "a")
	b := filepath.Join(t.TempDir(), "b")
	chainTree(t, a)
	chainTree(t, b)
	ma := createSnap(t, s, a, CreateOptions{Now: later(0)})
	_, err := s.Verify(context.Background(), ma.ID, nil)
	require.NoError(t, err)
	mb := createSnap(t, s, b, CreateOptions{Now: later(1)})
	assert.Empty(t, mb.Parent, "another tree's snapshot is no stat cache")
	ma2 := createSnap(t, s, a, CreateOptions{Now: later(2)})
	assert.Equal(t, ma.ID, ma2.Parent, "the unverified mb is skipped")
}

// copyStore copies a state directory's store for a destructive test.
func copyStore(t *testing.T, s *Store) *Store {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "snapshots")
	copyDir(t, s.Dir(), dst)
	c, err := OpenStore(dst, zerolog.Nop())
	require.NoError(t, err)
	return c
}

// Prune never removes content a kept snapshot needs: for every subset of a
// four-snapshot chain, delete it and sweep; every remaining snapshot
// verifies and restores bit for bit, and nothing is left that none needs.
func TestPruneEverySubsetKeepsWhatTheOthersNeed(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	ms, trees := chain(t, s, root)
	require.Len(t, ms, 4)
	for subset := range 1 << len(ms) {
		t.Run(fmt.Sprintf("delete %04b", subset), func(t *testing.T) {
			t.Parallel()
			c := copyStore(t, s)
			for i, m := range ms {
				if subset&(1<<i) != 0 {
					require.NoError(t, c.Delete(m.ID))
				}
			}
			rep, err := c.sweep()
			require.NoError(t, err)
			if subset == 1<<len(ms)-1 {
				assert.Positive(t, rep.PacksRemoved)
			}
			live, _, err := c.liveBlobs(nil)
			require.NoError(t, err)
			idx, err := c.contentIndex()
			require.NoError(t, err)
			assert.Empty(t, idx.damaged)
			if rep.PacksRepacked > 0 {
				for _, sum := range idx.sums {
					_, ok := live[sum]
					assert.True(t, ok, "after a repack only live blobs are left")
				}
			}
			for i, m := range ms {
				if subset&(1<<i) != 0 {
					continue
				}
				_, err := c.Verify(context.Background(), m.ID, nil)
				require.NoError(t, err, "snapshot %d after deleting %04b", i, subset)
				fresh := filepath.Join(t.TempDir(), "restored")
				_, err = c.Restore(context.Background(), m.ID, fresh, RestoreOptions{})
				require.NoError(t, err)
				assert.Equal(t, trees[i], describe(t, fresh), "snapshot %d after deleting %04b", i, subset)
			}
		})
	}
}

// A sweep frees what deleted snapshots alone held, repacking packs that
// became mostly garbage.
func TestSweepFreesAndRepacks(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	ms, trees := chain(t, s, root)
	before, err := s.Usage()
	require.NoError(t, err)
	// Keep only the newest: the first pack's old random.bin and text.log
	// are garbage now, most of it.
	rep, err := s.Prune(PruneOptions{KeepLast: 1, Protect: nil, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	require.NoError(t, err)
	require.NotNil(t, rep.Swept)
	assert.Positive(t, rep.Swept.BytesFreed)
	t.Logf("sweep: %+v", *rep.Swept)
	after, err := s.Usage()
	require.NoError(t, err)
	assert.Less(t, after.PackBytes, before.PackBytes)
	list, err := s.List()
	require.NoError(t, err)
	kept := map[string]bool{}
	for _, in := range list {
		kept[in.ID] = true
	}
	for i, m := range ms {
		if !kept[m.ID] {
			continue
		}
		fresh := filepath.Join(t.TempDir(), "restored")
		_, err = s.Restore(context.Background(), m.ID, fresh, RestoreOptions{})
		require.NoError(t, err)
		assert.Equal(t, trees[i], describe(t, fresh))
	}
}

// A pack whose live blobs are under repackBelow of its size is rewritten
// with them alone; the snapshots that need them are untouched.
func TestSweepRepacksMostlyDeadPacks(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.bin"), randomBytes(10, 2<<20), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "b.bin"), randomBytes(11, 2<<20), 0o644))
	m1 := createSnap(t, s, root, CreateOptions{Now: later(0)})
	require.NoError(t, os.WriteFile(filepath.Join(root, "b.bin"), randomBytes(12, 2<<20), 0o644))
	want := describe(t, root)
	m2 := createSnap(t, s, root, CreateOptions{Now: later(1)})
	require.NoError(t, s.Delete(m1.ID))
	rep, err := s.sweep()
	require.NoError(t, err)
	assert.Equal(t, 1, rep.PacksRepacked)
	assert.InDelta(t, 2<<20, rep.BytesFreed, 64<<10)
	_, err = os.Stat(filepath.Join(s.Dir(), packsDir, m1.NewPacks[0].Name+packExt))
	assert.ErrorIs(t, err, os.ErrNotExist, "the old pack is gone")
	_, err = s.Verify(context.Background(), m2.ID, nil)
	require.NoError(t, err)
	fresh := filepath.Join(t.TempDir(), "restored")
	_, err = s.Restore(context.Background(), m2.ID, fresh, RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, describe(t, fresh))
	rep, err = s.sweep()
	require.NoError(t, err)
	assert.Equal(t, SweepReport{}, *rep, "a second sweep finds nothing to do")
}
