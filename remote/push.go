package remote

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Meta is what a pushed snapshot's tags say about it.
type Meta struct {
	Pack    string // the pack's name (its home's base name, e.g. wso2am-4.2.0)
	Home    string // the pack's home on the host that pushed it
	ID      string // the carbonguard snapshot ID
	Reason  string // manual, pre-update, ...
	Level   string // the update level the snapshot holds
	Product string // e.g. "apim 4.2.0"
}

// Tag names. restic tags are free text without commas; carbonguard's are
// name=value pairs plus the marker "carbonguard".
const (
	tagMarker = "carbonguard"
	tagPack   = "pack="
	tagHome   = "home="
	tagID     = "snapshot="
	tagReason = "reason="
	tagLevel  = "level="
	tagProd   = "product="
	tagSHA    = "sha256="
	tagBytes  = "bytes="
)

// tagValue makes s usable inside a restic tag (no commas, no line breaks).
func tagValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ',' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

func (m Meta) tags() []string {
	tags := []string{tagMarker, tagPack + tagValue(m.Pack), tagID + tagValue(m.ID)}
	for _, t := range [][2]string{{tagHome, m.Home}, {tagReason, m.Reason}, {tagLevel, m.Level}, {tagProd, m.Product}} {
		if t[1] != "" {
			tags = append(tags, t[0]+tagValue(t[1]))
		}
	}
	return tags
}

// fileName is the name of the stream inside the restic snapshot.
func (m Meta) fileName() string {
	return tagValue(strings.ReplaceAll(m.Pack+"_"+m.ID, "/", "_")) + ".tar"
}

// PushReport says what a push stored.
type PushReport struct {
	ID           string        `json:"id"`            // the carbonguard snapshot
	ResticID     string        `json:"restic_id"`     // the restic snapshot
	Bytes        int64         `json:"bytes"`         // the stream's length
	SHA256       string        `json:"sha256"`        // the stream's SHA-256
	DataAdded    int64         `json:"data_added"`    // new data restic stored (before its compression)
	Took         time.Duration `json:"took"`          // the whole push
	AlreadyThere bool          `json:"already_there"` // a complete copy was in the repository: nothing sent
}

// resticSummary is the last line of restic backup --json.
type resticSummary struct {
	MessageType         string  `json:"message_type"`
	DataAdded           int64   `json:"data_added"`
	TotalBytesProcessed int64   `json:"total_bytes_processed"`
	SnapshotID          string  `json:"snapshot_id"`
	TotalDuration       float64 `json:"total_duration"`
}

// Push sends one snapshot: write writes its stream into restic backup
// --stdin. When write fails (or ctx ends), restic is interrupted before its
// input is closed, so it saves nothing. After restic has saved the
// snapshot, the completion tags (sha256=, bytes=) are added; earlier
// incomplete pushes of the same snapshot are then forgotten. A complete copy
// already in the repository is not sent again (AlreadyThere).
func (r *Repo) Push(ctx context.Context, m Meta, write func(io.Writer) error) (PushReport, error) {
	start := time.Now()
	rep := PushReport{ID: m.ID}
	if m.Pack == "" || m.ID == "" {
		return rep, errors.New("remote: push needs the pack and the snapshot ID")
	}
	existing, err := r.find(ctx, m.Pack, m.ID)
	if err != nil {
		return rep, err
	}
	var stale []string
	for _, s := range existing {
		if s.Complete {
			rep.ResticID, rep.Bytes, rep.SHA256, rep.AlreadyThere = s.ResticID, s.Bytes, s.SHA256, true
			rep.Took = time.Since(start)
			return rep, nil
		}
		stale = append(stale, s.ResticID)
	}

	args := []string{"--stdin", "--stdin-filename", m.fileName(), "--json"}
	for _, t := range m.tags() {
		args = append(args, "--tag", t)
	}
	cmd := r.command(ctx, "backup", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return rep, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return rep, err
	}
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stderr = tail
	r.cfg.Log.Debug().Str("repository", r.redacted).Strs("args", cmd.Args[1:]).Msg("restic")
	if err := cmd.Start(); err != nil {
		return rep, r.failure(ctx, "backup", err, tail)
	}
	summary := make(chan resticSummary, 1)
	go func() {
		var last resticSummary
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var s resticSummary
			if json.Unmarshal(sc.Bytes(), &s) == nil && s.MessageType == "summary" {
				last = s
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		summary <- last
	}()

	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(stdin, h)}
	werr := write(cw)
	if werr == nil {
		werr = ctx.Err()
	}
	if werr != nil {
		// Interrupt restic while its input is still open: it must not
		// see an end of input and save a truncated stream.
		_ = cmd.Process.Signal(os.Interrupt)
		<-summary
		_ = cmd.Wait()
		return rep, fmt.Errorf("pushing snapshot %s: %w", m.ID, werr)
	}
	if err := stdin.Close(); err != nil {
		_ = cmd.Process.Signal(os.Interrupt)
	}
	sum := <-summary
	if err := cmd.Wait(); err != nil {
		return rep, r.failure(ctx, "backup", err, tail)
	}
	if sum.SnapshotID == "" {
		return rep, &ResticError{Op: "backup", Repo: r.redacted, Kind: KindOther, Err: errors.New("restic reported no snapshot ID"), Stderr: tail.String()}
	}
	if sum.TotalBytesProcessed != cw.n {
		return rep, &ResticError{Op: "backup", Repo: r.redacted, Kind: KindOther,
			Err: fmt.Errorf("restic read %d bytes of the %d written", sum.TotalBytesProcessed, cw.n)}
	}
	rep.ResticID, rep.Bytes, rep.SHA256, rep.DataAdded = sum.SnapshotID, cw.n, hex.EncodeToString(h.Sum(nil)), sum.DataAdded
	// The completion marker, last.
	if _, err := r.run(ctx, "tag", "--add", tagSHA+rep.SHA256, "--add", tagBytes+strconv.FormatInt(rep.Bytes, 10), sum.SnapshotID); err != nil {
		return rep, err
	}
	if len(stale) > 0 {
		if _, err := r.run(ctx, "forget", stale...); err != nil {
			r.cfg.Log.Warn().Err(err).Strs("restic_ids", stale).Msg("could not forget earlier interrupted pushes")
		}
	}
	rep.Took = time.Since(start)
	// restic tag replaced the snapshot: look up the new restic ID.
	if now, err := r.find(ctx, m.Pack, m.ID); err == nil {
		for _, s := range now {
			if s.Complete && s.SHA256 == rep.SHA256 {
				rep.ResticID = s.ResticID
			}
		}
	}
	r.cfg.Log.Info().Str("snapshot", m.ID).Str("repository", r.redacted).Int64("bytes", rep.Bytes).
		Int64("data_added", rep.DataAdded).Dur("took", rep.Took).Msg("snapshot pushed")
	return rep, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
