package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/dbdump"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/internal/secrets"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/remote"
)

// What the snapshot commands and the update share for copies that leave
// the pack: the restic repository of [remote], and the database dumps of
// [[snapshot.database]] kept with a snapshot as its attachments.

// metaDatabases is the manifest's meta key listing the dumped datasources.
const metaDatabases = "databases"

// childEnviron is carbonguard's environment without its own secrets
// (internal/secrets: restic's repository and password, the databases'
// passwords), keeping u2's account: the base environment of the server's
// script and of u2. The wrapper drops u2's account for the server, hooks
// everything but it for u2; restic and the dump tools get theirs from
// remote and dbdump.
func childEnviron() []string {
	return secrets.Scrub(os.Environ(), "UPDATE_TOOL_USERNAME", "UPDATE_TOOL_PASSWORD")
}

// remoteRepo opens the restic repository [remote] names.
func (s *session) remoteRepo() (*remote.Repo, error) {
	r := s.cfg.Remote
	return remote.Open(remote.Config{Repository: r.Repository, PasswordFile: r.PasswordFile, Restic: r.Restic,
		Options: r.Options, Env: os.Environ(), Log: s.log})
}

// remoteMeta is what a pushed snapshot's tags say, from its manifest.
func remoteMeta(m *archive.Manifest) remote.Meta {
	home := m.Root
	if h := m.Meta["home"]; h != "" {
		home = h
	}
	return remote.Meta{Pack: filepath.Base(home), Home: home, ID: m.ID, Reason: m.Reason,
		Level: m.Meta["update_level"], Product: productOf(m.Meta)}
}

// pushSnapshot pushes one snapshot and says what it stored.
func (s *session) pushSnapshot(ctx context.Context, repo *remote.Repo, store *archive.Store, id string) (remote.PushReport, error) {
	m, err := store.Show(id)
	if err != nil {
		return remote.PushReport{ID: id}, err
	}
	rep, err := repo.PushSnapshot(ctx, store, id, remoteMeta(m))
	if err != nil {
		return rep, fmt.Errorf("pushing snapshot %s to %s: %w", id, repo.Repository(), err)
	}
	return rep, nil
}

