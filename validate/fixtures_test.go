package validate

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
)

// fixture is one pass or fail case of a check (see doc.go, "Fixtures").
type fixture struct {
	ID   string // the check's ID
	Name string // short, unique per ID; the subtest's name
	Want Status // Pass, Fail, Unknown, NotApplicable or Skipped
	// Pack is the directory under testdata/packs copied as the starting point;
	// "" means "apim-4.2".
	Pack string
	// Files are written over the copy: path relative to the home => the whole
	// new content; "" deletes the file.
	Files map[string]string
	// Edit changes the copy in place after Files (e.g. a sed-like edit of
	// the stock script); home is the copy's root.
	Edit func(t *testing.T, home string)
	// SysProps are passed to pack.OpenWith (-D properties the JVM will get).
	SysProps map[string]string
	// Host adjusts the fake host (which starts as fakeHost()).
	Host func(h *Host)
	// Facts adjusts the collected facts (Start, Snapshots, Others...).
	Facts func(t *testing.T, f *Facts)
}

var (
	fixturesMu sync.Mutex
	fixtures   []fixture
)

// addFixtures declares fixtures; call it from an init() in a _test.go file.
func addFixtures(fs ...fixture) {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	fixtures = append(fixtures, fs...)
}

// fixedNow is the clock of every fixture and golden report.
var fixedNow = time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)

// fakeHost is a healthy production host: 4 cores, 16 GiB, swap, 100 GiB
// free, nofile 65536, Ubuntu 22.04 LTS, a non-root user, JDK 17 (the range
// of APIM 4.2), nothing listening, "apim.example.com" resolvable.
func fakeHost() Host {
	return Host{
		Hostname:       "apim-node-1",
		ResolvedAddrs:  map[string][]string{"apim.example.com": {"10.0.0.10"}, "is.example.com": {"10.0.0.11"}, "mi.example.com": {"10.0.0.12"}, "localhost": {"127.0.0.1"}},
		CPUCores:       4,
		MemTotalBytes:  16 << 30,
		SwapTotalBytes: 4 << 30,
		DiskFreeBytes:  100 << 30,
		OpenFilesSoft:  65536,
		OpenFilesHard:  65536,
		OS:             OSRelease{ID: "ubuntu", VersionID: "22.04", Pretty: "Ubuntu 22.04.4 LTS"},
		UID:            1000,
		User:           "wso2carbon",
		Env:            map[string]string{"JAVA_HOME": "/opt/java/jdk-17"},
		Java: JavaRuntime{Home: "/opt/java/jdk-17", Version: "17.0.15", Major: 17,
			// OpenJDK 17's own java.security refuses SSLv3, TLSv1 and TLSv1.1.
			DisabledTLS: []string{"SSLv3", "TLSv1", "TLSv1.1"}, SecurityKnown: true, SecurityFile: "/opt/java/jdk-17/conf/security/java.security"},
		Mounts: []Mount{{Device: "/dev/sda1", Dir: "/", FSType: "ext4"}},
	}
}

// jdkAcceptsWeakTLS is a JDK whose jdk.tls.disabledAlgorithms (like
// OpenJDK 8 before 8u291 and 11 before 11.0.11) still allows TLSv1 and
// TLSv1.1.
func jdkAcceptsWeakTLS(h *Host) {
	h.Java.DisabledTLS = []string{"SSLv3"}
}

// copyPack copies testdata/packs/<name> into a temporary directory and
// returns the new home.
func copyPack(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, testpack.CopyTree(filepath.Join("..", "testdata", "packs", name), dst), "copying fixture pack %s", name)
	return dst
}

// replaceIn replaces old by new in a file of the copy; the old text must be
// there (a fixture that silently edits nothing proves nothing).
func replaceIn(t *testing.T, home, rel, old, new string) {
	t.Helper()
	path := filepath.Join(home, filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), old, "%s does not contain the text to replace", rel)
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), 0o644))
}

