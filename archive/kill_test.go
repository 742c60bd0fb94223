package archive

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain doubles as the helper process the kill tests run and SIGKILL:
// with CG_ARCHIVE_HELPER set, the test binary runs one Create or Restore
// and pauses at the point the test asks for, printing "paused".
func TestMain(m *testing.M) {
	if mode := os.Getenv("CG_ARCHIVE_HELPER"); mode != "" {
		os.Exit(helperMain(mode))
	}
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(filepath.Dir(benchRoot))
	}
	os.Exit(code)
}

func helperMain(mode string) int {
	if mode == "scan" {
		w, err := walkInto(context.Background(), os.Getenv("CG_ROOT"), nil, nil, nil)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		out, _ := json.Marshal(w.problems)
		fmt.Println(string(out))
		return 0
	}
	paused := false
	pause := func() {
		if paused {
			return
		}
		paused = true
		fmt.Println("paused")
		if os.Getenv("CG_RESUME") == "stdin" {
			// The parent lets us go on with a line (or kills us).
			_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
			return
		}
		time.Sleep(time.Hour) // the parent kills us here
	}
	pauseAt, pauseN := os.Getenv("CG_PAUSE_AT"), 1
	if n, err := strconv.Atoi(os.Getenv("CG_PAUSE_N")); err == nil {
		pauseN = n
	}
	seen := 0
	testHook = func(point, _ string) {
		if point == pauseAt {
			if seen++; seen == pauseN {
				pause()
			}
		}
	}
	progressInterval = 0
	pauseBytes, _ := strconv.ParseInt(os.Getenv("CG_PAUSE_BYTES"), 10, 64)
	progress := func(p Progress) {
		if pauseBytes > 0 && p.Bytes >= pauseBytes && !p.Done {
			pause()
		}
	}
	s, err := OpenStore(os.Getenv("CG_STORE"), zerolog.Nop())
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	switch mode {
	case "create":
		_, err = s.Create(context.Background(), os.Getenv("CG_ROOT"), CreateOptions{Progress: progress})
	case "prune":
		_, err = s.Prune(PruneOptions{KeepLast: 1, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	case "import":
		dir := os.Getenv("CG_ROOT")
		man, err1 := os.Open(filepath.Join(dir, "manifest"))
		tr, err2 := os.Open(filepath.Join(dir, "tar"))
		if err1 != nil || err2 != nil {
			fmt.Println("error:", err1, err2)
			return 1
		}
		_, err = s.Import(context.Background(), man, tr, ImportOptions{Progress: progress})
	case "extract":
		_, err = s.Extract(context.Background(), os.Getenv("CG_ID"), os.Getenv("CG_ROOT"), ExtractOptions{Progress: progress, NoSync: true, Holder: os.Getenv("CG_HOLDER")})
	case "restore":
		_, err = s.Restore(context.Background(), os.Getenv("CG_ID"), os.Getenv("CG_ROOT"), RestoreOptions{Progress: progress, KeepDisplaced: true})
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// runAndKill starts the helper, waits until it pauses, and SIGKILLs it.
func runAndKill(t *testing.T, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		require.Equal(t, "paused", l, "the helper should pause before it ends")
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the helper never paused")
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
}

// bigTree adds enough content that a kill lands mid-stream.
func bigTree(t *testing.T, root string) {
	makeTree(t, root)
	noise := make([]byte, 2<<20)
	for i := range noise {
		noise[i] = byte(i*7 + i/13)
	}
	for i := range 4 {
		require.NoError(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("data%d.bin", i)), noise, 0o644))
	}
}

func TestKilledCreateLeavesNothingComplete(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "pack")
	bigTree(t, root)
	for _, tc := range []struct{ name, at, bytes string }{
		{"mid-stream", "", strconv.Itoa(3 << 20)},
		{"archive written", "create:archived", ""},
		{"manifest written", "create:manifest", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storeDir := filepath.Join(t.TempDir(), "snapshots")
			runAndKill(t, "CG_ARCHIVE_HELPER=create", "CG_STORE="+storeDir, "CG_ROOT="+root,
				"CG_PAUSE_AT="+tc.at, "CG_PAUSE_BYTES="+tc.bytes)
			partials, _ := filepath.Glob(filepath.Join(storeDir, tmpPrefix+"*"))
			require.Len(t, partials, 1, "the killed create left its partial directory")

			s, err := OpenStore(storeDir, zerolog.Nop())
			require.NoError(t, err)
			list, err := s.List()
			require.NoError(t, err)
			assert.Empty(t, list, "nothing lists after a killed create")
			partials, _ = filepath.Glob(filepath.Join(storeDir, tmpPrefix+"*"))
			assert.Empty(t, partials, "OpenStore removed the stale partial")
			// Packs already moved into the store hold nothing any snapshot
			// needs: the next sweep removes them.
			_, err = s.sweep()
			require.NoError(t, err)
			assertNothingLeft(t, s)
			// The store still works.
			m := createSnap(t, s, root, CreateOptions{})
			_, err = s.Verify(context.Background(), m.ID, nil)
			require.NoError(t, err)
		})
	}
}

