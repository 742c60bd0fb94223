package archive

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// SweepReport says what a sweep freed.
type SweepReport struct {
	PacksRemoved  int   `json:"packs_removed"`
	PacksRepacked int   `json:"packs_repacked"`
	BytesFreed    int64 `json:"bytes_freed"`
	// PacksInUse are the packs left as they were, dead content and all,
	// because they hold content a snapshot in use needs (see Store.Lease).
	PacksInUse int `json:"packs_in_use,omitempty"`
}

// repackBelow is the share of live bytes under which a pack is rewritten
// with its live blobs only.
const repackBelow = 0.7

// sweep removes content no complete snapshot needs: packs none of whose
// blobs a snapshot references are deleted; packs mostly dead are rewritten
// with their live blobs (copied as stored, frames untouched), the new pack
// complete (synced, index written) before the old one goes. Interrupted at
// any point, every blob a snapshot needs is in some complete pack; what is
// left over (a pack without index, a repack's partial file) holds nothing
// needed and goes at the next sweep.
//
// It holds the content lock exclusively: no create, import, verify,
// restore or export runs meanwhile (their packs are not yet, or are being,
// read). A snapshot whose entry list cannot be read stops the sweep before
// anything is removed: what it needs is unknown.
//
// An extract reads without that lock, under a lease (see Lease): it loads
// the content index under the shared lock once its lease exists, and
// opens packs as it goes. So every pack that holds a blob a snapshot in
// use needs (whichever copy the reader's index chose) is left exactly as
// it is, neither removed nor rewritten, until the lease is gone; a reader
// whose lease this sweep did not see yet loads the index after it.
func (s *Store) sweep() (*SweepReport, error) {
	unlock, err := s.lockContent(true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir := filepath.Join(s.dir, packsDir)
	rep := &SweepReport{}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return rep, nil
	}
	inUse, _, err := s.readLeases()
	if err != nil {
		return nil, err
	}
	live, pinned, err := s.liveBlobs(inUse)
	if err != nil {
		return nil, err
	}
	// Leftovers first: packs without an index, partial files.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name()] = true
	}
	for _, e := range ents {
		n := e.Name()
		base, isPack := strings.CutSuffix(n, packExt)
		switch {
		case strings.HasPrefix(n, "."):
			rep.BytesFreed += fileSize(filepath.Join(dir, n))
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return rep, err
			}
		case isPack && !have[base+idxExt]:
			rep.BytesFreed += fileSize(filepath.Join(dir, n))
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return rep, err
			}
			rep.PacksRemoved++
		}
	}
	idx, err := loadIndex(dir)
	if err != nil {
		return rep, err
	}
	for _, d := range idx.damaged {
		// A damaged pack or index is kept (it may hold what a snapshot
		// needs); verify reports the snapshots concerned.
		s.log.Warn().Str("pack", d).Msg("sweep: pack unreadable; kept")
	}
	// Each live blob is kept in one pack: a blob in several (a repack
	// interrupted before the old pack went) counts in the smallest.
	packSize := make([]int64, len(idx.packs))
	for i, name := range idx.packs {
		packSize[i] = fileSize(filepath.Join(dir, name+packExt))
	}
	byPack := make([][]int, len(idx.packs))
	for i, sum := range idx.sums {
		p := idx.locs[i].pack
		byPack[p] = append(byPack[p], i)
		if c, ok := live[sum]; ok && (c < 0 || packSize[p] < packSize[c] || packSize[p] == packSize[c] && p < c) {
			live[sum] = p
		}
	}
	for p, name := range idx.packs {
		if holdsAny(idx, byPack[p], pinned) {
			rep.PacksInUse++
			s.log.Info().Str("pack", name).Msg("sweep: pack holds content a snapshot in use needs; left as it is")
			continue
		}
		if err := s.sweepPack(dir, name, packSize[p], idx, byPack[p], int32(p), live, rep); err != nil {
			return rep, err
		}
	}
	return rep, durable.SyncDir(dir)
}

