package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Verify re-reads a snapshot's archive and checks every entry against the
// manifest: order, type, mode, owner, mtime, size, link target and content
// hash, then the compressed stream's own checksum. It returns a
// *CorruptError or an *IncompleteError when the snapshot cannot be trusted,
// and records the outcome durably (see Store.LastVerified) unless ctx was
// cancelled.
func (s *Store) Verify(ctx context.Context, id string, progress func(Progress)) (*VerifyReport, error) {
	start := time.Now()
	lease, err := s.leaseFor(id, "verify")
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	m, err := s.Show(id)
	if err != nil {
		var ie *IncompleteError
		var ce *CorruptError
		if errors.As(err, &ie) || errors.As(err, &ce) {
			s.recordVerify(id, start, 0, err)
		}
		return nil, err
	}
	rep, err := s.verify(ctx, m, progress)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var n int64
	if rep != nil {
		n = rep.Bytes
	}
	s.recordVerify(id, start, n, err)
	if err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	s.log.Info().Str("id", id).Int64("bytes", rep.Bytes).Dur("took", rep.Took).Msg("snapshot verified")
	return rep, nil
}

func (s *Store) verify(ctx context.Context, m *Manifest, progress func(Progress)) (*VerifyReport, error) {
	dir := filepath.Join(s.dir, m.ID)
	var rep *VerifyReport
	if m.Storage == storagePacks {
		r, err := s.verifyPacks(ctx, m, progress)
		if err != nil {
			return nil, err
		}
		rep = r
	} else {
		st, err := openStream(dir, m)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		if rep, err = checkStream(ctx, st, newProgress("verify", progress, m.Bytes, m.Files), nil); err != nil {
			return nil, err
		}
	}
	for _, a := range m.Attachments {
		if err := checkAttachment(dir, m.ID, a); err != nil {
			return nil, err
		}
		rep.Attachments++
		rep.AttachmentBytes += a.Size
	}
	return rep, nil
}

// checkStream reads a whole stream, checking every entry against its
// manifest entry and every file's content against its hash, then the
// totals. onEntry, when set, sees each entry once it passed.
func checkStream(ctx context.Context, st *stream, prog *progress, onEntry func(*Entry) error) (*VerifyReport, error) {
	m := st.m
	h := sha256.New()
	buf := make([]byte, 1<<20)
	rep := &VerifyReport{ID: m.ID}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, e, err := st.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rep.Entries++
		switch e.Type {
		case TypeFile:
			h.Reset()
			n, err := io.CopyBuffer(h, st.tr, buf)
			if err != nil {
				return nil, st.streamErr(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != e.Hash {
				return nil, &CorruptError{ID: m.ID, Path: e.Path, Field: "sha256", Expected: e.Hash, Got: got}
			}
			rep.Files++
			rep.Bytes += n
			prog.add(n, 1)
		case TypeHardlink:
			rep.Files++
			prog.add(0, 1)
		}
		if onEntry != nil {
			if err := onEntry(e); err != nil {
				return nil, err
			}
		}
	}
	if err := checkTotals(m, rep); err != nil {
		return nil, err
	}
	prog.finish()
	return rep, nil
}

// checkTotals compares what was read with the manifest's totals.
func checkTotals(m *Manifest, rep *VerifyReport) error {
	if rep.Files != m.Files || rep.Bytes != m.Bytes {
		return &CorruptError{ID: m.ID, Field: "totals", Expected: fmt.Sprintf("%d files, %d bytes", m.Files, m.Bytes), Got: fmt.Sprintf("%d files, %d bytes", rep.Files, rep.Bytes)}
	}
	return nil
}

// recordVerify keeps the outcome of a verification beside the manifest.
func (s *Store) recordVerify(id string, start time.Time, bytes int64, verr error) {
	vr := VerifyRecord{At: time.Now().UTC(), OK: verr == nil, Bytes: bytes, Took: Duration(time.Since(start))}
	if verr != nil {
		vr.Error = verr.Error()
		var ie *IncompleteError
		var ce *CorruptError
		switch {
		case errors.As(verr, &ie):
			vr.Kind = "incomplete"
		case errors.As(verr, &ce):
			vr.Kind = "corrupt"
		default:
			return // an I/O error says nothing about the snapshot
		}
	}
	if err := durable.WriteJSON(filepath.Join(s.dir, id, verifiedName), vr, 0o600); err != nil {
		s.log.Warn().Err(err).Str("id", id).Msg("recording the verification")
	}
}
