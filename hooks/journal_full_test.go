package hooks

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
)

// The journal cannot record the pre-update snapshot (a full disk): the
// snapshot is removed again, u2 does not run, and no complete snapshot stays
// listed that no transaction references.
func TestJournalWriteFailureAfterTheSnapshotLeavesNoUnreferencedSnapshot(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	broken := false
	env.Progress = func(p archive.Progress) {
		if p.Op != "verify" || broken {
			return
		}
		broken = true
		// The snapshot is complete and being verified; from now on the
		// transaction's journal writes fail (a file where its directory
		// was: ENOTDIR, as good as ENOSPC here).
		dirs, err := filepath.Glob(filepath.Join(env.StateDir, "journal", "*"))
		require.NoError(t, err)
		require.Len(t, dirs, 1)
		require.NoError(t, os.RemoveAll(dirs[0]))
		require.NoError(t, os.WriteFile(dirs[0], nil, 0o600))
	}
	_, err := Update(context.Background(), UpdateOptions{Env: env})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was removed again and u2 was not run: the pack is unchanged")
	list, err := env.Store.List()
	require.NoError(t, err)
	assert.Empty(t, list, "no snapshot left that no transaction references")
	assert.NoFileExists(t, filepath.Join(filepath.Dir(home), "u2-argv.log"), "u2 did not run")
}

// A process that died between the snapshot and the journal write leaves a
// pending transaction without a snapshot id: the next command's recovery
// removes the snapshot the journal never recorded (it carries the
// transaction's id), and leaves the others alone.
func TestRecoveryRemovesAPreUpdateSnapshotTheJournalNeverRecorded(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	ctx := context.Background()
	other, err := env.Store.Create(ctx, home, archive.CreateOptions{Reason: "pre-update", Meta: map[string]string{"tx": "someone-else"}})
	require.NoError(t, err)

	j, err := OpenJournal(env.StateDir)
	require.NoError(t, err)
	tx, err := j.Begin("update", home, "update begun; taking the pre-update snapshot")
	require.NoError(t, err)
	orphan, err := env.Store.Create(ctx, home, archive.CreateOptions{Reason: "pre-update", Meta: map[string]string{"tx": tx.ID}})
	require.NoError(t, err)

	_, err = Update(ctx, UpdateOptions{Env: env})
	var re *RecoveredError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, StateAborted, re.State)
	_, err = env.Store.Show(orphan.ID)
	var nf *archive.NotFoundError
	assert.ErrorAs(t, err, &nf, "the unrecorded pre-update snapshot is gone")
	_, err = env.Store.Show(other.ID)
	assert.NoError(t, err, "another transaction's snapshot stays")
}
