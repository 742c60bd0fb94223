package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
)

func rollbackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "restore the pack as it was before an update (or any snapshot)",
		ArgsUsage: "[TX-ID | SNAPSHOT-ID]",
		Description: `rollback restores a pre-update snapshot by hand. Without an argument it acts on the open update
transaction (stopped on conflicts, begun by hook pre-update, or awaiting its first boot), else on
the last committed one. With a transaction id it restores that update's pre-update snapshot; with a
snapshot id (carbonguard snapshot list), that snapshot.

The server must be stopped (--stop-server stops it). The tree the restore replaces is kept beside
the pack (<home>.displaced-...) until carbonguard snapshot drop-displaced. An interrupted update,
restore or rollback found first is finished; when that already is the rollback, nothing more is
done (exit 0), else rollback stops there (exit 34: run it again). Finishing a rollback that was
interrupted after a failed first boot starts the restored server: as root that needs --allow-root
or [start] user, as for start.

A snapshot that cannot be restored (corrupt: 20, incomplete: 21) is found while it is staged
beside the pack: the rollback is refused, the pack is not changed, and the update it was about
stays as it was (a later rollback still finds it).
`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "stop-server", Usage: "stop a running server instead of refusing"},
			&cli.BoolFlag{Name: "with-databases", Usage: "also restore the database dumps the snapshot holds ([[snapshot.database]] restore commands), each after a confirmation"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "with --with-databases: do not ask for confirmation"},
			&cli.BoolFlag{Name: "allow-root", Usage: "let the restored server run as root, when finishing an interrupted rollback starts it (see start)"},
			textOrJSON.flag(),
		},
		Action: action(e, needs{config: true, state: true, pack: packProcess}, newRollbackOptions, runRollback),
	}
}

type rollbackOptions struct {
	format     string
	target     string // a transaction or snapshot id; "" = the open or last committed update
	stopServer bool
	withDBs    bool
	yes        bool
	allowRoot  bool
}

func newRollbackOptions(c *cli.Context, s *session) (rollbackOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return rollbackOptions{}, err
	}
	if c.Args().Len() > 1 {
		return rollbackOptions{}, usagef("rollback takes at most one argument, a transaction or snapshot id")
	}
	o := rollbackOptions{format: format, target: c.Args().First(), stopServer: c.Bool("stop-server"), withDBs: c.Bool("with-databases"), yes: c.Bool("yes"), allowRoot: c.Bool("allow-root")}
	if o.yes && !o.withDBs {
		return o, usagef("rollback --yes answers the database restores' questions: it goes with --with-databases")
	}
	return o, nil
}

func runRollback(ctx context.Context, s *session, o rollbackOptions) error {
	hx, bar, err := s.guardEnv(o.allowRoot)
	if err != nil {
		return err
	}
	defer bar.close()
	ctx, cancel := signalContext(ctx)
	defer cancel()
	res, err := hooks.Rollback(ctx, hooks.RollbackOptions{Env: hx, Target: o.target, StopServer: o.stopServer})
	bar.close()
	if rerr := s.reportGuarded(o.format, "rollback", res, err); rerr != nil || res == nil || res.Tx == nil || res.Tx.SnapshotID == "" {
		return rerr
	}
	// The pack is back; the databases only when asked, never silently.
	if !o.withDBs {
		if len(res.Tx.Dumps) == 0 {
			return nil
		}
		fmt.Fprintf(s.stderr, "carbonguard: the pre-update snapshot %s also holds database dumps (%s); the databases were not restored (rollback --with-databases restores them)\n",
			res.Tx.SnapshotID, strings.Join(res.Tx.Dumps, ", "))
		return nil
	}
	p, err := s.readPack(s.home, nil)
	if err != nil {
		return err
	}
	return s.restoreDatabases(ctx, hx.Store, res.Tx.SnapshotID, p, o.yes)
}
