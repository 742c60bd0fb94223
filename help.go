package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Every leaf command's help has a description, EXAMPLES and the EXIT
// STATUS table. The commands' own files hold their descriptions; the ones
// that had none get theirs here, and the examples of all are here, next
// to each other so that they read alike. TestLeafCommandsHelp keeps it so.

// leafDescriptions are the descriptions of commands defined without one.
var leafDescriptions = map[string]string{
	"version": `version prints carbonguard's version: the release it was stamped with, else the build's
module version and revision.`,
	"snapshot create": `create takes a verified-to-be-complete snapshot of the whole pack into the state directory:
a zstd (or gzip) archive with a manifest of every entry (path, type, mode, size, SHA-256), written
last, so that a snapshot without one is known to be incomplete. The server must be stopped
(--allow-running takes one anyway, with databases and the index possibly inconsistent).
Paths in [snapshot] exclude and --exclude are left out; a restore keeps the live ones.
--with-databases also dumps every [[snapshot.database]] into the snapshot (pre-update snapshots
always do); a dump that fails fails the snapshot. With [remote] push = "after-create" the snapshot
is pushed off the host once taken.`,
	"snapshot list": `list shows the snapshots of the pack, newest first: ID, reason, size, entries, and whether
and when each was last verified. --remote lists the snapshots in the restic repository of [remote]
instead, every pack's, with who pushed them and whether each push completed.`,
	"snapshot show": `show prints one snapshot's manifest summary (the pack it was taken of, product, version,
update level, exclusions, sizes); --entries lists every entry.`,
	"snapshot verify": `verify re-reads a snapshot's archive and checks every entry against its manifest (size and
SHA-256), and records when it passed. --all verifies every snapshot.`,
	"snapshot diff": `diff compares a snapshot with the live pack, or with a second snapshot: added, removed and
changed files (content, mode, link target).`,
	"snapshot restore": `restore puts a snapshot back over the pack: it unpacks into a staging directory beside the
pack, verifies it, and swaps it in by rename, so that a crash leaves either the old or the restored
pack (the next command finishes the job). The replaced tree is kept beside the pack as
<pack>.displaced-<ID>-<time> (snapshot drop-displaced removes those). The server must be stopped.
--paths restores only some paths; --keep-data keeps the live databases, index and logs.
--target DIR lays the snapshot down in another directory and needs no pack (a DR site, after
snapshot pull). --with-databases also restores the database dumps the snapshot holds, with the
restore commands of [[snapshot.database]], asking before each (--yes does not ask).`,
	"snapshot prune": `prune removes old snapshots by the retention policy ([snapshot] keep_last and keep_within, or
the flags), never one that an open update still needs to roll back, nor one a running drill,
update rehearsal, verify or push reads ("keep ID: in use by drill (pid N)"): that one, and the
content it needs, stays until the next prune after it ended. The in-use mark of a process that
is gone (killed) no longer counts, and prune removes it.`,
	"snapshot drop-displaced": `drop-displaced removes the trees a whole-pack restore set aside beside the pack
(<pack>.displaced-<ID>-<time>), once you no longer need to look at them.`,
	"hook pre-update": `pre-update is the first half of a guarded update for operators who run u2 themselves
(WSO2's update.sh in ansible-apim/puppet-apim): lock, stop or refuse a running server, the
safety preflight, the production checks as a report, a verified snapshot of the whole pack, and
the journal entry. Run u2 next, then hook post-update --exit-code <u2's exit code>.`,
	"hook post-update": `post-update is the second half: it reads u2's exit code and commits, keeps the transaction open
(conflicts, u2 updated itself) or restores the pre-update snapshot; with --start it starts the
server and judges the first boot, rolling back when it fails.`,
}

