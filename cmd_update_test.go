package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/testpack"
)

// updateScriptCmds are the txtar commands of the update_* scripts.
func updateScriptCmds(root string) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	fakepack := startScriptCmds(root)["fakepack"]
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// u2pack NAME DIR SERVER is fakepack, plus the fake u2 installed as
		// DIR/bin/wso2update_linux with FAKE_U2_SERVER=testdata/u2/SERVER,
		// the port offset written into deployment.toml (as testpack does,
		// which is what makes the conflict server conflict) and CARBON_HOME.
		"u2pack": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 3 {
				ts.Fatalf("usage: u2pack NAME DIR SERVER")
			}
			fakepack(ts, false, args[:2])
			home := ts.MkAbs(args[1])
			bins := testpack.Fakes(scriptTB{ts: ts})
			data, err := os.ReadFile(bins.U2)
			ts.Check(err)
			ts.Check(os.WriteFile(filepath.Join(home, "bin", "wso2update_linux"), data, 0o755))
			conf := filepath.Join(home, "repository", "conf", "deployment.toml")
			toml, err := os.ReadFile(conf)
			ts.Check(err)
			set := regexp.MustCompile(`(?m)^#offset=0$`).ReplaceAll(toml, []byte("offset = "+ts.Getenv("OFFSET")))
			ts.Check(os.WriteFile(conf, set, 0o644))
			ts.Setenv("FAKE_U2_SERVER", filepath.Join(root, "testdata", "u2", args[2]))
			ts.Setenv("CARBON_HOME", home)
		},
		// lasttx sets STATE to the pack's state directory and TX to the id of
		// the newest update transaction ("" when none).
		"lasttx": func(ts *testscript.TestScript, neg bool, args []string) {
			state := scriptStateDir(ts)
			ts.Setenv("STATE", state)
			txs, err := hooks.History(state)
			ts.Check(err)
			tx := ""
			if len(txs) > 0 {
				tx = txs[len(txs)-1].ID
			}
			ts.Setenv("TX", tx)
		},
		// packwhole REASON asserts that the live pack holds exactly what the
		// newest snapshot with that reason holds: content, modes, links
		// (modification times aside). Excluded, because the server writes
		// them when it runs, whatever its version: repository/logs (each
		// boot's log lines and fakejvm-invocation.json; the failed boot's are
		// kept in <state>/failed/<tx>/logs), wso2carbon.pid (the running JVM's
		// PID) and tmp/ (wiped by the stock script at every start and written
		// by the JVM).
		"packwhole": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: packwhole REASON")
			}
			state := scriptStateDir(ts)
			store, err := archive.OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
			ts.Check(err)
			infos, err := store.List()
			ts.Check(err)
			sort.Slice(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
			id := ""
			for _, in := range infos {
				if in.Reason == args[0] && !in.Incomplete {
					id = in.ID
				}
			}
			if id == "" {
				ts.Fatalf("no %s snapshot in %s", args[0], state)
			}
			d, err := store.DiffLive(context.Background(), id, ts.Getenv("CARBON_HOME"))
			ts.Check(err)
			var diffs []string
			for kind, list := range map[string][]archive.Change{"added": d.Added, "removed": d.Removed, "changed": d.Changed} {
				for _, c := range list {
					if runtimeWritten(c.Path) {
						continue
					}
					diffs = append(diffs, kind+" "+c.Path+" "+strings.Join(c.What, ","))
				}
			}
			sort.Strings(diffs)
			switch {
			case neg && len(diffs) == 0:
				ts.Fatalf("the pack is identical to snapshot %s", id)
			case !neg && len(diffs) > 0:
				ts.Fatalf("the pack differs from snapshot %s:\n%s", id, strings.Join(diffs, "\n"))
			}
			ts.Logf("pack compared with snapshot %s: %d difference(s)", id, len(diffs))
		},
		// waitfile FILE [SECONDS] waits until FILE exists.
		"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 1 {
				ts.Fatalf("usage: waitfile FILE [SECONDS]")
			}
			limit := 60 * time.Second
			if len(args) > 1 {
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				limit = time.Duration(n) * time.Second
			}
			deadline := time.Now().Add(limit)
			for {
				if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
					return
				}
				if time.Now().After(deadline) {
					ts.Fatalf("%s did not appear within %s", args[0], limit)
				}
				time.Sleep(20 * time.Millisecond)
			}
		},
	}
}

func runtimeWritten(p string) bool {
	for _, root := range []string{"repository/logs", "tmp"} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return p == "wso2carbon.pid"
}

// scriptStateDir finds the one pack state directory under
// $CARBONGUARD_STATE_DIR.
func scriptStateDir(ts *testscript.TestScript) string {
	dirs, _ := filepath.Glob(filepath.Join(ts.Getenv("CARBONGUARD_STATE_DIR"), "*"))
	var found []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		ts.Fatalf("want one state directory under %s, found %v", ts.Getenv("CARBONGUARD_STATE_DIR"), found)
	}
	return found[0]
}
