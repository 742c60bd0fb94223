package archive

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPruneDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ok := &VerifyRecord{OK: true}
	bad := &VerifyRecord{OK: false, Kind: "corrupt"}
	snap := func(id string, ageDays int, v *VerifyRecord) Info {
		return Info{ID: id, Created: now.Add(-time.Duration(ageDays) * 24 * time.Hour), Verified: v}
	}
	list := []Info{ // oldest first, as List returns
		snap("a", 60, ok),
		snap("b", 40, nil),
		snap("c", 20, ok),
		snap("d", 10, bad),
		snap("e", 2, nil),
		{ID: "f-broken", Incomplete: true, Created: now.Add(-time.Hour)},
	}
	tests := []struct {
		name    string
		o       PruneOptions
		removed []string
	}{
		{"keep last 2: newest verified c survives", PruneOptions{KeepLast: 2}, []string{"f-broken", "b", "a"}},
		{"keep last 1", PruneOptions{KeepLast: 1}, []string{"f-broken", "d", "b", "a"}},
		{"keep within 15 days", PruneOptions{KeepWithin: 15 * 24 * time.Hour}, []string{"f-broken", "b", "a"}},
		{"keep within 30d or last 4", PruneOptions{KeepLast: 4, KeepWithin: 30 * 24 * time.Hour}, []string{"f-broken", "a"}},
		{"protected ones stay", PruneOptions{KeepLast: 1, Protect: []string{"a", "f-broken"}}, []string{"d", "b"}},
		{"keep many", PruneOptions{KeepLast: 10}, []string{"f-broken"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := pruneDecide(list, tc.o, now, nil)
			var got []string
			for _, d := range rep.Removed {
				got = append(got, d.ID)
			}
			assert.Equal(t, tc.removed, got)
			assert.Len(t, rep.Kept, len(list)-len(tc.removed))
			for _, d := range rep.Kept {
				assert.NotEmpty(t, d.Reason)
			}
		})
	}
}

func TestPruneRemovesForReal(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	makeTree(t, root)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 4 {
		m := createSnap(t, s, root, CreateOptions{Now: func() time.Time { return base.Add(time.Duration(i) * time.Hour) }})
		ids = append(ids, m.ID)
	}
	_, err := s.Verify(context.Background(), ids[0], nil)
	require.NoError(t, err)

	_, err = s.Prune(PruneOptions{})
	var ue *UsageError
	require.ErrorAs(t, err, &ue, "no rule is refused")

	rep, err := s.Prune(PruneOptions{KeepLast: 1, DryRun: true})
	require.NoError(t, err)
	assert.Len(t, rep.Removed, 2)
	list, _ := s.List()
	assert.Len(t, list, 4, "dry run removes nothing")

	rep, err = s.Prune(PruneOptions{KeepLast: 1})
	require.NoError(t, err)
	list, _ = s.List()
	var left []string
	for _, in := range list {
		left = append(left, in.ID)
	}
	assert.Equal(t, []string{ids[0], ids[3]}, left, "the newest, and the only verified one")
	ents, _ := os.ReadDir(s.Dir())
	for _, e := range ents {
		assert.NotContains(t, e.Name(), delPrefix)
	}
}

func TestUniqueIDsWithinOneSecond(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	root := filepath.Join(t.TempDir(), "pack")
	require.NoError(t, os.MkdirAll(root, 0o755))
	at := func() time.Time { return time.Date(2026, 11, 21, 19, 45, 0, 0, time.UTC) }
	a := createSnap(t, s, root, CreateOptions{Reason: "pre-update", Now: at})
	b := createSnap(t, s, root, CreateOptions{Reason: "pre-update", Now: at})
	assert.Equal(t, "20261121T194500Z-pre-update", a.ID)
	assert.Equal(t, "20261121T194500Z-pre-update-2", b.ID)
	_, err := s.Create(context.Background(), root, CreateOptions{Reason: "Bad Reason"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
}