// leafExamples are each leaf command's EXAMPLES, by command path.
var leafExamples = map[string][]string{
	"version": {"carbonguard version"},
	"pack": {
		"carbonguard --home /opt/wso2am-4.2.0 pack",
		"carbonguard pack --format json | jq .ports",
	},
	"snapshot create": {
		"carbonguard snapshot create --reason before-tuning",
		"carbonguard snapshot create --exclude repository/logs --verify",
	},
	"snapshot list":   {"carbonguard snapshot list", "carbonguard snapshot list --format json", "carbonguard snapshot list --remote"},
	"snapshot show":   {"carbonguard snapshot show latest", "carbonguard snapshot show --entries 20261203T101500Z-manual"},
	"snapshot verify": {"carbonguard snapshot verify latest", "carbonguard snapshot verify --all"},
	"snapshot diff":   {"carbonguard snapshot diff latest", "carbonguard snapshot diff 20261201T020000Z-pre-update latest"},
	"snapshot restore": {
		"carbonguard stop && carbonguard snapshot restore --yes latest",
		"carbonguard snapshot restore --paths repository/conf/deployment.toml latest",
		"carbonguard --state /var/lib/carbonguard/dr snapshot restore --target /opt/wso2am-4.2.0 --with-databases 20261203T101500Z-pre-update",
	},
	"snapshot prune":          {"carbonguard snapshot prune --dry-run", "carbonguard snapshot prune --keep-last 3 --keep-within 14d"},
	"snapshot drop-displaced": {"carbonguard snapshot drop-displaced"},
	"snapshot push":           {"carbonguard snapshot push", "carbonguard snapshot push --all", "carbonguard snapshot push --format json 20261203T101500Z-pre-update"},
	"snapshot pull": {
		"carbonguard --state /var/lib/carbonguard/dr snapshot pull 20261203T101500Z-pre-update",
		"carbonguard --state /var/lib/carbonguard/dr snapshot restore --target /opt/wso2am-4.2.0 --yes 20261203T101500Z-pre-update",
	},
	"check": {
		"carbonguard check",
		"carbonguard check --format sarif --output carbonguard.sarif   # for GitHub code scanning",
		"carbonguard check --home /opt/apim-gw --home /opt/apim-cp --fail-on medium",
	},
	"checks": {"carbonguard checks", "carbonguard checks --format markdown > docs/checks.md"},
	"ports":  {"carbonguard ports", "carbonguard ports --format json"},
	"start": {
		"carbonguard start",
		"carbonguard start -D javax.net.debug=none --timeout 15m",
		"carbonguard start --force --force-reason \"INC-123: known finding, fix scheduled\"",
	},
	"run":     {"carbonguard run   # as systemd's ExecStart= (Type=notify)"},
	"stop":    {"carbonguard stop", "carbonguard stop --stop-timeout 5m"},
	"restart": {"carbonguard restart"},
	"status":  {"carbonguard status", "carbonguard --quiet status && echo running"},
	"update": {
		"carbonguard update --stop-server --start -- --level 13",
		"UPDATE_TOOL_USERNAME=me@example.com carbonguard update --password-file ~/.u2pass --start",
		"carbonguard update --continue   # after resolving u2's conflicts",
	},
	"hook pre-update": {
		"carbonguard hook pre-update --stop-server && ./bin/wso2update_linux --no-backup; \\",
		"  carbonguard hook post-update --exit-code $? --start",
	},
	"hook post-update": {"carbonguard hook post-update --exit-code 0 --start"},
	"rollback":         {"carbonguard rollback", "carbonguard rollback --stop-server 20261201T020000Z-pre-update", "carbonguard rollback --with-databases"},
	"drill": {
		"carbonguard drill            # as root: the newest verified snapshot, booted in its own network namespace",
		"carbonguard drill --no-boot latest   # restore, verify and check only",
		"carbonguard drill --keep --target /srv/drill-copy --format json",
	},
	"history": {"carbonguard history", "carbonguard history --last"},
	"completion": {
		"carbonguard completion bash > /etc/bash_completion.d/carbonguard",
		"carbonguard completion zsh > \"${fpath[1]}/_carbonguard\"",
	},
}

// completeHelp gives a leaf command at path its description and EXAMPLES,
// and every command the EXIT STATUS of the codes it declares (exit.go).
func completeHelp(path string, c *cli.Command) {
	if c.Name == "help" {
		return
	}
	desc := c.Description
	if desc == "" {
		desc = leafDescriptions[path]
	}
	body := strings.TrimRight(desc, "\n ")
	if ex := leafExamples[path]; len(ex) > 0 && len(c.Subcommands) == 0 && !strings.Contains(body, "EXAMPLES:") {
		body += "\n\nEXAMPLES:\n   " + strings.Join(ex, "\n   ")
	}
	c.Description = body + "\n\n" + exitStatusFor(path)
}