// pushText is one line about a push.
func pushText(rep remote.PushReport, repo string) string {
	if rep.AlreadyThere {
		return fmt.Sprintf("snapshot %s is already in %s (restic %s): nothing sent", rep.ID, repo, short(rep.ResticID))
	}
	return fmt.Sprintf("pushed snapshot %s to %s (restic %s): %s streamed, %s new in the repository, %s",
		rep.ID, repo, short(rep.ResticID), humanize.Bytes(rep.Bytes), humanize.Bytes(rep.DataAdded), rep.Took.Round(100e6))
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// pushAfterCreate pushes a snapshot just taken when [remote] push =
// "after-create". A failure is reported on stderr and returned only when
// [remote] required = true.
func (s *session) pushAfterCreate(ctx context.Context, store *archive.Store, id string) error {
	if s.cfg.Remote.Push != pushAfterCreate {
		return nil
	}
	repo, err := s.remoteRepo()
	var rep remote.PushReport
	if err == nil {
		rep, err = s.pushSnapshot(ctx, repo, store, id)
	}
	if err != nil {
		if s.cfg.Remote.Required {
			return fmt.Errorf("[remote] required = true and the push failed: %w", err)
		}
		fmt.Fprintf(s.stderr, "carbonguard: warning: snapshot %s was not pushed off-host ([remote] required = false, so this does not stop anything): %v\n", id, err)
		if h := hint(err); h != "" {
			fmt.Fprintf(s.stderr, "carbonguard: hint: %s\n", h)
		}
		return nil
	}
	fmt.Fprintln(s.stderr, "carbonguard: "+pushText(rep, repo.Repository()))
	return nil
}

// databaseSpecs resolves every [[snapshot.database]] against the pack.
func (s *session) databaseSpecs(p *pack.Pack) ([]*dbdump.Spec, error) {
	var out []*dbdump.Spec
	for _, d := range s.cfg.Snapshot.Databases {
		spec, err := dbdump.Resolve(p, dbdump.Config{Name: d.Name, Host: d.Host, Port: d.Port, Database: d.Database, User: d.User,
			PasswordFile: d.PasswordFile, Dump: d.Dump, Restore: d.Restore, Env: d.Env}, s.getenv)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	return out, nil
}

// dumpRunner runs the dump tools with carbonguard's environment (filtered by
// dbdump) and their password files in the state directory.
func (s *session) dumpRunner() *dbdump.Runner {
	return &dbdump.Runner{Env: os.Environ(), TempDir: s.state, Log: s.log}
}

// databaseAttachments are the dumps of every [[snapshot.database]], taken
// while the snapshot is created: one attachment each. A dump that fails
// fails the snapshot (nothing is listed). meta gets the datasources' names.
func (s *session) databaseAttachments(p *pack.Pack, meta map[string]string) ([]archive.AttachmentSource, error) {
	specs, err := s.databaseSpecs(p)
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	runner := s.dumpRunner()
	var out []archive.AttachmentSource
	var names []string
	for _, spec := range specs {
		out = append(out, archive.AttachmentSource{Name: spec.FileName(), Write: func(ctx context.Context, w io.Writer) error {
			fmt.Fprintf(s.stderr, "carbonguard: dumping database %s (%s)\n", spec.Name, spec.Conn)
			_, err := runner.Dump(ctx, spec, w)
			return err
		}})
		names = append(names, spec.Name)
	}
	meta[metaDatabases] = strings.Join(names, ",")
	return out, nil
}

// dumpsOf lists the database dumps a snapshot holds.
func dumpsOf(m *archive.Manifest) []archive.Attachment {
	var out []archive.Attachment
	names := map[string]bool{}
	for _, n := range strings.Split(m.Meta[metaDatabases], ",") {
		if n != "" {
			names[n] = true
		}
	}
	for _, a := range m.Attachments {
		base := strings.TrimSuffix(a.Name, filepath.Ext(a.Name))
		if names[base] {
			out = append(out, a)
		}
	}
	return out
}

// restoreDatabases runs the restore command of every [[snapshot.database]]
// whose dump snapshot id holds, after asking (unless yes). A dump in the
// snapshot that no entry names, or an entry without a dump, is said and
// skipped.
func (s *session) restoreDatabases(ctx context.Context, store *archive.Store, id string, p *pack.Pack, yes bool) error {
	m, err := store.Show(id)
	if err != nil {
		return err
	}
	dumps := dumpsOf(m)
	if len(dumps) == 0 {
		return usagef("snapshot %s holds no database dump (dumps are taken with pre-update snapshots and snapshot create --with-databases when [[snapshot.database]] is configured)", id)
	}
	specs, err := s.databaseSpecs(p)
	if err != nil {
		return err
	}
	byName := map[string]*dbdump.Spec{}
	for _, sp := range specs {
		byName[sp.Name] = sp
	}
	sort.Slice(dumps, func(i, j int) bool { return dumps[i].Name < dumps[j].Name })
	runner := s.dumpRunner()
	var failed []error
	for _, a := range dumps {
		name := strings.TrimSuffix(a.Name, filepath.Ext(a.Name))
		spec := byName[name]
		if spec == nil {
			fmt.Fprintf(s.stderr, "carbonguard: warning: snapshot %s holds a dump of %s, but no [[snapshot.database]] names it now: not restored\n", id, name)
			continue
		}
		if !yes {
			ok, err := s.confirm(fmt.Sprintf("restore database %s (%s) from the dump in snapshot %s (%s, taken %s)? Its current content is replaced",
				name, spec.Conn, id, humanize.Bytes(a.Size), m.Created.Local().Format("2006-01-02 15:04")))
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(s.stderr, "carbonguard: database %s not restored (not confirmed)\n", name)
				continue
			}
		}
		rc, err := store.OpenAttachment(id, a.Name)
		if err != nil {
			return err
		}
		err = runner.Restore(ctx, spec, rc)
		rc.Close()
		if err != nil {
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(s.stdout, "restored database %s (%s) from snapshot %s\n", name, spec.Conn, id)
	}
	return errors.Join(failed...)
}
