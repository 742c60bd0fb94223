package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// Pull streams a complete snapshot back from the repository (restic dump)
// into read, and checks the stream's length and SHA-256 against the ones
// recorded at push: at the end of the stream the reader returns a
// *CorruptError instead of io.EOF when they differ, so a reader that reads to
// the end before it commits anything (as an import must) never commits a
// stream that is not the one pushed. When read fails, restic is stopped and
// read's error returned. What read leaves unread is drained and checked
// too; a mismatch found then is returned as a *CorruptError after read has
// returned, and the caller must discard what it built.
func (r *Repo) Pull(ctx context.Context, s Snapshot, read func(io.Reader) error) error {
	if !s.Complete {
		return &NotFoundError{ID: s.ID, Incomplete: true}
	}
	cmd := r.command(ctx, "dump", s.ResticID, s.File)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stderr = tail
	r.cfg.Log.Debug().Str("repository", r.redacted).Strs("args", cmd.Args[1:]).Msg("restic")
	if err := cmd.Start(); err != nil {
		return r.failure(ctx, "dump", err, tail)
	}
	cr := &checkReader{r: stdout, h: sha256.New(), s: s}
	rerr := read(cr)
	if rerr == nil {
		// Drain what read left, so the hash covers the whole stream.
		_, rerr = io.Copy(io.Discard, cr)
	}
	if rerr != nil {
		_ = cmd.Process.Signal(os.Interrupt)
		werr := cmd.Wait()
		if werr != nil && ctx.Err() == nil {
			// restic's own failure (before it was interrupted: not 130)
			// explains a short stream best.
			if re := r.failure(ctx, "dump", werr, tail).(*ResticError); re.ExitCode > 0 && re.ExitCode != exitInterrupted {
				return re
			}
		}
		return fmt.Errorf("pulling snapshot %s: %w", s.ID, rerr)
	}
	if err := cmd.Wait(); err != nil {
		return r.failure(ctx, "dump", err, tail)
	}
	return cr.verdict()
}

// checkReader counts and hashes the stream and, at its end, compares both
// with what the push recorded.
type checkReader struct {
	r io.Reader
	h hash.Hash
	n int64
	s Snapshot
}

func (c *checkReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.s.Bytes {
		return n, &CorruptError{ID: c.s.ID, What: fmt.Sprintf("more than the %d bytes pushed", c.s.Bytes)}
	}
	if err == io.EOF {
		if v := c.verdict(); v != nil {
			return n, v
		}
	}
	return n, err
}

func (c *checkReader) verdict() error {
	if c.n != c.s.Bytes {
		return &CorruptError{ID: c.s.ID, What: fmt.Sprintf("%d bytes instead of %d", c.n, c.s.Bytes)}
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.s.SHA256 {
		return &CorruptError{ID: c.s.ID, What: "SHA-256 " + got + " instead of " + c.s.SHA256}
	}
	return nil
}
