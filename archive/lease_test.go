package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// helper is a helper process (TestMain's CG_ARCHIVE_HELPER) that pauses
// where the test asks and goes on when told.
type helper struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

// startHelper starts the helper and waits until it pauses.
func startHelper(t *testing.T, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "CG_RESUME=stdin")...)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	h := &helper{cmd: cmd, in: in, lines: make(chan string, 8)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	go func() {
		r := bufio.NewReader(out)
		for {
			l, err := r.ReadString('\n')
			if l != "" {
				h.lines <- strings.TrimSpace(l)
			}
			if err != nil {
				close(h.lines)
				return
			}
		}
	}()
	require.Equal(t, "paused", h.line(t), "the helper should pause mid-way")
	return h
}

func (h *helper) line(t *testing.T) string {
	t.Helper()
	select {
	case l := <-h.lines:
		return l
	case <-time.After(60 * time.Second):
		t.Fatal("the helper said nothing for a minute")
		return ""
	}
}

// resume lets the helper go on and returns its last word ("done" or the error).
func (h *helper) resume(t *testing.T) string {
	t.Helper()
	_, err := io.WriteString(h.in, "go on\n")
	require.NoError(t, err)
	l := h.line(t)
	_ = h.cmd.Wait()
	return l
}

// kill SIGKILLs the helper and reaps it.
func (h *helper) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, h.cmd.Process.Kill())
	_ = h.cmd.Wait()
}

// threeSnapshots: old (the one a reader uses), middle (adds 3 MiB of its
// own, in a pack of its own) and newest (without that content).
func threeSnapshots(t *testing.T, s *Store) (root string, old, middle, newest *Manifest) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "pack")
	bigTree(t, root)
	old = createSnap(t, s, root, CreateOptions{Now: later(0)})
	require.NoError(t, os.WriteFile(filepath.Join(root, "middle.bin"), randomBytes(21, 3<<20), 0o644))
	middle = createSnap(t, s, root, CreateOptions{Now: later(1)})
	require.NotEmpty(t, middle.NewPacks)
	require.NoError(t, os.Remove(filepath.Join(root, "middle.bin")))
	newest = createSnap(t, s, root, CreateOptions{Now: later(2)})
	return root, old, middle, newest
}

func packExists(s *Store, name string) bool {
	_, err := os.Stat(filepath.Join(s.Dir(), packsDir, name+packExt))
	return err == nil
}

// A snapshot that another process is laying down (a drill's extract) is
// kept by a prune that runs meanwhile, with the packs it reads, while the
// content of the snapshots pruned is freed; the extract then completes and
// its copy is the snapshot.
func TestPruneKeepsASnapshotAnotherProcessExtracts(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	_, old, middle, newest := threeSnapshots(t, s)
	copyDir := filepath.Join(t.TempDir(), "copy")
	h := startHelper(t, "CG_ARCHIVE_HELPER=extract", "CG_STORE="+s.Dir(), "CG_ID="+old.ID, "CG_ROOT="+copyDir,
		"CG_HOLDER=drill", "CG_PAUSE_BYTES=1")

	leases, err := s.InUse(old.ID)
	require.NoError(t, err)
	require.Len(t, leases, 1)
	assert.Equal(t, h.cmd.Process.Pid, leases[0].PID)
	assert.Equal(t, "drill", leases[0].Holder)
	assert.NotZero(t, leases[0].StartTime)

	rep, err := s.Prune(PruneOptions{KeepLast: 1, Now: later(10)})
	require.NoError(t, err)
	want := fmt.Sprintf("in use by drill (pid %d)", h.cmd.Process.Pid)
	assert.Contains(t, rep.Kept, PruneDecision{ID: old.ID, Reason: want, InUse: leases})
	assert.Equal(t, []PruneDecision{{ID: middle.ID, Reason: "not among the newest 1"}}, rep.Removed)
	require.NotNil(t, rep.Swept)
	assert.Equal(t, 1, rep.Swept.PacksRemoved, "the middle snapshot's own pack is freed")
	assert.Positive(t, rep.Swept.PacksInUse, "the packs the extract reads are left as they are")
	assert.False(t, packExists(s, middle.NewPacks[0].Name))
	for _, p := range old.NewPacks {
		assert.True(t, packExists(s, p.Name), "pack %s of the snapshot in use", p.Name)
	}

	var iu *InUseError
	require.ErrorAs(t, s.Delete(old.ID), &iu, "an explicit delete is refused too")
	assert.Equal(t, old.ID, iu.ID)
	assert.Contains(t, iu.Error(), "in use by drill (pid "+strconv.Itoa(h.cmd.Process.Pid)+")")

	require.Equal(t, "done", h.resume(t))
	d, err := s.DiffLive(context.Background(), old.ID, copyDir)
	require.NoError(t, err)
	assert.Empty(t, d.Added)
	assert.Empty(t, d.Removed)
	assert.Empty(t, d.Changed)
	leases, err = s.InUse(old.ID)
	require.NoError(t, err)
	assert.Empty(t, leases, "the extract's lease went with it")

	// Now that nothing reads it, the next prune removes it.
	rep, err = s.Prune(PruneOptions{KeepLast: 1, Now: later(10)})
	require.NoError(t, err)
	assert.Equal(t, []PruneDecision{{ID: old.ID, Reason: "not among the newest 1"}}, rep.Removed)
	_, err = s.Verify(context.Background(), newest.ID, nil)
	require.NoError(t, err)
}

