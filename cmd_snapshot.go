package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/pack"
)

// The snapshot commands, one file each (cmd_snapshot_*.go), and what they
// share: the session they need, the store, ids, and the refusal to work
// under a running server.

// snapshotNeeds: the snapshot commands act on the state directory and the
// pack's files, never on its configuration.
var snapshotNeeds = needs{config: true, state: true, pack: packProcess}

// keepDataPaths are the live paths snapshot restore --keep-data keeps: the
// embedded H2 databases, the Solr index and the logs, so that a rollback of
// code and configuration does not lose data written since the snapshot.
var keepDataPaths = []string{"repository/database", "solr/data", "repository/logs"}

// The operations a running server refuses (hints.go gives each its advice).
const (
	snapshotCreateOp  = "snapshot create"
	snapshotRestoreOp = "snapshot restore"
)

func snapshotCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "snapshot",
		Usage: "verified snapshots of the whole pack: create, list, show, verify, diff, restore, prune",
		Description: `A snapshot is a compressed tar of the whole pack (zstd by default) plus a manifest with every
entry's path, type, mode, size, mtime, link target and SHA-256, the pack's product, version and
update level, the reason and the time. Snapshots live in the state directory under snapshots/<id>/,
outside the pack; the manifest is written last and marks a snapshot complete.

Restore unpacks into a staging directory beside the pack, verifies it against the manifest, and
swaps it in with renames recorded beforehand, so an interrupted restore is finished (or, if it had
not started swapping, undone) by the next snapshot command. The previous tree is kept beside the
pack as <pack>.displaced-<id>-<time> until snapshot drop-displaced.
`,
		Subcommands: []*cli.Command{
			snapshotCreateCommand(e),
			snapshotListCommand(e),
			snapshotShowCommand(e),
			snapshotVerifyCommand(e),
			snapshotDiffCommand(e),
			snapshotRestoreCommand(e),
			snapshotPushCommand(e),
			snapshotPullCommand(e),
			snapshotPruneCommand(e),
			snapshotDropDisplacedCommand(e),
		},
	}
}

// snapshotStore opens the pack and its snapshot store. With op it takes the
// pack's lock first (release gives it back); with recoverFirst it finishes
// or undoes an interrupted restore before anything else.
func (s *session) snapshotStore(ctx context.Context, op string, recoverFirst bool) (store *archive.Store, release func(), err error) {
	if _, err := s.openPack(nil); err != nil {
		return nil, nil, err
	}
	var lock *hooks.Lock
	release = func() {
		if lock != nil {
			_ = lock.Release()
		}
	}
	if op != "" {
		if lock, err = hooks.AcquireLock(s.state, op); err != nil {
			return nil, nil, err
		}
	}
	if store, err = s.store(); err != nil {
		release()
		return nil, nil, err
	}
	if recoverFirst {
		rr, err := store.Recover(ctx)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("finishing an interrupted restore first: %w", err)
		}
		reportRecovery(s, rr)
	}
	return store, release, nil
}

// refuseRunning refuses op while the pack's server runs.
func refuseRunning(p *pack.Pack, op string) error {
	pid, running, err := p.RunningPID()
	if err != nil {
		return fmt.Errorf("checking whether the server runs: %w", err)
	}
	if running {
		return &pack.ServerRunningError{PID: pid, Op: op,
			Why: "the embedded H2 databases and the Solr index are written while it runs and would be captured or replaced half-way (inconsistent)"}
	}
	return nil
}

// packMeta is what the manifest records about the pack.
func packMeta(p *pack.Pack) map[string]string {
	m := map[string]string{"product": string(p.Product), "home": p.Home}
	if p.Version != "" {
		m["version"] = p.Version
	}
	if p.ProductCode != "" {
		m["product_code"] = p.ProductCode
	}
	if p.UpdateLevelKnown {
		m["update_level"] = strconv.Itoa(p.UpdateLevel)
	}
	return m
}

func infoOf(m *archive.Manifest) archive.Info {
	return archive.Info{ID: m.ID, Created: m.Created, Reason: m.Reason, Meta: m.Meta, Compression: m.Compression,
		ArchiveSize: m.ArchiveSize, Bytes: m.Bytes, Files: m.Files, Entries: m.Entries, Storage: m.Storage, NewBytes: m.NewBytes}
}

func productOf(meta map[string]string) string {
	if meta["product"] == "" {
		return ""
	}
	if meta["version"] != "" {
		return meta["product"] + " " + meta["version"]
	}
	return meta["product"]
}

func verifiedText(v *archive.VerifyRecord) string {
	switch {
	case v == nil:
		return "never"
	case v.OK:
		return "ok " + v.At.Local().Format("2006-01-02 15:04")
	default:
		return strings.ToUpper(v.Kind) + " " + v.At.Local().Format("2006-01-02 15:04")
	}
}

func oneArg(c *cli.Context, what string) (string, error) {
	if err := flagsFirst(c, what); err != nil {
		return "", err
	}
	if c.Args().Len() != 1 {
		return "", usagef("snapshot %s needs exactly one snapshot ID, or latest (snapshot list shows them)", what)
	}
	return c.Args().First(), nil
}

// flagsFirst explains urfave/cli's rule that flags come before arguments,
// instead of a confusing "needs one ID" for "restore ID --yes".
func flagsFirst(c *cli.Context, what string) error {
	for _, a := range c.Args().Slice()[min(1, c.Args().Len()):] {
		if strings.HasPrefix(a, "-") {
			return usagef("snapshot %s: flags go before the snapshot ID (write: snapshot %s %s %s)", what, what, a, c.Args().First())
		}
	}
	return nil
}

// resolveID turns "latest" into the newest complete snapshot's id.
func resolveID(store *archive.Store, id string) (string, error) {
	if id != "latest" {
		return id, nil
	}
	list, err := store.List()
	if err != nil {
		return "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].Incomplete {
			return list[i].ID, nil
		}
	}
	return "", usagef("there are no snapshots yet (snapshot create takes one)")
}
