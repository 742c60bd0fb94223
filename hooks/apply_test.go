package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/testpack"
)

// changeTree builds the base tree the change-set tests start from.
func changeTree(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"bin/tool.sh":                   "#!/bin/sh\n",
		"lib/a_1.0.jar":                 "a 1.0",
		"lib/b_1.0.jar":                 "b 1.0",
		"conf/deployment.toml":          "[server]\nhostname = \"localhost\"\n",
		"conf/mode.xml":                 "<x/>",
		"conf/was-a-file":               "file",
		"conf/becomes-a-file/inner.txt": "inner",
		"old/tree/one.txt":              "1",
		"old/tree/deeper/two.txt":       "2",
		"updates/config.json":           "{\"update-level\": 12}\n",
		"repository/logs/keep.log":      "log",
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "bin/tool.sh"), 0o755))
	require.NoError(t, os.Symlink("a_1.0.jar", filepath.Join(dir, "lib/current.jar")))
}

// updateTree changes a copy the way u2 does, and in every way a change set
// must carry.
func updateTree(t *testing.T, dir string) {
	t.Helper()
	p := func(s string) string { return filepath.Join(dir, s) }
	require.NoError(t, os.Rename(p("lib/a_1.0.jar"), p("lib/a_1.0.1.jar")))          // renamed jar
	require.NoError(t, os.WriteFile(p("lib/a_1.0.1.jar"), []byte("a 1.0.1"), 0o644)) // new content
	require.NoError(t, os.Remove(p("lib/current.jar")))                              // link retargeted
	require.NoError(t, os.Symlink("a_1.0.1.jar", p("lib/current.jar")))              //
	require.NoError(t, os.WriteFile(p("conf/deployment.toml"), []byte("[server]\nhostname = \"localhost\"\n# level 13\n"), 0o644))
	require.NoError(t, os.Chmod(p("conf/mode.xml"), 0o600))                                 // mode only
	require.NoError(t, os.Remove(p("conf/was-a-file")))                                     // file -> link
	require.NoError(t, os.Symlink("deployment.toml", p("conf/was-a-file")))                 //
	require.NoError(t, os.RemoveAll(p("conf/becomes-a-file")))                              // dir -> file
	require.NoError(t, os.WriteFile(p("conf/becomes-a-file"), []byte("now a file"), 0o640)) //
	require.NoError(t, os.RemoveAll(p("old")))                                              // a tree removed
	require.NoError(t, os.MkdirAll(p("new/deep/er"), 0o750))                                // a tree added
	require.NoError(t, os.WriteFile(p("new/deep/er/x.txt"), []byte("x"), 0o644))            //
	require.NoError(t, os.WriteFile(p("updates/config.json"), []byte("{\"update-level\": 13}\n"), 0o644))
	require.NoError(t, os.MkdirAll(p("updates/logs"), 0o755))
	require.NoError(t, os.WriteFile(p("updates/logs/update.log"), []byte("Applied updates in "+dir+"\n"), 0o644))
}

func captured(t *testing.T, update func(copyDir string)) (store *archive.Store, base, copyDir, staging, live string, plan *changePlan, ch *Changes, err error) {
	t.Helper()
	tmp := t.TempDir()
	store, serr := archive.OpenStore(filepath.Join(tmp, "snapshots"), zerolog.Nop())
	require.NoError(t, serr)
	live = filepath.Join(tmp, "live")
	changeTree(t, live)
	m, serr := store.Create(context.Background(), live, archive.CreateOptions{Reason: "manual"})
	require.NoError(t, serr)
	base = m.ID
	copyDir = filepath.Join(tmp, "scratch", "copy")
	require.NoError(t, os.MkdirAll(filepath.Dir(copyDir), 0o755))
	require.NoError(t, testpack.CopyTree(live, copyDir))
	update(copyDir)
	d, serr := store.DiffLive(context.Background(), base, copyDir)
	require.NoError(t, serr)
	staging = filepath.Join(tmp, ".live.rehearsal")
	plan, ch, err = captureChanges(context.Background(), d, captureOptions{Copy: copyDir, Staging: staging, Leak: filepath.Dir(copyDir)})
	return store, base, copyDir, staging, live, plan, ch, err
}

// sameTrees asserts that two trees hold the same entries, content, modes and
// links, modification times aside.
func sameTrees(t *testing.T, store *archive.Store, a, b string) {
	t.Helper()
	m, err := store.Create(context.Background(), a, archive.CreateOptions{Reason: "manual"})
	require.NoError(t, err)
	d, err := store.DiffLive(context.Background(), m.ID, b)
	require.NoError(t, err)
	var diffs []string
	for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
		for _, c := range list {
			diffs = append(diffs, c.Path+" "+strings.Join(c.What, ","))
		}
	}
	assert.Empty(t, diffs, "%s and %s differ", a, b)
}

