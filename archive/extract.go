package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// NoSync skips the syncfs at the end (benchmarks; a copy that is
	// thrown away anyway).
	NoSync bool
	// Progress as for Create.
	Progress func(Progress)
	// Holder names the reader in the lease Extract holds while it reads
	// (see Store.Lease); default "extract".
	Holder string
}

// Extract lays snapshot id down as a new directory dir, a copy of the
// tree elsewhere (a restore drill, an update rehearsal), checking every
// entry against the manifest as it writes it, as Restore does. dir must
// not exist; its parent must. Nothing is swapped, so Extract takes no
// restore lock and writes no restore record: it can run beside a live
// restore of the same store, and a killed Extract leaves only dir, which
// the caller removes. Any error removes dir.
//
// Nor does it hold the content lock while it reads: it holds a lease on
// the snapshot (see Lease), so that a prune meanwhile keeps the snapshot
// and leaves the packs it reads as they are, while it frees what other
// snapshots no longer need. A caller that needs the snapshot beyond the
// extract (a diff against it later) takes a lease of its own.
func (s *Store) Extract(ctx context.Context, id, dir string, o ExtractOptions) (*RestoreReport, error) {
	start := time.Now()
	holder := o.Holder
	if holder == "" {
		holder = "extract"
	}
	lease, err := s.leaseFor(id, holder)
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	m, err := s.Show(id)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		return nil, &UsageError{What: "extract target", Value: dir, Why: "already exists; give a directory that does not exist yet"}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("extract target %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if st, err := os.Stat(parent); err != nil {
		return nil, fmt.Errorf("extract target's parent %s: %w", parent, err)
	} else if !st.IsDir() {
		return nil, &UsageError{What: "extract target's parent", Value: parent, Why: "is not a directory"}
	}
	// The plan reads the whole entry list (checking it) before anything
	// is written.
	pl, err := planRestore(filepath.Join(s.dir, id), m, dir, RestoreOptions{})
	if err != nil {
		return nil, err
	}
	if err := checkFree(parent, pl.needBytes, "extract"); err != nil {
		return nil, err
	}
	if err := unix.Mkdir(dir, 0o700); err != nil {
		return nil, &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	done := false
	defer func() {
		if !done {
			if err := os.RemoveAll(dir); err != nil {
				s.log.Warn().Err(err).Str("dir", dir).Msg("removing a failed extract")
			}
		}
	}()
	ex := &extractor{staging: dir, chown: os.Geteuid() == 0, leased: true}
	rep := &RestoreReport{ID: id, Target: dir}
	if err := ex.run(ctx, s, m, pl, newProgress("restore", o.Progress, pl.needFileBytes, pl.needFiles)); err != nil {
		return nil, err
	}
	rep.Entries, rep.Bytes = ex.entries, ex.bytes
	if !o.NoSync {
		t0 := time.Now()
		if err := syncFS(dir); err != nil {
			return nil, err
		}
		rep.SyncTook = time.Since(t0)
	}
	done = true
	rep.Took = time.Since(start)
	s.log.Info().Str("id", id).Str("dir", dir).Int("entries", rep.Entries).Dur("took", rep.Took).Msg("snapshot extracted")
	return rep, nil
}
