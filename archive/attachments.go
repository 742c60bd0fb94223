package archive

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Attachments are named extra files kept with a snapshot, in
// <id>/attachments/<name>: a database dump taken with the files, say. The
// manifest records each one's size and SHA-256, so Verify checks them with
// the archive, OpenAttachment checks them as they are read, and export and
// import carry them. The archive package gives them no meaning.

const attachmentsDir = "attachments"

// AttachmentSource produces one attachment while a snapshot is created.
type AttachmentSource struct {
	// Name is the file name in the snapshot: letters, digits, dots,
	// dashes and underscores, not starting with a dot, at most 128.
	Name string
	// Write writes the content to w (streamed: it is hashed and written to
	// disk as it comes). Its error fails the snapshot.
	Write func(ctx context.Context, w io.Writer) error
}

var attachmentNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

func checkAttachmentName(name string) error {
	if !attachmentNameRE.MatchString(name) {
		return &UsageError{What: "attachment name", Value: name, Why: "use letters, digits, dots, dashes and underscores (not starting with a dot), at most 128"}
	}
	return nil
}

// writeAttachments runs the sources into dir/attachments/ and describes
// what they wrote.
func writeAttachments(ctx context.Context, dir string, srcs []AttachmentSource, noSync bool) ([]Attachment, error) {
	if len(srcs) == 0 {
		return nil, nil
	}
	var seen []string
	for _, a := range srcs {
		if err := checkAttachmentName(a.Name); err != nil {
			return nil, err
		}
		if slices.Contains(seen, a.Name) {
			return nil, &UsageError{What: "attachment name", Value: a.Name, Why: "given twice"}
		}
		seen = append(seen, a.Name)
	}
	if err := os.Mkdir(filepath.Join(dir, attachmentsDir), 0o700); err != nil {
		return nil, err
	}
	var out []Attachment
	for _, src := range srcs {
		a, err := writeAttachment(dir, src.Name, noSync, func(w io.Writer) error { return src.Write(ctx, w) })
		if err != nil {
			return nil, fmt.Errorf("attachment %s: %w", src.Name, err)
		}
		out = append(out, *a)
	}
	if !noSync {
		if err := durable.SyncDir(filepath.Join(dir, attachmentsDir)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeAttachment writes one attachment with fill, hashing it as it goes.
func writeAttachment(dir, name string, noSync bool, fill func(io.Writer) error) (*Attachment, error) {
	f, err := os.OpenFile(filepath.Join(dir, attachmentsDir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	if err := fill(bw); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if !noSync {
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &Attachment{Name: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// checkAttachment reads one attachment whole and compares it with the
// manifest.
func checkAttachment(dir, id string, a Attachment) error {
	r, err := openAttachment(dir, id, a)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// OpenAttachment opens a snapshot's attachment for reading. The content is
// checked as it is read: the read that reaches its end fails with a
// *CorruptError when it does not match the manifest (or an
// *IncompleteError when it is shorter), so a caller must treat what it
// read as untrusted until io.EOF.
func (s *Store) OpenAttachment(id, name string) (io.ReadCloser, error) {
	m, err := s.Show(id)
	if err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		if a.Name == name {
			return openAttachment(filepath.Join(s.dir, id), id, a)
		}
	}
	return nil, &UsageError{What: "attachment", Value: name, Why: "snapshot " + id + " has no attachment of that name"}
}

func openAttachment(dir, id string, a Attachment) (io.ReadCloser, error) {
	if checkAttachmentName(a.Name) != nil || !isHexHash(a.SHA256) || a.Size < 0 {
		return nil, &CorruptError{ID: id, Field: "attachment", Got: quote(a.Name), Expected: "a plain file name with a size and a SHA-256"}
	}
	f, err := os.Open(filepath.Join(dir, attachmentsDir, a.Name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, &IncompleteError{ID: id, Reason: "the attachment " + a.Name + " is missing"}
	}
	if err != nil {
		return nil, err
	}
	return &checkedReader{f: f, id: id, a: a, h: sha256.New()}, nil
}

// checkedReader hashes what is read and judges it at the end.
type checkedReader struct {
	f  *os.File
	id string
	a  Attachment
	h  hash.Hash
	n  int64
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.n > r.a.Size {
		return n, &CorruptError{ID: r.id, Field: "attachment " + r.a.Name + " size", Expected: strconv.FormatInt(r.a.Size, 10), Got: "more"}
	}
	if err == io.EOF {
		if r.n < r.a.Size {
			return n, &IncompleteError{ID: r.id, Reason: fmt.Sprintf("the attachment %s is truncated: %d of %d bytes", r.a.Name, r.n, r.a.Size)}
		}
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.a.SHA256 {
			return n, &CorruptError{ID: r.id, Field: "attachment " + r.a.Name + " sha256", Expected: r.a.SHA256, Got: got}
		}
	}
	return n, err
}

func (r *checkedReader) Close() error { return r.f.Close() }
