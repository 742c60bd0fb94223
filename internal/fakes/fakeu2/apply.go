package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// op is one change to the pack. record notes it in the run's changes (also
// in a dry run); apply performs it.
type op struct {
	desc   string
	record func(*changes)
	apply  func() error
}

// planLevel turns one level into ops against the pack as it is now.
func planLevel(p *pack, u *updateSpec) ([]op, error) {
	var ops []op
	for _, rel := range u.Remove {
		rel := filepath.ToSlash(filepath.Clean(rel))
		if _, err := os.Lstat(p.path(rel)); err != nil {
			continue
		}
		ops = append(ops, op{
			desc:   "remove " + rel,
			record: func(c *changes) { c.add(&c.Removed, rel) },
			apply:  func() error { return os.RemoveAll(p.path(rel)) },
		})
	}
	for _, r := range u.Rename {
		from, to := filepath.ToSlash(filepath.Clean(r.From)), filepath.ToSlash(filepath.Clean(r.To))
		if _, err := os.Lstat(p.path(from)); err != nil {
			if _, err := os.Lstat(p.path(to)); err == nil {
				continue // already at the new version
			}
			return nil, fmt.Errorf("update level %d replaces %s, which is not in the pack", u.level, from)
		}
		ops = append(ops, op{
			desc:   "replace " + from + " with " + to,
			record: func(c *changes) { c.add(&c.Removed, from); c.add(&c.Added, to) },
			apply: func() error {
				if err := os.MkdirAll(filepath.Dir(p.path(to)), 0o755); err != nil {
					return err
				}
				return os.Rename(p.path(from), p.path(to))
			},
		})
	}
	for _, j := range u.Jar {
		rel, entries := filepath.ToSlash(filepath.Clean(j.Path)), j.Entries
		ops = append(ops, op{
			desc:   "add " + rel,
			record: func(c *changes) { recordWrite(c, p, rel) },
			apply: func() error {
				data, err := buildJar(entries)
				if err != nil {
					return err
				}
				return writeInto(p.path(rel), data, 0o644)
			},
		})
	}
	filesDir := filepath.Join(u.dir, "files")
	var files []string
	err := filepath.WalkDir(filesDir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == filesDir {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(filesDir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update level %d files: %w", u.level, err)
	}
	sort.Strings(files)
	for _, rel := range files {
		src := filepath.Join(filesDir, filepath.FromSlash(rel))
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		if cur, err := os.ReadFile(p.path(rel)); err == nil && bytes.Equal(cur, data) {
			continue
		}
		st, _ := os.Stat(src)
		mode := st.Mode().Perm()
		ops = append(ops, op{
			desc:   "update " + rel,
			record: func(c *changes) { recordWrite(c, p, rel) },
			apply:  func() error { return writeInto(p.path(rel), data, mode) },
		})
	}
	for _, m := range u.Merge {
		o, err := mergeOp(p, u, m)
		if err != nil {
			return nil, err
		}
		if o != nil {
			ops = append(ops, *o)
		}
	}
	return ops, nil
}

func recordWrite(c *changes, p *pack, rel string) {
	if _, err := os.Lstat(p.path(rel)); err == nil {
		c.add(&c.Modified, rel)
	} else {
		c.add(&c.Added, rel)
	}
}

// mergeOp merges a text file three ways; a file the user changed where the
// update changed it too becomes a conflict: the pack keeps the user's file
// and gets file.original (previous level) and file.new (this level).
func mergeOp(p *pack, u *updateSpec, m mergeSpec) (*op, error) {
	rel := filepath.ToSlash(filepath.Clean(m.Path))
	orig, err := os.ReadFile(filepath.Join(u.dir, filepath.FromSlash(m.Original)))
	if err != nil {
		return nil, fmt.Errorf("update level %d merge %s: %w", u.level, rel, err)
	}
	newer, err := os.ReadFile(filepath.Join(u.dir, filepath.FromSlash(m.New)))
	if err != nil {
		return nil, fmt.Errorf("update level %d merge %s: %w", u.level, rel, err)
	}
	target := p.path(rel)
	mine, err := os.ReadFile(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &op{desc: "add " + rel, record: func(c *changes) { c.add(&c.Added, rel) },
			apply: func() error { return writeInto(target, newer, 0o644) }}, nil
	case err != nil:
		return nil, err
	case bytes.Equal(mine, newer):
		return nil, nil
	case bytes.Equal(mine, orig):
		return &op{desc: "update " + rel, record: func(c *changes) { c.add(&c.Modified, rel) },
			apply: func() error { return writeInto(target, newer, 0o644) }}, nil
	}
	if merged, ok := merge3(string(orig), string(mine), string(newer)); ok {
		return &op{desc: "merge " + rel, record: func(c *changes) { c.add(&c.Modified, rel) },
			apply: func() error { return writeInto(target, []byte(merged), 0o644) }}, nil
	}
	return &op{
		desc:   "conflict in " + rel,
		record: func(c *changes) { c.add(&c.Conflicts, rel) },
		apply: func() error {
			if err := writeInto(target+".original", orig, 0o644); err != nil {
				return err
			}
			return writeInto(target+".new", newer, 0o644)
		},
	}, nil
}

func writeInto(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return durable.WriteFile(path, data, mode)
}

// buildJar writes a real zip with fixed timestamps, so equal entries give
// equal bytes (snapshot diffs in tests stay stable).
func buildJar(entries map[string]string) ([]byte, error) {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate,
			Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(entries[n])); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// resolveConflicts is --continue: every conflicted file needs file.final,
// which replaces the file; the .original, .new and .final copies go away.
func resolveConflicts(p *pack, conflicts []string) error {
	var missing []string
	for _, rel := range conflicts {
		if _, err := os.Stat(p.path(rel) + ".final"); err != nil {
			missing = append(missing, rel+".final")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("conflicts are not resolved: missing %s; write the merged content there and run --continue again, or run --revert",
			strings.Join(missing, ", "))
	}
	for _, rel := range conflicts {
		target := p.path(rel)
		data, err := os.ReadFile(target + ".final")
		if err != nil {
			return err
		}
		if err := writeInto(target, data, 0o644); err != nil {
			return err
		}
		for _, ext := range []string{".final", ".original", ".new"} {
			if err := os.Remove(target + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
