package remote

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/carbonguard/carbonguard/archive"
)

// The stream a push sends for one snapshot is two tar archives, one after
// the other:
//
//  1. .carbonguard/manifest.jsonl (the portable manifest,
//     archive.Store.ExportManifest) and .carbonguard/attachments/<name>
//     for each attachment (database dumps), in the manifest's order;
//  2. the snapshot's own uncompressed tar stream (archive.Store.ExportTar),
//     byte for byte as stored.
//
// The first is small next to the second, so restic's chunking finds the
// pack's unchanged files from one push to the next. The second is last so
// that an import reads it to its very end, where Pull's check of length and
// SHA-256 speaks, before the snapshot is listed. GNU tar reads both with
// --ignore-zeros (tar -xif: the manifest and dumps land in .carbonguard/),
// which is how a DR site without carbonguard gets the pack back by hand.
const (
	metaDir        = ".carbonguard"
	manifestMember = metaDir + "/manifest.jsonl"
	attachmentsDir = metaDir + "/attachments/"
)

// PushSnapshot pushes snapshot id of store: manifest and attachments, then
// the tar stream, checked against the manifest as it is read (a snapshot
// that does not verify is not pushed). The snapshot is marked in use for
// the whole push (archive.Store.Lease): a prune meanwhile keeps it.
func (r *Repo) PushSnapshot(ctx context.Context, store *archive.Store, id string, meta Meta) (PushReport, error) {
	lease, err := store.Lease(id, "push")
	if err != nil {
		return PushReport{ID: id}, err
	}
	defer lease.Release()
	m, err := store.Show(id)
	if err != nil {
		return PushReport{ID: id}, err
	}
	meta.ID = id
	// The manifest's length first (its header needs it): ExportManifest is
	// deterministic, and the tar writer refuses a second pass that differs.
	var cw countWriter
	cw.w = io.Discard
	if err := store.ExportManifest(id, &cw); err != nil {
		return PushReport{ID: id}, err
	}
	mtime := m.Created.UTC().Truncate(time.Second)
	return r.Push(ctx, meta, func(w io.Writer) error {
		tw := tar.NewWriter(w)
		hdr := func(name string, size int64) *tar.Header {
			return &tar.Header{Name: name, Size: size, Mode: 0o600, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		}
		if err := tw.WriteHeader(hdr(manifestMember, cw.n)); err != nil {
			return err
		}
		if err := store.ExportManifest(id, tw); err != nil {
			return err
		}
		for _, a := range m.Attachments {
			if err := tw.WriteHeader(hdr(attachmentsDir+a.Name, a.Size)); err != nil {
				return err
			}
			rc, err := store.OpenAttachment(id, a.Name)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("attachment %s: %w", a.Name, err)
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		_, err := store.ExportTar(ctx, id, w)
		return err
	})
}

// PullSnapshot rebuilds a complete copy from the repository as a local
// snapshot of store, under its own ID, verified before it is listed.
// tmpDir holds the manifest and the attachments while the tar stream is
// imported (the state directory: they are as large as the dumps).
func (r *Repo) PullSnapshot(ctx context.Context, store *archive.Store, s Snapshot, tmpDir string, o archive.ImportOptions) (*archive.Manifest, error) {
	spool, err := os.MkdirTemp(tmpDir, ".pull-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(spool)
	var imported *archive.Manifest
	err = r.Pull(ctx, s, func(rd io.Reader) error {
		tr := tar.NewReader(rd)
		manifestPath := ""
		attachments := map[string]string{}
		for n := 0; ; n++ {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return &CorruptError{ID: s.ID, What: "the stream's first part (manifest and attachments) is not a tar archive: " + err.Error()}
			}
			var dst string
			switch {
			case hdr.Name == manifestMember && n == 0 && hdr.Typeflag == tar.TypeReg:
				dst = filepath.Join(spool, "manifest.jsonl")
				manifestPath = dst
			case path.Dir(hdr.Name)+"/" == attachmentsDir && hdr.Typeflag == tar.TypeReg && manifestPath != "" && path.Base(hdr.Name) != "." && path.Base(hdr.Name)[0] != '.':
				name := path.Base(hdr.Name)
				dst = filepath.Join(spool, "attachment-"+fmt.Sprint(len(attachments)))
				attachments[name] = dst
			default:
				return &CorruptError{ID: s.ID, What: fmt.Sprintf("unexpected member %q before the snapshot's tar stream", hdr.Name)}
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		if manifestPath == "" {
			return &CorruptError{ID: s.ID, What: "the stream holds no manifest"}
		}
		mf, err := os.Open(manifestPath)
		if err != nil {
			return err
		}
		defer mf.Close()
		opts := o
		opts.Attachment = func(name string) (io.ReadCloser, error) {
			p, ok := attachments[name]
			if !ok {
				return nil, &CorruptError{ID: s.ID, What: "the manifest lists the attachment " + name + ", which the stream does not hold"}
			}
			return os.Open(p)
		}
		imported, err = store.Import(ctx, mf, rd, opts)
		return err
	})
	if err != nil {
		var ce *CorruptError
		if imported != nil && errors.As(err, &ce) {
			// A mismatch found only after the import listed the snapshot
			// (the importer left bytes unread): take it back out.
			if derr := store.Delete(imported.ID); derr != nil {
				return nil, fmt.Errorf("%w; and removing the imported snapshot failed: %v", err, derr)
			}
		}
		return nil, err
	}
	if imported.ID != s.ID {
		_ = store.Delete(imported.ID)
		return nil, &CorruptError{ID: s.ID, What: "the stream holds snapshot " + imported.ID}
	}
	return imported, nil
}
