// Package wrapper runs a pack's WSO2 server: start, run in the foreground,
// stop, restart and status, with a boot verdict that says whether the server
// came up, and systemd notifications.
//
// # Launching
//
// The stock startup script (api-manager.sh, wso2server.sh,
// micro-integrator.sh, ...) is called, never edited. Its start command only
// re-launches "nohup sh <script> $args" and exits 0; carbonguard performs that
// launch itself (/bin/sh <script> <args>, no command word, in a new session
// with no terminal), so the script's own foreground loop, its JVM command
// line and its 121 restart loop are exactly the stock ones, while
// carbonguard holds the script's shell as its child and knows when and how
// it ends. The JVM is then found through the PID file it writes
// (wso2carbon.pid), checked to be a descendant of that shell. Differences
// from the stock start, on purpose: a stale PID file is removed first (the
// kernel never deletes it, and the stock start refuses to start when the old
// number now belongs to another process), and the console goes to
// Options.ConsoleLog when set; else it is discarded, as the stock start
// does, once the boot is judged. During the boot carbonguard reads it
// through a pipe into a bounded buffer (the last 16 KiB), so that a server
// that exits before Carbon's log says anything ("Error: JAVA_HOME is not
// defined correctly.") is explained by its own last lines; a server that
// lives on gets a drainer (cat >/dev/null, in a session of its own), which
// ends with the last process holding the console. Neither a pipe nobody
// reads (it would block the server once full) nor one whose reader has gone
// (the script's shell dies of SIGPIPE on its next echo) is left behind.
//
// One more difference, invisible to the script: the shell reads it with "."
// and then exits with the loop's $status. The stock loop is the script's last
// statement and ends with "status=$?", so a stock script always exits 0 once
// its JVM has run, whatever the JVM's status; this way the JVM's status comes
// through (the script's $0, arguments and every "exit N" are unchanged).
//
// Properties are passed as script arguments, which the script hands to
// Carbon's Main after its own fixed -D list, so they win over it: by default
// -Dorg.opensaml.httpclient.https.disableHostnameVerification=false and
// -Dhttpclient.hostnameVerifier=Strict (the APIM scripts set true and
// AllowAll), then proxy, -Dprofile, the configured properties and raw
// arguments. -Dsetup (destructive) is passed only with Options.Setup.
// Values the script's unquoted $* would split or glob are refused.
//
// Options.Network moves the launch and the verdict's health probes out of
// the host's network: the script's shell is started inside it (and its
// JVM with it), and the probes dial from inside. A drill gives a copy of
// the pack a network namespace of its own this way (internal/netns).
//
// # The boot verdict
//
// Before the launch the log's size and identity are recorded; only new lines
// are read, and a rotation (a new file at the path) or truncation is
// followed. The rules (Watch, with the rule engine in judge.go):
//
//   - failed: a line with "Error while performing configuration changes",
//     "startup failed", "OutOfMemoryError" or "Address already in use"; the
//     second "Waiting for required OSGi services" (Options.OSGiWaitLimit);
//     the script exiting before the verdict; no success line within
//     Options.Timeout while the process lives.
//   - up: the success line ("WSO2 Carbon started in", "WSO2 Micro
//     Integrator started in"; "Mgt Console URL" is never awaited, newer
//     kernels do not print it), every health endpoint answering after it
//     (DefaultHealthChecks, on the offset ports; HTTPS probes skip
//     certificate checks for the self-signed stock certificate), and the
//     process still alive with no failure line for Options.Stability after
//     the success line. The verdict is given at the later of success line +
//     stability and the last endpoint's answer.
//   - unknown: the success line came and the process lives, but the
//     endpoints did not all answer within the timeout; or the log could not
//     be read (the verdict then rests on the process and endpoints); or
//     carbonguard was interrupted. The timeout bounds the wait for the
//     success line and the endpoints; a stability window already running
//     completes.
//
// A "Starting a new Carbon instance" line (the server asked for a restart,
// exit 121, which the script loop honours) resets what the old instance
// said. The Verdict carries its evidence (matched lines with when they were
// read and the server's own timestamp, endpoint answers with status, latency
// and error, timings, PIDs, exit status, the last log lines of a boot that
// is not up, the last console lines of a server that exited during its
// boot) and is saved atomically as <state>/verdicts/last.json plus a
// bounded history.
//
// Start leaves a failed server as it is (a hung JVM is worth a thread dump).
// Run stops a failed server that is still running and reports the failed
// boot; otherwise it passes the script's exit status through (143 after a
// SIGTERM, as every JVM reports it). An unknown verdict in Run keeps the
// server running without READY=1.
//
// # Stopping and signals
//
// Stop sends SIGTERM to the JVM named by the PID file (what the stock stop
// does, which then does not wait), waits up to Options.StopTimeout, then
// sends SIGKILL. A stale PID file is removed, and so is the PID file of the
// server it stopped. Run puts the script in its own process group, so a
// terminal's Ctrl+C reaches carbonguard alone; SIGINT, SIGTERM and SIGHUP
// become a SIGTERM to the JVM (not the script's shell, which would die at
// once and orphan the JVM), a second SIGINT or the stop timeout a SIGKILL
// to the group.
//
// # Root
//
// The server is not started as root unless Options.AllowRoot; when
// carbonguard itself runs as root, Options.RunAsUser runs the script as that
// user (setuid/setgid and supplementary groups through SysProcAttr).
//
// # systemd
//
// Notifier implements sd_notify without cgo (NOTIFY_SOCKET, path or
// @abstract): STATUS= while the boot is judged, READY=1 only once it is up,
// STOPPING=1 on the way down. NOTIFY_SOCKET is removed from the server's
// environment. The recommended unit runs the server in the foreground, so
// that carbonguard is the main process for the server's whole life and the
// 121 restarts stay invisible to systemd:
//
//	[Service]
//	Type=notify
//	NotifyAccess=main
//	User=wso2carbon
//	StateDirectory=carbonguard
//	Environment=CARBONGUARD_STATE_DIR=/var/lib/carbonguard
//	ExecStart=/usr/local/bin/carbonguard --home /opt/wso2am-4.2.0 run
//	KillMode=mixed
//	TimeoutStartSec=11min
//	TimeoutStopSec=150s
//	SuccessExitStatus=143
//	Restart=on-failure
//
// KillMode=mixed sends systemd's SIGTERM to carbonguard alone (which stops
// the JVM in order) and SIGKILL to all that is left at the end;
// TimeoutStartSec and TimeoutStopSec must exceed carbonguard's timeout and
// stop timeout so that its verdict and its SIGKILL come first; 143 is how a
// JVM exits after SIGTERM. "carbonguard start" also works with Type=notify
// and NotifyAccess=all: once up it sends READY=1 with MAINPID= the script's
// shell (which outlives restarts and exits with the JVM's status) and exits.
//
// # Boundaries
//
// The package reads the pack through package pack and never edits it. It
// does not run the production checks itself: Options.Gate is a function
// that main wires to them. It never exits the process or prints to stdout;
// reports are written by WriteText to the writer main gives.
package wrapper
