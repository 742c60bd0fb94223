package archive

import (
	"io"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sliceSource struct{ entries []Entry }

func (s *sliceSource) next() (*Entry, error) {
	if len(s.entries) == 0 {
		return nil, io.EOF
	}
	e := s.entries[0]
	s.entries = s.entries[1:]
	return &e, nil
}

func (s *sliceSource) Close() error { return nil }

const hash0 = "0000000000000000000000000000000000000000000000000000000000000000"

func TestValidatorChecksAsItReads(t *testing.T) {
	t.Parallel()
	d := func(p string) Entry { return Entry{Path: p, Type: TypeDir, Mode: 0o755} }
	f := func(p string) Entry { return Entry{Path: p, Type: TypeFile, Mode: 0o644, Hash: hash0} }
	l := func(p, to string) Entry { return Entry{Path: p, Type: TypeSymlink, Mode: 0o777, Link: to} }
	h := func(p, to string) Entry {
		return Entry{Path: p, Type: TypeHardlink, Mode: 0o644, Link: to, Hash: hash0}
	}
	multi := f("a/multi")
	multi.NLink = 2
	tests := []struct {
		name    string
		entries []Entry
		bad     string // "" when valid; else the field of the CorruptError
	}{
		{"a tree", []Entry{d("."), d("a"), f("a/f"), l("a/l", "/etc"), d("a/z"), f("a/z/x"), f("a-b"), d("b")}, ""},
		{"hard link to a multiply-linked file", []Entry{d("."), d("a"), multi, h("b", "a/multi")}, ""},
		{"empty", nil, "manifest"},
		{"no root", []Entry{d("a")}, "manifest"},
		{"root not a directory", []Entry{f(".")}, "manifest"},
		{"out of order", []Entry{d("."), f("b"), f("a")}, "manifest"},
		{"listed twice", []Entry{d("."), f("a"), f("a")}, "manifest"},
		{"a directory after its sibling's contents", []Entry{d("."), d("a"), f("a/x"), d("a-b"), f("a/y")}, "manifest"},
		{"parent is a symlink", []Entry{d("."), l("a", "/etc"), f("a/passwd")}, "unsafe"},
		{"parent is a file", []Entry{d("."), f("a"), f("a/b")}, "unsafe"},
		{"parent missing", []Entry{d("."), f("a/b")}, "unsafe"},
		{"dot-dot", []Entry{d("."), f("../x")}, "unsafe"},
		{"absolute", []Entry{d("."), f("/etc/passwd")}, "unsafe"},
		{"hard link to a file with one name", []Entry{d("."), f("a"), h("b", "a")}, "unsafe"},
		{"hard link to a later file", []Entry{d("."), h("a", "b"), multi}, "unsafe"},
		{"device", []Entry{d("."), {Path: "null", Type: "chardev"}}, "unsafe"},
		{"file without hash", []Entry{d("."), {Path: "a", Type: TypeFile}}, "manifest"},
		{"symlink with a NUL", []Entry{d("."), l("a", "x\x00y")}, "manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &validator{src: &sliceSource{tc.entries}, id: "x", files: map[string]bool{}}
			var err error
			for err == nil {
				_, err = v.next()
			}
			if tc.bad == "" {
				assert.Equal(t, io.EOF, err)
				return
			}
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.bad, ce.Field, "%v", err)
		})
	}
}

// comparePaths is the walk's order: sorting names by it gives what
// walkTree visits.
func TestComparePathsIsTheWalkOrder(t *testing.T) {
	t.Parallel()
	walk := []string{".", "a", "a/b", "a/b/c", "a/b-", "a\x01", "a-b", "a-b/x", "a.b", "ab", "b", "\xe9"}
	shuffled := []string{"ab", "a-b/x", "\xe9", "a\x01", ".", "a/b-", "a/b/c", "b", "a.b", "a/b", "a-b", "a"}
	sort.Slice(shuffled, func(i, j int) bool { return comparePaths(shuffled[i], shuffled[j]) < 0 })
	assert.Equal(t, walk, shuffled)
}
