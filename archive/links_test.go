package archive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// linkTree makes a pack whose links point everywhere a real one's do: into
// the tree, at a directory, nowhere, out of the tree by "..", and at
// absolute paths outside (repository/logs -> /var/log/wso2am, a JDK with
// links into /etc). outside is a directory beside the pack with content of
// its own that no snapshot may contain.
func linkTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "pack"), filepath.Join(base, "outside")
	makeTree(t, root)
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "logs/wso2carbon.log"), []byte("outside the pack"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository", "jdk", "lib", "security"), 0o755))
	for _, l := range []struct{ at, to string }{
		{"repository/logs", filepath.Join(outside, "logs")},                    // absolute, to a directory outside
		{"repository/jdk/lib/security/cacerts", "/etc/ssl/certs/java/cacerts"}, // absolute, maybe dangling
		{"repository/escaping", "../../outside/logs/wso2carbon.log"},           // relative, leaving the tree
		{"repository/up", "../.."},                                             // relative, to a directory outside
		{"repository/conf-link", "../conf"},                                    // relative, to a directory inside
		{"repository/dangling", "no/such/file"},                                // dangling
		{"repository/self", "self"},                                            // a loop
	} {
		require.NoError(t, os.Symlink(l.to, filepath.Join(root, l.at)))
	}
	return root, outside
}

func TestLinksAreStoredAsLinks(t *testing.T) {
	t.Parallel()
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		t.Run(comp, func(t *testing.T) {
			t.Parallel()
			s, _ := openTestStore(t)
			root, outside := linkTree(t)
			want := describe(t, root)
			outsideBefore := describe(t, outside)
			m := createSnap(t, s, root, CreateOptions{Compression: comp})

			links := map[string]string{}
			for _, e := range entriesOf(t, s, m.ID) {
				assert.False(t, strings.HasPrefix(e.Path, "repository/logs/"), "a link is never followed: %s", e.Path)
				if e.Type == TypeSymlink {
					links[e.Path] = e.Link
				}
			}
			assert.Equal(t, filepath.Join(outside, "logs"), links["repository/logs"])
			assert.Equal(t, "../../outside/logs/wso2carbon.log", links["repository/escaping"])
			_, err := s.Verify(context.Background(), m.ID, nil)
			require.NoError(t, err)

			fresh := filepath.Join(t.TempDir(), "restored")
			_, err = s.Restore(context.Background(), m.ID, fresh, RestoreOptions{})
			require.NoError(t, err)
			assert.Equal(t, want, describe(t, fresh), "bit for bit, links included")

			// Over a live tree whose links were changed and whose linked
			// directory holds new files: the links come back as they were and
			// nothing is written through them.
			require.NoError(t, os.Remove(filepath.Join(root, "repository/escaping")))
			require.NoError(t, os.Symlink("/tmp", filepath.Join(root, "repository/escaping")))
			require.NoError(t, os.Remove(filepath.Join(root, "repository/dangling")))
			require.NoError(t, os.WriteFile(filepath.Join(outside, "logs/new.log"), []byte("written after"), 0o644))
			outsideNow := describe(t, outside)
			_, err = s.Restore(context.Background(), m.ID, root, RestoreOptions{})
			require.NoError(t, err)
			assert.Equal(t, want, describe(t, root))
			assert.Equal(t, outsideNow, describe(t, outside), "nothing outside the tree changed")
			assert.NotEqual(t, outsideBefore, outsideNow)
		})
	}
}

// The rollback path: a whole restore carries paths excluded from the
// snapshot over from the live pack. An exclude below a link (the walk never
// follows it) has nothing to carry: the snapshot's link covers it.
func TestRestoreCarriesExcludesOverWithLinks(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root, outside := linkTree(t)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/deployment"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/deployment/app.war"), []byte("v1"), 0o644))
	m := createSnap(t, s, root, CreateOptions{Exclude: []string{"repository/logs/audit", "repository/deployment", "repository/up/outside"}})
	want := describe(t, root)

	require.NoError(t, os.WriteFile(filepath.Join(root, "repository/deployment/app.war"), []byte("v2, deployed after"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/server.sh"), []byte("updated"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "logs/audit"), 0o755))
	outsideNow := describe(t, outside)

	rep, err := s.Restore(context.Background(), m.ID, root, RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"repository/deployment"}, rep.Kept)
	data, err := os.ReadFile(filepath.Join(root, "repository/deployment/app.war"))
	require.NoError(t, err)
	assert.Equal(t, "v2, deployed after", string(data), "the excluded directory is carried over")
	got := describe(t, root)
	for p, d := range want {
		// The carried-over directory's parent has the time of the move.
		if !under(p, "repository/deployment") && p != "repository" {
			assert.Equal(t, d, got[p], p)
		}
	}
	assert.Equal(t, outsideNow, describe(t, outside))

	// The live link replaced by a directory: the snapshot's link comes back,
	// the live directory is displaced, and the exclude below it is not
	// carried through anything.
	require.NoError(t, os.Remove(filepath.Join(root, "repository/logs")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "repository/logs/audit"), 0o755))
	_, err = s.Restore(context.Background(), m.ID, root, RestoreOptions{})
	require.NoError(t, err)
	l, err := os.Readlink(filepath.Join(root, "repository/logs"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(outside, "logs"), l)
	assert.Equal(t, outsideNow, describe(t, outside))
}

// Crafted archives whose links leave the tree are valid snapshots: the
// links are restored as links and nothing is written outside.
func TestCraftedEscapingLinksRestoreAsLinks(t *testing.T) {
	t.Parallel()
	root := craftEntry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}}
	link := func(n, to string) craftEntry {
		return craftEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: to, Mode: 0o777}}
	}
	s, _ := openTestStore(t)
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "victim"), []byte("precious"), 0o644))
	before := describe(t, outside)
	m, entries := craft(t, s, "20240101T000000Z-links", []craftEntry{
		root, link("a", "."), link("abs", outside), link("b", "a/../outside"), link("up", "../outside"), link("victim", outside+"/victim"),
	})
	_, err := s.Verify(context.Background(), m.ID, nil)
	require.NoError(t, err)
	target := filepath.Join(base, "pack")
	_, err = s.Restore(context.Background(), m.ID, target, RestoreOptions{})
	require.NoError(t, err)
	for _, e := range entries[1:] {
		l, err := os.Readlink(filepath.Join(target, e.Path))
		require.NoError(t, err)
		assert.Equal(t, e.Link, l)
	}
	assert.Equal(t, before, describe(t, outside))
}

