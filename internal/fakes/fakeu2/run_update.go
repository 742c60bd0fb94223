package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// parseLevel accepts "13" or "4.2.0.13" (the version must be the pack's).
func parseLevel(s, version string) (int, error) {
	raw := s
	if strings.Contains(s, ".") {
		v, lvl, ok := strings.Cut(s, version+".")
		if !ok || v != "" {
			return 0, fmt.Errorf("--level %q: the version does not match the product version %s", raw, version)
		}
		s = lvl
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--level %q: not an update level", raw)
	}
	return n, nil
}

// update is the default command: bring the pack level by level to the
// latest level (or --level), or --continue / --revert.
func (t *tool) update() int {
	f := t.f
	if f.cont && f.revert {
		return t.fail(fmt.Errorf("--continue and --revert cannot be used together"))
	}
	p, cfg, srv, code := t.session(true)
	if code >= 0 {
		return code
	}
	if !f.dryRun {
		done, err := t.selfUpdate(srv)
		if err != nil {
			return t.fail(err)
		}
		if done {
			t.say("The update tool was updated to a new version. Run the same command again to continue.")
			return exitSelfUpd
		}
	}
	cur, err := cfg.level()
	if err != nil {
		return t.fail(err)
	}
	t.fromLevel, t.toLevel = cur, cur
	if f.revert {
		return t.revert(p, cfg)
	}
	pending, err := p.loadPending()
	if err != nil {
		return t.fail(err)
	}
	levels, _ := srv.levels(p.code)
	target := -1
	if len(levels) > 0 {
		target = levels[len(levels)-1]
	}
	if f.level != "" {
		if target, err = parseLevel(f.level, p.version); err != nil {
			return t.fail(err)
		}
	}

	var ch changes
	from := cur
	if pending != nil {
		if !f.cont {
			return t.fail(fmt.Errorf("update level %d stopped with conflicts in %s; write <file>.final for each and run with --continue, or run --revert",
				pending.Level, strings.Join(pending.Conflicts, ", ")))
		}
		if err := resolveConflicts(p, pending.Conflicts); err != nil {
			return t.fail(err)
		}
		ch = changes{Added: pending.Added, Modified: append(pending.Modified, pending.Conflicts...), Removed: pending.Removed}
		from = pending.From
		cfg.setLevel(pending.Level)
		if err := cfg.save(); err != nil {
			return t.fail(err)
		}
		if err := p.clearPending(); err != nil {
			return t.fail(err)
		}
		p.updateLog("Resolved conflicts in %s", strings.Join(pending.Conflicts, ", "))
		p.updateLog("Applied updates: %s update level %d", p.code, pending.Level)
		cur = pending.Level
		t.toLevel = cur
		if f.level == "" {
			target = max(pending.Target, cur)
		}
	} else if f.cont {
		return t.fail(fmt.Errorf("there is no update with conflicts to continue"))
	}

	var plan []*updateSpec
	for _, l := range levels {
		if l > cur && l <= target {
			u, err := srv.update(p.code, l)
			if err != nil {
				return t.fail(err)
			}
			if u.ExitCode != 0 && u.ExitCode != exitError && u.ExitCode != exitReverted {
				return t.fail(fmt.Errorf("update level %d: exit_code %d is not supported (use 1 or 4)", l, u.ExitCode))
			}
			plan = append(plan, u)
		}
	}
	if len(plan) == 0 && pending == nil {
		t.say("%s is already at the latest update level %d.", p.code, cur)
		if err := t.printTemplate(ch); err != nil {
			return t.fail(err)
		}
		return exitOK
	}
	if f.dryRun {
		return t.dryRun(p, cur, plan)
	}

	// FAKE_U2_DELAY stands for the download of the update levels, which is
	// most of a real run: the tool sleeps that long before it changes
	// anything (tests of the rehearsal's outage use it).
	if d := os.Getenv("FAKE_U2_DELAY"); d != "" && len(plan) > 0 {
		delay, err := time.ParseDuration(d)
		if err != nil {
			return t.fail(fmt.Errorf("FAKE_U2_DELAY=%q: %w", d, err))
		}
		t.say("Downloading %d update level(s) ...", len(plan))
		time.Sleep(delay)
	}

	// The backup is the state before this run: --revert and exit code 4 use it.
	var backupDir string
	needsRollback := false
	for _, u := range plan {
		needsRollback = needsRollback || u.ExitCode == exitReverted
	}
	if len(plan) > 0 && (!f.noBackup || needsRollback) {
		if f.noBackup {
			th, err := toolHome()
			if err != nil {
				return t.fail(err)
			}
			backupDir = filepath.Join(th, fmt.Sprintf(".fake-u2-run-%d", os.Getpid()))
			defer os.RemoveAll(backupDir)
		} else if backupDir, err = backupRoot(p, cfg, f.backup); err != nil {
			return t.fail(err)
		}
		if err := cfg.save(); err != nil { // remembers --backup
			return t.fail(err)
		}
		t.say("Backing up %s to %s ...", p.code, backupDir)
		if err := takeBackup(p, backupDir, cur); err != nil {
			return t.fail(err)
		}
	}

	for _, u := range plan {
		t.say("Applying update level %s.%d: %s", p.version, u.level, u.Description)
		if u.ExitCode == exitError {
			return t.fail(fmt.Errorf("update level %d could not be downloaded from the update server", u.level))
		}
		ops, err := planLevel(p, u)
		if err != nil {
			return t.fail(err)
		}
		limit := len(ops)
		if u.FailHalfway || u.ExitCode == exitReverted {
			limit = max(1, len(ops)/2)
			if len(ops) == 0 {
				limit = 0
			}
		}
		var lvl changes
		for _, o := range ops[:limit] {
			if f.verbose {
				t.say("  %s", o.desc)
			}
			o.record(&lvl) // before apply: "added" vs "updated" depends on the file not being there yet
			if err := o.apply(); err != nil {
				return t.fail(fmt.Errorf("update level %d: %s: %w", u.level, o.desc, err))
			}
		}
		if u.FailHalfway {
			p.updateLog("Failed to apply update level %d after %d of %d changes", u.level, limit, len(ops))
			return t.fail(fmt.Errorf("update level %d failed after %d of %d changes: connection reset while downloading; the product is partially updated, run --revert", u.level, limit, len(ops)))
		}
		if u.ExitCode == exitReverted {
			lvlBack, err := restoreBackup(p, backupDir)
			if err != nil {
				return t.fail(fmt.Errorf("update level %d failed and the rollback failed too: %w", u.level, err))
			}
			p.updateLog("Update level %d failed; reverted the product to update level %d", u.level, lvlBack)
			t.say("Update level %d failed to apply. Reverted the product to update level %d.", u.level, lvlBack)
			t.toLevel = lvlBack
			return exitReverted
		}
		ch.Added = append(ch.Added, lvl.Added...)
		ch.Modified = append(ch.Modified, lvl.Modified...)
		ch.Removed = append(ch.Removed, lvl.Removed...)
		if len(lvl.Conflicts) > 0 {
			ch.Conflicts = lvl.Conflicts
			ps := &pendingState{From: from, Level: u.level, Target: target, Conflicts: lvl.Conflicts,
				Added: ch.Added, Modified: ch.Modified, Removed: ch.Removed, NoLog: f.noChangelog}
			if err := p.savePending(ps); err != nil {
				return t.fail(err)
			}
			p.updateLog("Conflicts in update level %d: %s", u.level, strings.Join(lvl.Conflicts, ", "))
			t.say("Conflicts found while applying update level %d:", u.level)
			for _, c := range lvl.Conflicts {
				t.say("  %s (see %s.original and %s.new; write %s.final)", c, c, c, c)
			}
			t.say("Resolve them and run the tool again with --continue.")
			if err := t.printTemplate(ch); err != nil {
				return t.fail(err)
			}
			return exitConflict
		}
		cfg.setLevel(u.level)
		if err := cfg.save(); err != nil {
			return t.fail(err)
		}
		cur = u.level
		t.toLevel = cur
		p.updateLog("Applied updates: %s update level %d", p.code, u.level)
	}

	noLog := f.noChangelog || (pending != nil && pending.NoLog)
	if !noLog {
		path, err := p.writeChangelog(from, cur, ch, "changelog")
		if err != nil {
			return t.fail(err)
		}
		t.say("Changelog written to %s", path)
	}
	if f.getSummary {
		if _, err := p.writeChangelog(from, cur, ch, "update-summary"); err != nil {
			return t.fail(err)
		}
	}
	t.say("Update completed successfully. %s is at update level %d.", p.code, cur)
	if err := t.printTemplate(ch); err != nil {
		return t.fail(err)
	}
	return exitOK
}

func (t *tool) dryRun(p *pack, cur int, plan []*updateSpec) int {
	var ch changes
	for _, u := range plan {
		ops, err := planLevel(p, u)
		if err != nil {
			return t.fail(err)
		}
		for _, o := range ops {
			o.record(&ch)
		}
	}
	t.say("Dry run: %s would go from update level %d to %d. Nothing was changed.", p.code, cur, plan[len(plan)-1].level)
	if err := t.printTemplate(ch); err != nil {
		return t.fail(err)
	}
	return exitOK
}

func (t *tool) revert(p *pack, cfg *configJSON) int {
	root, err := backupRoot(p, cfg, t.f.backup)
	if err != nil {
		return t.fail(err)
	}
	lvl, err := restoreBackup(p, root)
	if err != nil {
		return t.fail(err)
	}
	if err := os.RemoveAll(filepath.Join(root, p.code)); err != nil {
		return t.fail(err)
	}
	p.updateLog("Reverted the product to update level %d", lvl)
	t.toLevel = lvl
	t.say("Reverted %s to update level %d.", p.code, lvl)
	return exitOK
}
