package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"
)

func snapshotDropDisplacedCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "drop-displaced",
		Usage:  "remove the displaced trees earlier restores kept beside the pack",
		Flags:  []cli.Flag{textOrJSON.flag()},
		Action: action(e, snapshotNeeds, newFormatOnly, runSnapshotDropDisplaced),
	}
}

func runSnapshotDropDisplaced(ctx context.Context, s *session, o formatOnly) error {
	store, release, err := s.snapshotStore(ctx, "snapshot drop-displaced", true)
	if err != nil {
		return err
	}
	defer release()
	dropped, err := store.DropDisplaced(s.pack.Home)
	if err != nil {
		return err
	}
	if o.format == "json" {
		if dropped == nil {
			dropped = []string{}
		}
		return writeJSON(s.stdout, struct {
			SchemaVersion int      `json:"schema_version"`
			Removed       []string `json:"removed"`
		}{1, dropped})
	}
	if len(dropped) == 0 {
		fmt.Fprintln(s.stdout, "no displaced trees")
	}
	for _, p := range dropped {
		fmt.Fprintf(s.stdout, "removed %s\n", p)
	}
	return nil
}