// TestCreateListsEveryUnstorableEntry: device files, FIFOs, sockets and
// unreadable entries are all listed in one usage error before anything is
// archived; excluding them makes the snapshot possible.
func TestCreateListsEveryUnstorableEntry(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	require.NoError(t, os.Chmod(filepath.Join(root, "conf"), 0o755))
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "bin/fifo"), 0o600))
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "conf/ctl\x01fifo"), 0o600))
	// A socket path must be short: listen from inside the directory.
	sock := filepath.Join(root, "empty/dir/s.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	defer ln.Close()
	want := []Unstorable{
		{"bin/fifo", "FIFO (named pipe)"},
		{"conf/ctl\x01fifo", "FIFO (named pipe)"},
		{"empty/dir/s.sock", "socket"},
	}
	excl := []string{"bin/fifo", "conf/ctl\x01fifo", "empty/dir/s.sock"}
	if os.Geteuid() == 0 {
		require.NoError(t, unix.Mknod(filepath.Join(root, "lib/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		want = append(want, Unstorable{"lib/null", "character device"})
		excl = append(excl, "lib/null")
	}
	_, err = s.Create(context.Background(), root, CreateOptions{})
	var ue *UnstorableError
	require.ErrorAs(t, err, &ue, "%v", err)
	assert.Equal(t, want, ue.Entries)
	assert.Contains(t, err.Error(), `"conf/ctl\x01fifo": FIFO`, "names are quoted, control bytes escaped")
	assert.NotContains(t, err.Error(), "\x01")
	list, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, list)
	left, _ := filepath.Glob(filepath.Join(s.Dir(), ".tmp-*"))
	assert.Empty(t, left, "nothing left behind")

	m, err := s.Create(context.Background(), root, CreateOptions{Exclude: excl})
	require.NoError(t, err, "excluding them makes the snapshot possible")
	_, err = s.Verify(context.Background(), m.ID, nil)
	require.NoError(t, err)
}

// Unreadable files and directories are listed too. Root reads everything,
// so as root the scan runs in a helper process as nobody.
func TestCreateListsUnreadableEntries(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "pack")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "a/locked"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a/secret"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a/locked/inside"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a/public"), []byte("x"), 0o644))
	require.NoError(t, os.Chmod(filepath.Join(root, "a/locked"), 0o700))
	if os.Geteuid() == 0 {
		// The test directory's parents are private to root: let nobody in.
		for d := base; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
			var st unix.Stat_t
			require.NoError(t, unix.Stat(d, &st))
			if st.Mode&0o001 == 0 {
				require.NoError(t, os.Chmod(d, os.FileMode(st.Mode&0o7777|0o711)))
			}
		}
	}
	var problems []Unstorable
	if os.Geteuid() == 0 {
		// The test binary lives in a private build directory: copy it.
		bin := filepath.Join(base, "helper.test")
		data, err := os.ReadFile(os.Args[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(bin, data, 0o755))
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "CG_ARCHIVE_HELPER=scan", "CG_ROOT="+root)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.Output()
		require.NoError(t, err, "%s", out)
		require.NoError(t, json.Unmarshal(out, &problems), "%s", out)
	} else {
		w, err := walkInto(context.Background(), root, nil, nil, nil)
		require.NoError(t, err)
		problems = w.problems
	}
	assert.Equal(t, []Unstorable{
		{"a/locked", "directory cannot be listed: permission denied"},
		{"a/secret", "file cannot be read: permission denied"},
	}, problems)
}
