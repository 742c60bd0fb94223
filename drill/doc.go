// Package drill proves that a snapshot restores and boots, and measures the
// recovery time (RTO), while the live server keeps running untouched.
//
// Run takes a snapshot (the newest verified one by default), lays it down
// as a copy in a scratch directory (archive.Store.Extract: every entry
// checked against the manifest as it is written; never the live pack, and
// never inside it), compares the copy on disk with the manifest bit for
// bit, runs the production checks on it, and boots it through clone.Boot:
// isolated in a network namespace of its own, judged by the same verdict
// as a start, stopped. The copy is then removed (Options.Keep keeps it).
// The level reached is recorded: restored, verified, checked, booted.
// The drill holds no lock of the live pack, so a snapshot prune may run
// meanwhile: the snapshot is marked in use for the whole drill
// (archive.Store.Lease), and the prune keeps it and the content it needs.
//
// A drill refuses to boot (and, when the live pack already tells, before
// it restores anything) a copy whose databases are production's unless
// [drill] overrides point them elsewhere, or a copy that cannot be isolated
// (see package clone); NoBoot stops after the checks.
//
// Each drill has a record, <state>/drills/<id>/drill.json, written
// atomically when the drill starts and after every step: the snapshot, the
// copy, the levels, the timings (restore, boot, and their sum, the RTO),
// the checks' summary, the copy's boot verdict, and its evidence
// (<state>/drills/<id>/evidence/: the copy's console and the log lines of
// its boot). It never writes the live pack's PID file, logs, lock, verdicts
// or journal. One drill runs per pack at a time (<state>/drills/lock); a
// drill killed midway is found by the next one, which stops what is left
// of its copy, removes it and marks the record interrupted. The newest
// records are kept (KeepRecords).
package drill