// writeFiles writes (or, for "", deletes) files below home.
func writeFiles(t testing.TB, home string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(home, filepath.FromSlash(rel))
		if content == "" {
			require.NoError(t, os.RemoveAll(path))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
}

// fixtureFacts builds the facts a fixture describes.
func fixtureFacts(t *testing.T, fx fixture) *Facts {
	t.Helper()
	name := fx.Pack
	if name == "" {
		name = "apim-4.2"
	}
	home := copyPack(t, name)
	writeFiles(t, home, fx.Files)
	if fx.Edit != nil {
		fx.Edit(t, home)
	}
	p, err := pack.OpenWith(home, pack.Options{SysProps: fx.SysProps})
	require.NoError(t, err, "opening fixture pack")
	h := fakeHost()
	if fx.Host != nil {
		fx.Host(&h)
	}
	f, err := Collect(context.Background(), p, nil, CollectOptions{Probe: StaticProbe{Host: h}, Now: fixedNow})
	require.NoError(t, err)
	if fx.Facts != nil {
		fx.Facts(t, f)
	}
	return f
}

func TestEveryCheckIsComplete(t *testing.T) {
	byID := map[string]map[Status]int{}
	for _, fx := range fixtures {
		if byID[fx.ID] == nil {
			byID[fx.ID] = map[Status]int{}
		}
		byID[fx.ID][fx.Want]++
	}
	checks := Registry()
	require.NotEmpty(t, checks)
	for _, c := range checks {
		t.Run(c.ID, func(t *testing.T) {
			assert.NotEmpty(t, c.Title, "title")
			assert.Contains(t, Categories, c.Category, "category")
			assert.GreaterOrEqual(t, len(c.Rationale), 40, "rationale: one paragraph on why it matters")
			assert.GreaterOrEqual(t, len(c.Remediation), 20, "remediation: what to change")
			assert.Equal(t, DocAnchor(c.ID), c.Doc, "doc anchor")
			assert.NotZero(t, byID[c.ID][Pass], "no pass fixture: declare one with addFixtures in checks_<family>_test.go")
			assert.NotZero(t, byID[c.ID][Fail], "no fail fixture: declare one with addFixtures in checks_<family>_test.go")
		})
	}
	for id := range byID {
		_, ok := Lookup(id)
		assert.True(t, ok, "fixture names unknown check %s", id)
	}
}

func TestFixtures(t *testing.T) {
	seen := map[string]bool{}
	fxs := append([]fixture(nil), fixtures...)
	sort.SliceStable(fxs, func(i, j int) bool { return fxs[i].ID < fxs[j].ID })
	for _, fx := range fxs {
		name := fx.ID + "/" + fx.Name
		require.False(t, seen[name], "fixture %s declared twice", name)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, ok := Lookup(fx.ID)
			require.True(t, ok, "unknown check %s", fx.ID)
			f := fixtureFacts(t, fx)
			results := c.Run(f)
			require.NotEmpty(t, results, "a check always returns at least one result")
			count := map[Status]int{}
			for _, r := range results {
				count[r.Status]++
				assert.NotEmpty(t, r.Message, "every result has a message")
				if r.Status == Unknown || r.Status == Skipped {
					assert.NotEmpty(t, r.Reason, "unknown and skipped results say why")
				}
			}
			msg := describeResults(results)
			switch fx.Want {
			case Pass:
				assert.NotZero(t, count[Pass], "want a pass; got %s", msg)
				assert.Zero(t, count[Fail], "want no failure; got %s", msg)
			case Fail:
				assert.NotZero(t, count[Fail], "want a failure; got %s", msg)
			case Unknown, Skipped:
				assert.NotZero(t, count[fx.Want], "want %s; got %s", fx.Want, msg)
				assert.Zero(t, count[Fail], "want no failure; got %s", msg)
			case NotApplicable:
				assert.Equal(t, len(results), count[NotApplicable], "want all not-applicable; got %s", msg)
			default:
				t.Fatalf("fixture wants unsupported status %q", fx.Want)
			}
		})
	}
}

func describeResults(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n  ")
		b.WriteString(string(r.Status))
		if r.Subject != "" {
			b.WriteString(" [" + r.Subject + "]")
		}
		b.WriteString(": " + r.Message)
		if r.Reason != "" {
			b.WriteString(" (" + r.Reason + ")")
		}
	}
	return b.String()
}
