package hooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJournalRecordsEveryStepDurably(t *testing.T) {
	t.Parallel()
	j, err := OpenJournal(t.TempDir())
	require.NoError(t, err)

	tx, err := j.Begin("update", "/opt/wso2am", "update begun")
	require.NoError(t, err)
	assert.Equal(t, StatePending, tx.State)

	tx.SnapshotID = "20261121T194500Z-pre-update"
	require.NoError(t, j.Transition(tx, StateU2Running, "running u2"))
	require.NoError(t, j.Transition(tx, StateAwaitingBoot, "u2 exited 0"))

	got, err := j.Load(tx.ID)
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingBoot, got.State)
	assert.Equal(t, "20261121T194500Z-pre-update", got.SnapshotID)
	require.Len(t, got.Events, 3)
	assert.Equal(t, []State{StatePending, StateU2Running, StateAwaitingBoot},
		[]State{got.Events[0].State, got.Events[1].State, got.Events[2].State})

	// No temp files are left behind by the atomic writes.
	entries, err := os.ReadDir(j.TxDir(tx.ID))
	require.NoError(t, err)
	for _, e := range entries {
		assert.Equal(t, "tx.json", e.Name())
	}

	open, err := j.Open()
	require.NoError(t, err)
	require.NotNil(t, open)
	assert.Equal(t, tx.ID, open.ID)

	require.NoError(t, j.Transition(tx, StateCommitted, "first boot up"))
	open, err = j.Open()
	require.NoError(t, err)
	assert.Nil(t, open, "a committed transaction is not open")
}

func TestJournalIDsSortByTimeAndNeverCollide(t *testing.T) {
	t.Parallel()
	j, err := OpenJournal(t.TempDir())
	require.NoError(t, err)
	fixed := time.Date(2026, 11, 21, 19, 45, 0, 0, time.UTC)
	j.now = func() time.Time { return fixed }
	a, err := j.Begin("update", "/h", "a")
	require.NoError(t, err)
	b, err := j.Begin("update", "/h", "b")
	require.NoError(t, err)
	assert.Equal(t, "20261121T194500Z-update", a.ID)
	assert.Equal(t, "20261121T194500Z-update-2", b.ID)
	fixed = fixed.Add(time.Second)
	c, err := j.Begin("hook", "/h", "c")
	require.NoError(t, err)

	txs, err := j.List()
	require.NoError(t, err)
	require.Len(t, txs, 3)
	assert.Equal(t, []string{a.ID, b.ID, c.ID}, []string{txs[0].ID, txs[1].ID, txs[2].ID})
	latest, err := j.Latest()
	require.NoError(t, err)
	assert.Equal(t, c.ID, latest.ID)
}

func TestJournalSkipsTxKilledBeforeFirstWrite(t *testing.T) {
	t.Parallel()
	j, err := OpenJournal(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(filepath.Join(j.Dir(), "20261121T000000Z-update"), 0o700))
	txs, err := j.List()
	require.NoError(t, err)
	assert.Empty(t, txs)
}

func TestJournalRejectsBadRecords(t *testing.T) {
	t.Parallel()
	j, err := OpenJournal(t.TempDir())
	require.NoError(t, err)
	dir := filepath.Join(j.Dir(), "x")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tx.json"), []byte("{not json"), 0o600))
	_, err = j.Load("x")
	require.ErrorContains(t, err, "corrupt transaction record")

	data, _ := json.Marshal(Tx{SchemaVersion: 99, ID: "y"})
	require.NoError(t, os.Mkdir(filepath.Join(j.Dir(), "y"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(j.Dir(), "y", "tx.json"), data, 0o600))
	_, err = j.Load("y")
	require.ErrorContains(t, err, "newer carbonguard")

	for _, id := range []string{"", "..", "a/b"} {
		_, err = j.Load(id)
		var nst *NoSuchTxError
		require.ErrorAs(t, err, &nst, id)
	}
}

func TestTerminalStates(t *testing.T) {
	t.Parallel()
	for s, want := range map[State]bool{
		StatePending: false, StateU2Running: false, StateConflicts: false, StateAwaitingBoot: false,
		StateBooting: false, StateRestoring: false, StateRollingBack: false,
		StateAborted: true, StateRestored: true, StateCommitted: true, StateRolledBack: true, StateNeedsAttention: true,
	} {
		assert.Equal(t, want, s.Terminal(), s)
	}
}

func TestStatusAndProtectedSnapshots(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	st, err := Status(state)
	require.NoError(t, err)
	assert.Nil(t, st.Open)
	assert.Contains(t, st.Next, "no update has been run")
	ids, err := ProtectedSnapshots(state)
	require.NoError(t, err)
	assert.Empty(t, ids)

	j, err := OpenJournal(state)
	require.NoError(t, err)
	done, err := j.Begin("update", "/h", "old")
	require.NoError(t, err)
	done.SnapshotID = "s-old"
	require.NoError(t, j.Transition(done, StateCommitted, "up"))
	open, err := j.Begin("update", "/h", "new")
	require.NoError(t, err)
	open.SnapshotID = "s-new"
	require.NoError(t, j.Transition(open, StateConflicts, "3"))

	ids, err = ProtectedSnapshots(state)
	require.NoError(t, err)
	assert.Equal(t, []string{"s-new"}, ids, "only an open transaction's snapshot is protected; a committed one's is prunable")

	st, err = Status(state)
	require.NoError(t, err)
	require.NotNil(t, st.Open)
	assert.Equal(t, open.ID, st.Open.ID)
	assert.False(t, st.Interrupted, "conflicts wait for a person; that is no interruption")
	assert.Contains(t, st.Next, "update --continue")

	// A live holder is reported as such, without taking the lock from it.
	l, err := AcquireLock(state, "update")
	require.NoError(t, err)
	st, err = Status(state)
	require.NoError(t, err)
	require.NotNil(t, st.Holder)
	assert.Equal(t, "update", st.Holder.Operation)
	assert.Contains(t, st.Next, "in progress")
	require.NoError(t, l.Release())
}