// The lease of a process that was killed (kill -9: nothing released it)
// does not count: prune removes the snapshot and the stale lease.
func TestLeaseOfAKilledProcessIsStale(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	_, old, middle, newest := threeSnapshots(t, s)
	h := startHelper(t, "CG_ARCHIVE_HELPER=extract", "CG_STORE="+s.Dir(), "CG_ID="+old.ID,
		"CG_ROOT="+filepath.Join(t.TempDir(), "copy"), "CG_HOLDER=drill", "CG_PAUSE_BYTES=1")
	pid := h.cmd.Process.Pid
	h.kill(t)

	dry, err := s.Prune(PruneOptions{KeepLast: 1, Now: later(10), DryRun: true})
	require.NoError(t, err)
	assert.Len(t, dry.Removed, 2, "the stale lease is ignored")
	assert.Empty(t, dry.StaleLeases, "a dry run removes nothing")

	rep, err := s.Prune(PruneOptions{KeepLast: 1, Now: later(10)})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{old.ID, middle.ID}, []string{rep.Removed[0].ID, rep.Removed[1].ID})
	require.Len(t, rep.StaleLeases, 1)
	assert.Equal(t, pid, rep.StaleLeases[0].PID)
	assert.Equal(t, fmt.Sprintf("pid %d is gone", pid), rep.StaleLeases[0].Stale)
	left, _ := filepath.Glob(filepath.Join(s.Dir(), leaseDir, old.ID+".*"))
	assert.Empty(t, left, "the stale lease was removed")
	_, err = s.Verify(context.Background(), newest.ID, nil)
	require.NoError(t, err)
}

// A pack that holds content a snapshot in use needs is neither removed nor
// rewritten while the lease lasts, though mostly dead; once it is released
// the next prune rewrites it.
func TestSweepLeavesThePacksOfASnapshotInUse(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.bin"), randomBytes(30, 1<<20), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "b.bin"), randomBytes(31, 3<<20), 0o644))
	m1 := createSnap(t, s, root, CreateOptions{Now: later(0)})
	require.NoError(t, os.Remove(filepath.Join(root, "b.bin")))
	m2 := createSnap(t, s, root, CreateOptions{Now: later(1)}) // a.bin only, in m1's pack
	require.NoError(t, os.Remove(filepath.Join(root, "a.bin")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "c.bin"), randomBytes(32, 1<<20), 0o644))
	createSnap(t, s, root, CreateOptions{Now: later(2)})

	lease, err := s.Lease(m2.ID, "update rehearsal tx-1")
	require.NoError(t, err)
	rep, err := s.Prune(PruneOptions{KeepLast: 1, Now: later(10)})
	require.NoError(t, err)
	assert.Equal(t, []PruneDecision{{ID: m1.ID, Reason: "not among the newest 1"}}, rep.Removed)
	assert.Equal(t, 1, rep.Swept.PacksInUse)
	assert.Zero(t, rep.Swept.PacksRepacked, "m1's pack, three quarters dead, holds a.bin, which m2 in use needs")
	assert.True(t, packExists(s, m1.NewPacks[0].Name))
	_, err = s.Verify(context.Background(), m2.ID, nil)
	require.NoError(t, err)

	lease.Release()
	lease.Release() // twice is fine
	rep, err = s.Prune(PruneOptions{KeepLast: 2, Now: later(10)})
	require.NoError(t, err)
	assert.Empty(t, rep.Removed)
	assert.Equal(t, 1, rep.Swept.PacksRepacked, "released: the dead content goes")
	assert.False(t, packExists(s, m1.NewPacks[0].Name))
	fresh := filepath.Join(t.TempDir(), "restored")
	_, err = s.Extract(context.Background(), m2.ID, fresh, ExtractOptions{NoSync: true})
	require.NoError(t, err)
}