// liveBlobs is the set of blobs the complete snapshots reference (each
// mapped to -1: the sweep picks its pack), and the set of those the
// snapshots in use reference.
func (s *Store) liveBlobs(inUse map[string][]LeaseInfo) (live map[[32]byte]int32, pinned map[[32]byte]bool, err error) {
	list, err := s.List()
	if err != nil {
		return nil, nil, err
	}
	live, pinned = map[[32]byte]int32{}, map[[32]byte]bool{}
	for _, in := range list {
		if in.Incomplete {
			continue
		}
		leased := len(inUse[in.ID]) > 0
		err := s.Entries(in.ID, func(e *Entry) error {
			if e.Type != TypeFile || e.Size == 0 {
				return nil
			}
			var sum [32]byte
			if _, err := hex.Decode(sum[:], []byte(e.Hash)); err != nil {
				return err
			}
			live[sum] = -1
			if leased {
				pinned[sum] = true
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reading what snapshot %s needs (nothing was removed): %w", in.ID, err)
		}
	}
	return live, pinned, nil
}

// holdsAny reports whether any of a pack's blobs is pinned.
func holdsAny(idx *contentIndex, blobs []int, pinned map[[32]byte]bool) bool {
	if len(pinned) == 0 {
		return false
	}
	for _, i := range blobs {
		if pinned[idx.sums[i]] {
			return true
		}
	}
	return false
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// sweepPack deletes or rewrites one pack: blobs are its idx.sums[i] for i
// in blobs; those whose chosen pack is this one are live.
func (s *Store) sweepPack(dir, name string, packSize int64, idx *contentIndex, blobs []int, pack int32, live map[[32]byte]int32, rep *SweepReport) error {
	var liveBytes int64
	for _, i := range blobs {
		if c, ok := live[idx.sums[i]]; ok && c == pack {
			liveBytes += idx.locs[i].length
		}
	}
	remove := func() error {
		// The index goes first: a pack without one is a leftover.
		if err := os.Remove(filepath.Join(dir, name+idxExt)); err != nil {
			return err
		}
		if err := durable.SyncDir(dir); err != nil {
			return err
		}
		testHook("prune:index-removed", name)
		return os.Remove(filepath.Join(dir, name+packExt))
	}
	switch {
	case liveBytes == 0:
		if err := remove(); err != nil {
			return err
		}
		rep.PacksRemoved++
		rep.BytesFreed += packSize
	case float64(liveBytes) < repackBelow*float64(packSize):
		pw := newPackWriter(dir, false)
		src, err := os.Open(filepath.Join(dir, name+packExt))
		if err != nil {
			return err
		}
		defer src.Close()
		buf := make([]byte, 0, 1<<20)
		copied := map[[32]byte]bool{}
		for _, i := range blobs {
			sum, l := idx.sums[i], idx.locs[i]
			if c, ok := live[sum]; !ok || c != pack || copied[sum] {
				continue
			}
			copied[sum] = true
			if err := copyBlob(pw, src, l, buf); err != nil {
				pw.abort()
				return fmt.Errorf("repacking %s: %w", name, err)
			}
			if _, _, err := pw.commit(sum, l.size); err != nil {
				pw.abort()
				return err
			}
		}
		packs, err := pw.close()
		if err != nil {
			return err
		}
		testHook("prune:repacked", name)
		if err := remove(); err != nil {
			return err
		}
		rep.PacksRepacked++
		var newSize int64
		for _, p := range packs {
			newSize += p.Size
		}
		rep.BytesFreed += packSize - newSize
	}
	return nil
}

// copyBlob copies a blob's frames as stored.
func copyBlob(pw *packWriter, src *os.File, l blobLoc, buf []byte) error {
	r := bufio.NewReaderSize(io.NewSectionReader(src, l.offset, l.length), 1<<20)
	for {
		buf = buf[:cap(buf)]
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if werr := pw.frame(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// lockContent takes the store's content lock: shared for whoever reads or
// adds content, exclusive for the sweep. The sweep does not wait: it
// reports ErrBusy after a short while.
func (s *Store) lockContent(exclusive bool) (func(), error) {
	fd, err := unix.Open(filepath.Join(s.dir, contentLock), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("content lock: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX | unix.LOCK_NB
	}
	for tries := 0; ; tries++ {
		err = unix.Flock(fd, how)
		if err == nil {
			return func() { unix.Close(fd) }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || tries > 100 {
			unix.Close(fd)
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, ErrContentBusy
			}
			return nil, fmt.Errorf("content lock: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
