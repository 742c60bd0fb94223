package main

import (
	"sort"
	"strings"
)

// hunk replaces base[start:end] with lines.
type hunk struct {
	start, end int
	lines      []string
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.SplitAfter(s, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// diffHunks is a line diff of base -> other from a longest common
// subsequence; config files are small, so the quadratic table is fine.
func diffHunks(base, other []string) []hunk {
	n, m := len(base), len(other)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if base[i] == other[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var hunks []hunk
	var cur *hunk
	flush := func() {
		if cur != nil {
			hunks = append(hunks, *cur)
			cur = nil
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && base[i] == other[j]:
			flush()
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			if cur == nil {
				cur = &hunk{start: i, end: i}
			}
			cur.lines = append(cur.lines, other[j])
			j++
		default:
			if cur == nil {
				cur = &hunk{start: i, end: i}
			}
			i++
			cur.end = i
		}
	}
	flush()
	return hunks
}

func sameHunk(a, b hunk) bool {
	if a.start != b.start || a.end != b.end || len(a.lines) != len(b.lines) {
		return false
	}
	for i := range a.lines {
		if a.lines[i] != b.lines[i] {
			return false
		}
	}
	return true
}

func overlaps(a, b hunk) bool {
	if a.start == a.end && b.start == b.end {
		return a.start == b.start // two insertions at the same place
	}
	if a.start == a.end {
		return b.start < a.start && a.start < b.end
	}
	if b.start == b.end {
		return a.start < b.start && b.start < a.end
	}
	return a.start < b.end && b.start < a.end
}

// merge3 merges the user's copy (ours) and the update's copy (theirs) against
// the previous level's copy (base). ok is false when both touch the same lines
// differently: that file is a conflict.
func merge3(base, ours, theirs string) (string, bool) {
	b := splitLines(base)
	ha := diffHunks(b, splitLines(ours))
	hb := diffHunks(b, splitLines(theirs))
	var all []hunk
	all = append(all, ha...)
	for _, y := range hb {
		dup := false
		for _, x := range ha {
			if sameHunk(x, y) {
				dup = true
				break
			}
			if overlaps(x, y) {
				return "", false
			}
		}
		if !dup {
			all = append(all, y)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start < all[j].start
		}
		return all[i].end < all[j].end
	})
	var out strings.Builder
	pos := 0
	for _, h := range all {
		for ; pos < h.start; pos++ {
			out.WriteString(b[pos])
		}
		for _, l := range h.lines {
			out.WriteString(l)
		}
		pos = max(pos, h.end)
	}
	for ; pos < len(b); pos++ {
		out.WriteString(b[pos])
	}
	return out.String(), true
}