// Delete refuses a snapshot in use, with the holders; after the release it
// deletes it. A lease on a snapshot that is not there is refused.
func TestDeleteRefusesASnapshotInUse(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	m := createSnap(t, s, root, CreateOptions{})
	l1, err := s.Lease(m.ID, "drill")
	require.NoError(t, err)
	l2, err := s.Lease(m.ID, "extract")
	require.NoError(t, err)
	err = s.Delete(m.ID)
	var iu *InUseError
	require.ErrorAs(t, err, &iu)
	require.Len(t, iu.Leases, 2)
	assert.Equal(t, fmt.Sprintf("snapshot %s is in use by drill (pid %d); it was not deleted", m.ID, os.Getpid()), err.Error(),
		"one process is named once, by its first lease")
	l1.Release()
	require.ErrorAs(t, s.Delete(m.ID), &iu)
	assert.Contains(t, iu.Error(), "in use by extract (pid ")
	l2.Release()
	require.NoError(t, s.Delete(m.ID))

	_, err = s.Lease(m.ID, "drill")
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	_, err = s.Lease("../etc", "drill")
	require.ErrorAs(t, err, &nf)
}

// A lease counts while its process may still be the one that wrote it:
// gone, exited (a zombie), another process under the same PID, or another
// boot make it stale; what cannot be judged counts (when in doubt, keep).
func TestLeaseStaleness(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	m := createSnap(t, s, root, CreateOptions{})
	self, err := s.Lease(m.ID, "me")
	require.NoError(t, err)
	me := self.Info
	self.Release()

	// A child that has exited: first unreaped (a zombie), then reaped.
	child := exec.Command("true")
	require.NoError(t, child.Start())
	zpid := child.Process.Pid
	zstart, _, err := procStat(strconv.Itoa(zpid))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, state, err := procStat(strconv.Itoa(zpid))
		return err == nil && state == 'Z'
	}, 10*time.Second, 10*time.Millisecond)

	with := func(f func(l *LeaseInfo)) LeaseInfo { l := me; f(&l); return l }
	for _, tc := range []struct {
		name  string
		lease LeaseInfo
		stale string
	}{
		{"this process", me, ""},
		{"another process under this PID", with(func(l *LeaseInfo) { l.StartTime++ }), fmt.Sprintf("pid %d is another process now", me.PID)},
		{"another boot", with(func(l *LeaseInfo) { l.BootID = "0-0-0-0" }), "the machine rebooted since"},
		{"another PID namespace", with(func(l *LeaseInfo) { l.PIDNS = "pid:[1]"; l.StartTime++ }), ""},
		{"no start time recorded", with(func(l *LeaseInfo) { l.StartTime = 0 }), ""},
		{"a zombie", with(func(l *LeaseInfo) { l.PID, l.StartTime = zpid, zstart }), fmt.Sprintf("pid %d has exited", zpid)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.stale, tc.lease.staleness(bootID(), pidNamespace("self")))
		})
	}
	require.NoError(t, child.Wait())
	gone := with(func(l *LeaseInfo) { l.PID, l.StartTime = zpid, zstart })
	assert.Equal(t, fmt.Sprintf("pid %d is gone", zpid), gone.staleness(bootID(), pidNamespace("self")))

	// Through the store: an unreadable lease file keeps its snapshot; the
	// stale one goes at the next prune, the live one stays.
	dir := filepath.Join(s.Dir(), leaseDir)
	require.NoError(t, durable.WriteJSON(filepath.Join(dir, fmt.Sprintf("%s.%d.1", m.ID, zpid)), gone, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, m.ID+".77.1"), []byte("{not json"), 0o600))
	live, err := s.InUse(m.ID)
	require.NoError(t, err)
	require.Len(t, live, 1)
	assert.Contains(t, live[0].Holder, "an unknown reader (lease file ")
	rep, err := s.Prune(PruneOptions{KeepLast: 1})
	require.NoError(t, err)
	require.Len(t, rep.StaleLeases, 1)
	assert.Equal(t, zpid, rep.StaleLeases[0].PID)
	_, err = os.Stat(filepath.Join(dir, m.ID+".77.1"))
	assert.NoError(t, err, "an unreadable lease is never removed by prune")
	var iu *InUseError
	assert.True(t, errors.As(s.Delete(m.ID), &iu), "nor does Delete pass it")
}
