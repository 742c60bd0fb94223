package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// makeTree builds a tree holding every kind of entry a snapshot keeps:
// files with odd modes (exec, setgid, read-only), nanosecond mtimes, empty
// files and directories, relative, dangling and directory symlinks, hard
// links, a read-only directory, and a long path.
func makeTree(t testing.TB, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	mtime := time.Date(2024, 3, 4, 5, 6, 7, 891011121, time.UTC)
	file := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(root, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, []byte(content), 0o600))
		must(os.Chmod(p, mode))
	}
	must(os.MkdirAll(root, 0o755))
	file("bin/server.sh", "#!/bin/sh\necho hi\n", 0o755)
	file("bin/setgid-tool", "tool", 0o2755)
	file("conf/deployment.toml", "[server]\nhostname = \"localhost\"\n", 0o640)
	file("conf/readonly.xml", "<x/>", 0o444)
	file("empty-file", "", 0o644)
	file("lib/big.jar", strings.Repeat("PK\x03\x04 class-like bytes ", 40000), 0o644)
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 300_000)
	for i := range noise {
		noise[i] = byte(rnd.UintN(256))
	}
	file("lib/noise.bin", string(noise), 0o644)
	file("a/very/deep/"+strings.Repeat("long-directory-name-", 8)+"/"+strings.Repeat("file-", 30)+".txt", "deep", 0o644)
	must(os.MkdirAll(filepath.Join(root, "empty/dir"), 0o750))
	must(os.MkdirAll(filepath.Join(root, "sticky"), 0o755))
	must(os.Chmod(filepath.Join(root, "sticky"), 0o1777))
	must(os.Symlink("../conf/deployment.toml", filepath.Join(root, "bin/link-to-conf")))
	must(os.Symlink("nowhere/at/all", filepath.Join(root, "dangling")))
	must(os.Symlink("conf", filepath.Join(root, "conf-dir-link")))
	must(os.Symlink(".", filepath.Join(root, "self")))
	must(os.Link(filepath.Join(root, "lib/big.jar"), filepath.Join(root, "lib/hardlink.jar")))
	must(os.Link(filepath.Join(root, "lib/big.jar"), filepath.Join(root, "conf/third-name.jar")))
	// mtimes last, deepest first, so directory times stick.
	var paths []string
	must(filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for i, p := range paths {
		ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.Add(time.Duration(i) * time.Second).UnixNano())}
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	// A read-only directory (its contents must be restored before its mode).
	must(os.Chmod(filepath.Join(root, "conf"), 0o555))
}

// describe records everything a round trip must keep, per path.
func describe(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	groups := map[[2]uint64]string{}
	require.NoError(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(p, &st))
		d := fmt.Sprintf("type=%o mode=%04o mtime=%d uid=%d gid=%d", st.Mode&unix.S_IFMT, st.Mode&0o7777, st.Mtim.Nano(), st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			sum := sha256.Sum256(data)
			d += " sha256=" + hex.EncodeToString(sum[:])
			if st.Nlink > 1 {
				k := [2]uint64{st.Dev, st.Ino}
				if _, ok := groups[k]; !ok {
					groups[k] = rel
				}
				d += fmt.Sprintf(" nlink=%d group=%s", st.Nlink, groups[k])
			}
		case unix.S_IFLNK:
			l, err := os.Readlink(p)
			require.NoError(t, err)
			d += " link=" + l
		}
		out[rel] = d
		return nil
	}))
	return out
}

func openTestStore(t testing.TB) (*Store, string) {
	t.Helper()
	state := t.TempDir()
	s, err := OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	require.NoError(t, err)
	return s, state
}

func createSnap(t testing.TB, s *Store, root string, o CreateOptions) *Manifest {
	t.Helper()
	m, err := s.Create(context.Background(), root, o)
	require.NoError(t, err)
	return m
}
