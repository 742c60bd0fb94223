package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

func snapshotShowCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show one snapshot's manifest summary (--entries for every entry)",
		ArgsUsage: "ID|latest",
		Flags:     []cli.Flag{textOrJSON.flag(), &cli.BoolFlag{Name: "entries", Usage: "list every entry (JSON: as \"entry_list\")"}},
		Action:    action(e, snapshotNeeds, newSnapshotShowOptions, runSnapshotShow),
	}
}

type snapshotShowOptions struct {
	format  string
	id      string // or "latest"
	entries bool
}

func newSnapshotShowOptions(c *cli.Context, _ *session) (snapshotShowOptions, error) {
	id, err := oneArg(c, "show")
	if err != nil {
		return snapshotShowOptions{}, err
	}
	format, err := textOrJSON.of(c)
	return snapshotShowOptions{format: format, id: id, entries: c.Bool("entries")}, err
}

func runSnapshotShow(ctx context.Context, s *session, o snapshotShowOptions) error {
	store, release, err := s.snapshotStore(ctx, "", false)
	if err != nil {
		return err
	}
	defer release()
	id, err := resolveID(store, o.id)
	if err != nil {
		return err
	}
	m, err := store.Show(id)
	if err != nil {
		return err
	}
	vr, _ := store.LastVerified(id)
	if o.format == "json" {
		doc := struct {
			*archive.Manifest
			Verified *archive.VerifyRecord `json:"last_verified,omitempty"`
		}{m, vr}
		if !o.entries {
			return writeJSON(s.stdout, doc)
		}
		return writeManifestJSON(s.stdout, store, id, doc)
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", m.ID}, {"created", m.Created.Local().Format(time.RFC3339)}, {"reason", m.Reason},
		{"root", m.Root}, {"product", orDash(productOf(m.Meta))}, {"update level", orDash(m.Meta["update_level"])},
		{"entries", strconv.Itoa(m.Entries)}, {"files", strconv.Itoa(m.Files)}, {"content", humanize.Bytes(m.Bytes)},
		{"archive", archiveText(m)},
		{"excluded", orDash(strings.Join(m.Exclude, ", "))}, {"tool version", orDash(m.ToolVersion)},
		{"last verified", verifiedText(vr)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o.entries {
		fmt.Fprintln(s.stdout)
		tw = tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tMODE\tSIZE\tMTIME\tPATH")
		err := store.Entries(id, func(en *archive.Entry) error {
			p := printableName(en.Path)
			if en.Link != "" {
				p += " -> " + printableName(en.Link)
			}
			_, err := fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", en.Type, en.Mode, en.Size, en.MTime.Local().Format("2006-01-02 15:04:05"), p)
			return err
		})
		if ferr := tw.Flush(); err == nil {
			err = ferr
		}
		return err
	}
	return nil
}

// writeManifestJSON writes doc with the snapshot's entries streamed into
// "entry_list", one per line: memory does not grow with the snapshot.
func writeManifestJSON(w io.Writer, store *archive.Store, id string, doc any) error {
	head, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(bytes.TrimSuffix(bytes.TrimSpace(head), []byte("}")))
	bw.WriteString(",\n  \"entry_list\": [")
	sep := "\n    "
	err = store.Entries(id, func(en *archive.Entry) error {
		line, err := json.Marshal(en)
		if err != nil {
			return err
		}
		bw.WriteString(sep)
		sep = ",\n    "
		_, err = bw.Write(line)
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// archiveText says where a snapshot's content is and what it weighs.
func archiveText(m *archive.Manifest) string {
	if m.Storage == "" {
		return fmt.Sprintf("%s (%s, %s)", m.Archive, m.Compression, humanize.Bytes(m.ArchiveSize))
	}
	t := fmt.Sprintf("in the store's %s (%s, %s; %s added by this snapshot", m.Storage, m.Compression, humanize.Bytes(m.ArchiveSize), humanize.Bytes(m.NewBytes))
	if m.Parent != "" {
		t += fmt.Sprintf("; %d files unchanged since %s", m.Reused, m.Parent)
	}
	return t + ")"
}
