package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"sync"
)

// verifyPacks checks a format-3 snapshot: every entry as it is read, and
// the content of every file, read back from the packs, decoded and hashed,
// on two goroutines (blobs are independent).
func (s *Store) verifyPacks(ctx context.Context, m *Manifest, progress func(Progress)) (*VerifyReport, error) {
	unlock, err := s.lockContent(false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	idx, err := s.contentIndex()
	if err != nil {
		return nil, err
	}
	src, err := openEntries(filepath.Join(s.dir, m.ID), m)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	packs := newPackFiles(filepath.Join(s.dir, packsDir), idx)
	defer packs.Close()
	prog := newProgress("verify", progress, m.Bytes, m.Files)

	type job struct {
		i int
		e *Entry
	}
	jobs := make(chan job, 64)
	var (
		mu     sync.Mutex
		first  = -1
		ferr   error
		wg     sync.WaitGroup
		failed = make(chan struct{})
		once   sync.Once
	)
	fail := func(i int, err error) {
		mu.Lock()
		if first < 0 || i < first {
			first, ferr = i, err
		}
		mu.Unlock()
		once.Do(func() { close(failed) })
	}
	for range codecWorkers() {
		br, err := newBlobReader(packs, m.ID)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer br.close()
			h := sha256.New()
			buf := make([]byte, 256<<10)
			for j := range jobs {
				select {
				case <-failed:
					continue
				default:
				}
				r, err := br.open(j.e)
				if err == nil {
					h.Reset()
					_, err = io.CopyBuffer(h, r, buf)
				}
				if err == nil {
					if got := hex.EncodeToString(h.Sum(nil)); got != j.e.Hash {
						err = &CorruptError{ID: m.ID, Path: j.e.Path, Field: "sha256", Expected: j.e.Hash, Got: got}
					}
				}
				if err != nil {
					fail(j.i, err)
				}
			}
		}()
	}
	rep := &VerifyReport{ID: m.ID}
	var rerr error
	for i := 0; ; i++ {
		if rerr = ctx.Err(); rerr != nil {
			break
		}
		e, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		rep.Entries++
		switch e.Type {
		case TypeFile:
			rep.Files++
			rep.Bytes += e.Size
			prog.add(e.Size, 1)
			select {
			case jobs <- job{i, e}:
			case <-failed:
			}
		case TypeHardlink:
			rep.Files++
			prog.add(0, 1)
		}
	}
	close(jobs)
	wg.Wait()
	if ferr != nil {
		// A content error concerns an entry read before whatever else
		// stopped the list.
		return nil, ferr
	}
	if rerr != nil {
		return nil, rerr
	}
	if err := checkTotals(m, rep); err != nil {
		return nil, err
	}
	prog.finish()
	return rep, nil
}