func TestKilledRestoreIsOldOrNewAndRecovered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, at, n, bytes string
		wantBefore         string // "old" or "new": the target right after the kill
		wantOutcome        string
	}{
		{"while staging", "", "", strconv.Itoa(3 << 20), "old", RecoveryUndone},
		{"staged, before the record", "restore:staged", "1", "", "old", RecoveryUndone},
		{"recorded, before the swap", "restore:recorded", "1", "", "old", RecoveryFinished},
		{"after the exchange", "restore:step", "1", "", "new", RecoveryFinished},
		{"after the last rename", "restore:step", "2", "", "new", RecoveryFinished},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, state := openTestStore(t)
			root := filepath.Join(t.TempDir(), "pack")
			bigTree(t, root)
			newTree := describe(t, root)
			m := createSnap(t, s, root, CreateOptions{})
			// Change the live tree: it is the "old" one the restore replaces.
			require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "conf/deployment.toml"), []byte("edited"), 0o600))
			require.NoError(t, os.RemoveAll(filepath.Join(root, "lib")))
			require.NoError(t, os.WriteFile(filepath.Join(root, "added.txt"), []byte("new"), 0o600))
			oldTree := describe(t, root)

			runAndKill(t, "CG_ARCHIVE_HELPER=restore", "CG_STORE="+s.Dir(), "CG_ROOT="+root, "CG_ID="+m.ID,
				"CG_PAUSE_AT="+tc.at, "CG_PAUSE_N="+tc.n, "CG_PAUSE_BYTES="+tc.bytes)

			want := map[string]map[string]string{"old": oldTree, "new": newTree}
			assert.Equal(t, want[tc.wantBefore], describe(t, root), "right after the kill the target is exactly the %s tree", tc.wantBefore)
			_, err := os.Stat(filepath.Join(state, "restore.json"))
			require.NoError(t, err, "the restore record survives the kill")

			s2, err := OpenStore(s.Dir(), zerolog.Nop())
			require.NoError(t, err)
			rr, err := s2.Recover(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tc.wantOutcome, rr.Outcome)
			assert.Equal(t, m.ID, rr.ID)
			if tc.wantOutcome == RecoveryFinished {
				assert.Equal(t, newTree, describe(t, root), "Recover finished the restore")
				require.NotEmpty(t, rr.Displaced)
				assert.Equal(t, oldTree, describe(t, rr.Displaced), "the displaced tree is the old one")
			} else {
				assert.Equal(t, oldTree, describe(t, root), "Recover left the target untouched")
			}
			siblings, _ := filepath.Glob(filepath.Join(filepath.Dir(root), ".pack.restore-*"))
			assert.Empty(t, siblings, "no staging directory remains")
			_, err = os.Stat(filepath.Join(state, "restore.json"))
			assert.ErrorIs(t, err, os.ErrNotExist)
			rr, err = s2.Recover(context.Background())
			require.NoError(t, err)
			assert.Equal(t, RecoveryNone, rr.Outcome)
		})
	}
}

// TestKilledPruneKeepsEveryKeptSnapshot kills a prune at each of its steps
// (a snapshot deleted, a pack's index removed, a pack rewritten before the
// old one goes): every snapshot still listed verifies and restores, and
// the next prune finishes the job, leaving nothing no snapshot needs.
func TestKilledPruneKeepsEveryKeptSnapshot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, at, n string }{
		{"after the first snapshot is deleted", "prune:deleted", "1"},
		{"after the second snapshot is deleted", "prune:deleted", "2"},
		{"between a pack's index and its pack", "prune:index-removed", "1"},
		{"after a repack, before the old pack goes", "prune:repacked", "1"},
		{"between the repacked pack's index and its pack", "prune:index-removed", "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTestStore(t)
			root := filepath.Join(t.TempDir(), "pack")
			require.NoError(t, os.MkdirAll(root, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "a.bin"), randomBytes(10, 2<<20), 0o644))
			trees := map[string]map[string]string{}
			for i := range 3 {
				require.NoError(t, os.WriteFile(filepath.Join(root, "b.bin"), randomBytes(uint64(20+i), 2<<20), 0o644))
				m := createSnap(t, s, root, CreateOptions{Now: later(i)})
				trees[m.ID] = describe(t, root)
			}
			runAndKill(t, "CG_ARCHIVE_HELPER=prune", "CG_STORE="+s.Dir(), "CG_PAUSE_AT="+tc.at, "CG_PAUSE_N="+tc.n)

			check := func(s *Store) []Info {
				list, err := s.List()
				require.NoError(t, err)
				for _, in := range list {
					require.False(t, in.Incomplete, in.ID)
					_, err := s.Verify(context.Background(), in.ID, nil)
					require.NoError(t, err, in.ID)
					fresh := filepath.Join(t.TempDir(), "restored")
					_, err = s.Restore(context.Background(), in.ID, fresh, RestoreOptions{})
					require.NoError(t, err)
					assert.Equal(t, trees[in.ID], describe(t, fresh), in.ID)
				}
				return list
			}
			s2, err := OpenStore(s.Dir(), zerolog.Nop())
			require.NoError(t, err)
			assert.NotEmpty(t, check(s2))
			_, err = s2.Prune(PruneOptions{KeepLast: 1, Now: func() time.Time { return time.Now().Add(time.Hour) }})
			require.NoError(t, err)
			assert.Len(t, check(s2), 1)
			ents, err := os.ReadDir(filepath.Join(s2.Dir(), packsDir))
			require.NoError(t, err)
			var packBytes int64
			for _, e := range ents {
				assert.False(t, strings.HasPrefix(e.Name(), "."), "leftover %s", e.Name())
				if base, ok := strings.CutSuffix(e.Name(), packExt); ok {
					assert.FileExists(t, filepath.Join(s2.Dir(), packsDir, base+idxExt))
					packBytes += fileSize(filepath.Join(s2.Dir(), packsDir, e.Name()))
				}
			}
			assert.Less(t, packBytes, int64(4<<20)+64<<10, "only the kept snapshot's content is left")
		})
	}
}