func TestChangeSetMakesTheLivePackWhatU2MadeTheCopy(t *testing.T) {
	t.Parallel()
	store, _, copyDir, staging, live, plan, ch, err := captured(t, func(dir string) { updateTree(t, dir) })
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"lib/a_1.0.1.jar", "new", "new/deep", "new/deep/er", "new/deep/er/x.txt", "updates/logs", "updates/logs/update.log"}, ch.Added)
	assert.Contains(t, ch.Removed, "old/tree/deeper/two.txt")
	assert.ElementsMatch(t, []string{"conf/becomes-a-file", "conf/deployment.toml", "conf/mode.xml", "conf/was-a-file", "lib/current.jar", "updates/config.json"}, ch.Modified)
	for _, op := range plan.Ops {
		if op.Op == opRemove {
			assert.NotEqual(t, "old/tree/one.txt", op.Path, "a removed tree goes as one")
		}
	}
	require.NoError(t, applyPlan(live, staging, plan, nil))
	require.NoError(t, verifyPlan(live, plan))
	sameTrees(t, store, copyDir, live)

	// Run again (a second recovery): nothing changes, nothing fails.
	require.NoError(t, applyPlan(live, staging, plan, nil))
	require.NoError(t, verifyPlan(live, plan))
	sameTrees(t, store, copyDir, live)
}

type stopHere struct{}

// A process killed after any operation leaves a plan that, run again,
// finishes the job.
func TestChangeSetInterruptedAnywhereIsFinishedByRunningItAgain(t *testing.T) {
	t.Parallel()
	store, _, copyDir, staging, live, plan, _, err := captured(t, func(dir string) { updateTree(t, dir) })
	require.NoError(t, err)
	pristine := t.TempDir()
	snapshotStaging, liveBefore := filepath.Join(pristine, "staging"), filepath.Join(pristine, "live")
	require.NoError(t, testpack.CopyTree(staging, snapshotStaging))
	require.NoError(t, testpack.CopyTree(live, liveBefore))
	steps := 0
	require.NoError(t, applyPlan(live, staging, plan, func(int) { steps++ }))
	require.Greater(t, steps, 5)

	for k := 1; k <= steps; k++ {
		// A fresh live tree and staging directory for each kill point.
		dir := t.TempDir()
		l, s := filepath.Join(dir, "live"), filepath.Join(dir, "staging")
		require.NoError(t, testpack.CopyTree(liveBefore, l))
		require.NoError(t, testpack.CopyTree(snapshotStaging, s))
		n := 0
		func() {
			defer func() {
				if r := recover(); r != nil {
					_, ok := r.(stopHere)
					require.True(t, ok, "%v", r)
				}
			}()
			_ = applyPlan(l, s, plan, func(int) {
				if n++; n == k {
					panic(stopHere{})
				}
			})
		}()
		require.Error(t, verifyPlan(l, plan), "killed after %d of %d operations, the pack is half updated", k, steps)
		again, err := loadPlan(s)
		require.NoError(t, err)
		require.NoError(t, applyPlan(l, s, again, nil), "after %d of %d", k, steps)
		require.NoError(t, verifyPlan(l, again), "after %d of %d", k, steps)
		sameTrees(t, store, copyDir, l)
	}
}

func TestChangeSetRefusesWhatItCannotMerge(t *testing.T) {
	t.Parallel()
	t.Run("the copy's path in a file u2 wrote", func(t *testing.T) {
		_, _, _, _, _, _, _, err := captured(t, func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "conf/deployment.toml"), []byte("home = \""+dir+"\"\n"), 0o644))
		})
		var um *unmergeable
		require.ErrorAs(t, err, &um)
		assert.Contains(t, um.why, "conf/deployment.toml")
	})
	t.Run("u2's own log may name it", func(t *testing.T) {
		_, _, _, _, _, _, _, err := captured(t, func(dir string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "updates/logs"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "updates/logs/u.log"), []byte("updating "+dir+"\n"), 0o644))
		})
		require.NoError(t, err)
	})
	t.Run("a write below a detached link", func(t *testing.T) {
		tmp := t.TempDir()
		store, err := archive.OpenStore(filepath.Join(tmp, "snapshots"), zerolog.Nop())
		require.NoError(t, err)
		live := filepath.Join(tmp, "live")
		changeTree(t, live)
		m, err := store.Create(context.Background(), live, archive.CreateOptions{Reason: "manual"})
		require.NoError(t, err)
		copyDir := filepath.Join(tmp, "copy")
		require.NoError(t, testpack.CopyTree(live, copyDir))
		require.NoError(t, os.WriteFile(filepath.Join(copyDir, "repository/logs/u2.log"), []byte("x"), 0o644))
		d, err := store.DiffLive(context.Background(), m.ID, copyDir)
		require.NoError(t, err)
		_, _, err = captureChanges(context.Background(), d, captureOptions{Copy: copyDir, Staging: filepath.Join(tmp, "st"), Detached: []string{"repository/logs"}})
		var um *unmergeable
		require.ErrorAs(t, err, &um)
		assert.Contains(t, um.why, "repository/logs/u2.log")
	})
}

func TestChangeSetNeverWritesThroughALinkOfTheLivePack(t *testing.T) {
	t.Parallel()
	_, _, _, staging, live, plan, _, err := captured(t, func(dir string) { updateTree(t, dir) })
	require.NoError(t, err)
	// The live pack's new/ is a link elsewhere (made after the capture).
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(live, "new")))
	err = applyPlan(live, staging, plan, nil)
	require.Error(t, err)
	entries, _ := os.ReadDir(outside)
	assert.Empty(t, entries, "nothing was written where the link leads")
}
