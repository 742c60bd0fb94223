package wrapper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/internal/secrets"
	"github.com/carbonguard/carbonguard/pack"
)

// scriptRunner sources the script named by $0 with the arguments in $@ and
// exits with the status of its last JVM run (see Server.command).
const scriptRunner = `. "$0"; exit ${status:-$?}`

// Server is one pack's server process as carbonguard launches, judges,
// stops and reports it.
type Server struct {
	p      *pack.Pack
	o      Options
	args   []string
	health []HealthCheck
	log    zerolog.Logger
}

// New checks the options against the pack and prepares the launch. It does
// not touch the server.
func New(p *pack.Pack, o Options) (*Server, error) {
	if p == nil {
		return nil, errors.New("wrapper: no pack")
	}
	o.withDefaults()
	args, err := ScriptArgs(o)
	if err != nil {
		return nil, err
	}
	s := &Server{p: p, o: o, args: args, log: o.Logger.With().Str("home", p.Home).Logger()}
	switch {
	case o.NoHealth:
	case len(o.Health) > 0:
		for _, h := range o.Health {
			if err := validateHealthCheck(h); err != nil {
				return nil, err
			}
		}
		s.health = o.Health
	default:
		s.health = DefaultHealthChecks(p)
	}
	return s, nil
}

// Pack is the pack the server belongs to.
func (s *Server) Pack() *pack.Pack { return s.p }

// ScriptArgs are the arguments the script gets (see the ScriptArgs function).
func (s *Server) ScriptArgs() []string { return append([]string(nil), s.args...) }

// HealthChecks are the endpoints the verdict will probe.
func (s *Server) HealthChecks() []HealthCheck { return append([]HealthCheck(nil), s.health...) }

// Env is the environment the script gets: the base environment without
// carbonguard's own secrets (internal/secrets) and NOTIFY_SOCKET (the
// server must not speak for the service), with
// CARBON_HOME set to the pack, and JAVA_HOME, JAVA_OPTS and JVM_MEM_OPTS
// when configured.
func (s *Server) Env() []string { return s.env(runAs{}) }

func (s *Server) env(who runAs) []string {
	base := s.o.Environ
	if base == nil {
		base = os.Environ()
	}
	// The server never gets carbonguard's own secrets (u2's account, the
	// snapshot repository's and the databases' passwords); everything else
	// passes: deployment.toml reads the operator's variables with $env{}.
	base = secrets.Scrub(base)
	set := map[string]string{"CARBON_HOME": s.p.Home}
	if s.o.JavaHome != "" {
		set["JAVA_HOME"] = s.o.JavaHome
	}
	if s.o.JavaOpts != "" {
		set["JAVA_OPTS"] = s.o.JavaOpts
	}
	if s.o.JVMMemOpts != "" {
		set["JVM_MEM_OPTS"] = s.o.JVMMemOpts
	}
	if who.cred != nil {
		set["USER"], set["LOGNAME"] = who.name, who.name
		if who.home != "" {
			set["HOME"] = who.home
		}
	}
	drop := map[string]bool{"NOTIFY_SOCKET": true}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if _, over := set[k]; over {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range []string{"CARBON_HOME", "JAVA_HOME", "JAVA_OPTS", "JVM_MEM_OPTS", "USER", "LOGNAME", "HOME"} {
		if v, ok := set[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// launch is what Start and Run share before the script runs.
type launch struct {
	who   runAs
	gate  *GateRecord
	notes []string
}

// prepare refuses what must not be launched (root, a running server, the
// gate) and clears a stale PID file.
func (s *Server) prepare(ctx context.Context, command string) (*launch, error) {
	who, err := resolveUser(&s.o)
	if err != nil {
		return nil, err
	}
	l := &launch{who: who}
	pid, running, err := s.p.RunningPID()
	if err != nil {
		return nil, err
	}
	if running {
		return nil, &pack.ServerRunningError{PID: pid, Op: command}
	}
	if removed, err := s.removeStalePIDFile(); err != nil {
		return nil, err
	} else if removed != "" {
		l.notes = append(l.notes, removed)
	}
	g, err := s.runGate(ctx)
	l.gate = g
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.p.Script); err != nil {
		return nil, fmt.Errorf("the startup script %s: %w", s.p.Script, err)
	}
	return l, nil
}

// removeStalePIDFile deletes a PID file that names no live server of this
// pack. The kernel never deletes its PID file, and the stock script's start
// refuses to start when the stale number has been reused by another process.
func (s *Server) removeStalePIDFile() (string, error) {
	pid, err := readPIDFile(s.p.PIDFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err := os.Remove(s.p.PIDFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("removing the stale PID file %s: %w", s.p.PIDFile, err)
	}
	what := fmt.Sprintf("removed the stale PID file %s", s.p.PIDFile)
	if pid > 0 {
		what += fmt.Sprintf(" (pid %d is not a running server of this pack)", pid)
	}
	s.log.Info().Str("pid_file", s.p.PIDFile).Int("stale_pid", pid).Msg("removed a stale PID file")
	return what, nil
}

func (s *Server) runGate(ctx context.Context) (*GateRecord, error) {
	if s.o.Gate == nil {
		return &GateRecord{Skipped: "no check gate configured"}, nil
	}
	res, err := s.o.Gate(ctx)
	g := &GateRecord{Ran: err == nil, Blocked: res.Blocked, Threshold: res.Threshold, Summary: res.Summary, Findings: res.Findings}
	if err != nil {
		g.Error = err.Error()
	}
	if err == nil && !res.Blocked {
		s.log.Info().Str("summary", res.Summary).Msg("check gate passed")
		return g, nil
	}
	if !s.o.Force {
		if err != nil {
			return g, &GateError{Err: err}
		}
		return g, &GateError{Result: res}
	}
	g.Forced, g.ForcedBy, g.Reason = true, s.forcedBy(), s.o.ForceReason
	// A summary, not the list (one line of thousands of characters): how
	// many findings block and which checks; the report has the rest.
	ev := s.log.Warn().Str("forced_by", g.ForcedBy).Str("reason", g.Reason).Str("threshold", res.Threshold).
		Str("summary", res.Summary).Int("blocking", len(res.Findings)).Strs("checks", checkIDs(res.Findings))
	if err != nil {
		ev = ev.AnErr("gate_error", err)
	}
	ev.Msg("check gate overridden with --force")
	return g, nil
}

// checkIDs are the distinct check IDs of finding lines ("CG-SEC-010 high
// deployment.toml:42: ..."), in order.
func checkIDs(lines []string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, l := range lines {
		id, _, _ := strings.Cut(strings.TrimSpace(l), " ")
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Server) forcedBy() string {
	if s.o.ForcedBy != "" {
		return s.o.ForcedBy
	}
	name := fmt.Sprintf("uid %d", os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if su := os.Getenv("SUDO_USER"); su != "" && su != name {
		name += " (sudo from " + su + ")"
	}
	return name
}

// command builds the script's command line. The script runs as the stock
// start relaunches it (sh <script> <args>, no command word: the foreground
// 121 loop), with one difference that the script cannot see: the shell
// reads it with "." and then exits with the loop's $status. The stock loop
// is the script's last statement and ends with "status=$?", so a script run
// directly always exits 0, whatever the JVM's status; this way the JVM's
// status comes through. $0 is still the script's path and $* its
// arguments, and every "exit N" in the script still ends the shell with N.
// Reading it through sh also runs a script that lost its execute bit.
func (s *Server) command(who runAs, foreground bool) *exec.Cmd {
	cmd := exec.Command("/bin/sh", append([]string{"-c", scriptRunner, s.p.Script}, s.args...)...)
	cmd.Dir = s.p.Home
	cmd.Env = s.env(who)
	attr := &syscall.SysProcAttr{Credential: who.cred}
	if foreground {
		// Its own process group: a terminal's Ctrl+C reaches carbonguard
		// alone, which stops the JVM in order (see Run).
		attr.Setpgid = true
	} else {
		// A new session without a terminal: what nohup gives the stock
		// start, and more (no SIGHUP, no job control signals).
		attr.Setsid = true
	}
	cmd.SysProcAttr = attr
	return cmd
}

func (s *Server) baseVerdict(v *Verdict, command string, child *childProc, l *launch) {
	v.Command = command
	v.Home, v.Product, v.Version = s.p.Home, string(s.p.Product), s.p.Version
	v.Script, v.ScriptArgs = s.p.Script, s.ScriptArgs()
	if child != nil {
		v.ScriptPID = child.ScriptPID()
	}
	if l != nil {
		v.Gate = l.gate
		v.Notes = append(l.notes, v.Notes...)
	}
}

func (s *Server) watchSpec(tail *LogTail, proc Proc, launched time.Time) WatchSpec {
	return WatchSpec{
		Log: tail, Proc: proc, Health: s.health, Rules: s.o.rules(), Launched: launched,
		Poll: s.o.Poll, ProbeInterval: s.o.ProbeInterval, ProbeTimeout: s.o.ProbeTimeout, Dial: s.dialFunc(),
		OnProgress: func(st string) {
			s.log.Debug().Msg(st)
			if err := s.o.Notify.Status(st); err != nil {
				s.log.Warn().Err(err).Msg("systemd notify")
			}
		},
		Logger: s.log, Now: s.o.Now,
	}
}

// startFunc and dialFunc are where the server runs and is probed: the
// configured Network, else the host's.
func (s *Server) startFunc() func(*exec.Cmd) error {
	if s.o.Network == nil {
		return nil
	}
	return s.o.Network.Start
}

func (s *Server) dialFunc() DialFunc {
	if s.o.Network == nil {
		return nil
	}
	return s.o.Network.DialContext
}

func (s *Server) save(v *Verdict) {
	if s.o.StateDir == "" {
		return
	}
	if err := SaveVerdict(s.o.StateDir, v); err != nil {
		// The verdict itself stands; only its record is lost.
		s.log.Error().Err(err).Msg("could not save the boot verdict")
		v.Notes = append(v.Notes, "not saved: "+err.Error())
	}
}

func (s *Server) logVerdict(v *Verdict) {
	ev := s.log.Info()
	if v.State != Up {
		ev = s.log.Error()
	}
	ev.Str("verdict", string(v.State)).Str("reason", v.Reason).Int("pid", v.PID).Dur("boot", time.Duration(v.Timings.BootMS)*time.Millisecond).Msg("boot verdict")
}

// Start launches the server in the background, as the stock script's start
// does, and returns once the boot is judged. A verdict other than up comes
// with a *BootError; the server is left as it is (a hung server stays up
// for a thread dump; stop it with Stop).
func (s *Server) Start(ctx context.Context) (*Verdict, error) {
	return s.start(ctx, "start")
}

func (s *Server) start(ctx context.Context, command string) (*Verdict, error) {
	l, err := s.prepare(ctx, command)
	if err != nil {
		return nil, err
	}
	tail, err := NewLogTail(s.p.LogFile)
	if err != nil {
		return nil, err
	}
	defer tail.Close()
	cmd := s.command(l.who, false)
	console, err := newBootConsole(s.o.ConsoleLog, s.log)
	if err != nil {
		return nil, err
	}
	console.attach(cmd)
	launched := s.o.Now()
	s.log.Info().Str("script", s.p.Script).Strs("args", s.args).Str("user", l.who.name).Msg("starting the server")
	child, err := startChild(cmd, s.startFunc(), s.p.PIDFile, s.o.Now)
	if err != nil {
		console.abandon()
		return nil, fmt.Errorf("starting %s: %w", s.p.Script, err)
	}
	console.launched()
	v := Watch(ctx, s.watchSpec(tail, child, launched))
	if v.Exit != nil {
		// The server did not survive its boot: what the script or the JVM
		// said last is evidence (Carbon's log may hold nothing).
		v.Console = console.evidence(exitGrace)
	}
	console.release(l.who)
	s.baseVerdict(v, command, child, l)
	s.logVerdict(v)
	s.save(v)
	if s.o.OnVerdict != nil {
		s.o.OnVerdict(v)
	}
	if v.State == Up {
		// The script's shell is the service's main process: it outlives
		// 121 restarts and exits with the JVM's status.
		if err := s.o.Notify.Ready("up: "+v.Reason, child.ScriptPID()); err != nil {
			s.log.Warn().Err(err).Msg("systemd notify")
		}
		return v, nil
	}
	_ = s.o.Notify.Status("boot " + string(v.State) + ": " + v.Reason)
	be := &BootError{Verdict: v}
	if ctx.Err() != nil {
		be.Interrupted = context.Cause(ctx)
	}
	return v, be
}

// StopResult says what Stop did.
type StopResult struct {
	WasRunning bool   `json:"was_running"`
	PID        int    `json:"pid,omitempty"`
	Signal     string `json:"signal,omitempty"` // the last signal sent: SIGTERM, or SIGKILL after the timeout
	Killed     bool   `json:"killed"`
	TookMS     int64  `json:"took_ms"`
	// PIDFileRemoved is set when Stop deleted the PID file: a stale one
	// (no server), or the stopped server's (the kernel leaves it behind).
	PIDFileRemoved bool     `json:"pid_file_removed"`
	Notes          []string `json:"notes,omitempty"`
}

// Stop stops the running server: SIGTERM to the JVM named by the PID file
// (what the stock script's stop sends), then waits up to StopTimeout for it
// to go and sends SIGKILL. It is not an error when no server runs; a stale
// PID file is removed then.
func (s *Server) Stop(ctx context.Context) (*StopResult, error) {
	start := s.o.Now()
	res := &StopResult{}
	pid, running, err := s.p.RunningPID()
	if err != nil {
		return nil, err
	}
	if !running {
		note, err := s.removeStalePIDFile()
		if err != nil {
			return nil, err
		}
		if note != "" {
			res.PIDFileRemoved = true
			res.Notes = append(res.Notes, note)
		}
		res.Notes = append(res.Notes, "the server was not running")
		return res, nil
	}
	res.WasRunning, res.PID = true, pid
	s.log.Info().Int("pid", pid).Dur("timeout", s.o.StopTimeout).Msg("stopping the server (SIGTERM)")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return nil, fmt.Errorf("sending SIGTERM to pid %d: %w", pid, err)
	}
	res.Signal = "SIGTERM"
	gone, err := waitGone(ctx, pid, s.o.StopTimeout)
	if err != nil {
		return res, err
	}
	if !gone {
		s.log.Warn().Int("pid", pid).Dur("after", s.o.StopTimeout).Msg("the server did not stop; sending SIGKILL")
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return nil, fmt.Errorf("sending SIGKILL to pid %d: %w", pid, err)
		}
		res.Signal, res.Killed = "SIGKILL", true
		res.Notes = append(res.Notes, fmt.Sprintf("the server ignored SIGTERM for %s and was killed", fmtDur(s.o.StopTimeout)))
		if gone, err = waitGone(ctx, pid, 10*time.Second); err != nil {
			return res, err
		}
		if !gone {
			return res, fmt.Errorf("pid %d survived SIGKILL for 10s (stuck in the kernel?)", pid)
		}
	}
	res.TookMS = s.o.Now().Sub(start).Milliseconds()
	// The kernel leaves its PID file behind; it names a dead process now.
	if cur, err := readPIDFile(s.p.PIDFile); err == nil && cur == pid {
		if err := os.Remove(s.p.PIDFile); err == nil {
			res.PIDFileRemoved = true
			s.log.Info().Str("pid_file", s.p.PIDFile).Msg("removed the stopped server's PID file")
		}
	}
	s.log.Info().Int("pid", pid).Bool("killed", res.Killed).Dur("took", time.Duration(res.TookMS)*time.Millisecond).Msg("server stopped")
	_ = s.o.Notify.Stopping("stopped")
	return res, nil
}

// waitGone polls until pid is gone or the timeout passes.
func waitGone(ctx context.Context, pid int, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if !processAlive(pid) {
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// Restart stops the server when it runs and starts it again.
func (s *Server) Restart(ctx context.Context) (*StopResult, *Verdict, error) {
	sr, err := s.Stop(ctx)
	if err != nil {
		return sr, nil, err
	}
	v, err := s.start(ctx, "restart")
	return sr, v, err
}

// RunResult is how a foreground run ended.
type RunResult struct {
	Verdict *Verdict
	// ExitStatus is the script's (and so the JVM's) exit status; a death by
	// signal is 128 + the signal number, as shells report it.
	ExitStatus int
	Exit       *ExitInfo
	// StoppedBy says why the server stopped: "signal SIGINT", "context",
	// "boot failed", or "" when it ended on its own.
	StoppedBy string
	Killed    bool
}

// Run runs the server in the foreground: the script without a command word,
// so its 121 restart loop is kept, with its console on Stdout and Stderr. It
// judges the boot like Start (systemd READY=1 once up), forwards SIGINT,
// SIGTERM and SIGHUP from sigs as a SIGTERM to the JVM (a second SIGINT
// kills), kills after StopTimeout, and returns when the script exits. A
// failed boot of a server that keeps running is stopped and reported as a
// *BootError; otherwise the result carries the script's exit status.
func (s *Server) Run(ctx context.Context, sigs <-chan os.Signal) (*RunResult, error) {
	l, err := s.prepare(ctx, "run")
	if err != nil {
		return nil, err
	}
	tail, err := NewLogTail(s.p.LogFile)
	if err != nil {
		return nil, err
	}
	defer tail.Close()
	cmd := s.command(l.who, true)
	cmd.Stdout, cmd.Stderr = s.o.Stdout, s.o.Stderr
	// A grandchild left holding the console pipe must not keep Wait (and
	// so carbonguard) from returning once the script is gone.
	cmd.WaitDelay = 2 * time.Second
	launched := s.o.Now()
	s.log.Info().Str("script", s.p.Script).Strs("args", s.args).Str("user", l.who.name).Msg("running the server in the foreground")
	child, err := startChild(cmd, s.startFunc(), s.p.PIDFile, s.o.Now)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.p.Script, err)
	}

	watchCtx, cancelWatch := context.WithCancel(context.Background())
	defer cancelWatch()
	verdictCh := make(chan *Verdict, 1)
	go func() { verdictCh <- Watch(watchCtx, s.watchSpec(tail, child, launched)) }()

	res := &RunResult{}
	st := &stopper{child: child, log: s.log, signaled: map[int]bool{}}
	var killTimer <-chan time.Time
	var rescan <-chan time.Time
	stopping := false
	beginStop := func(why string) {
		if stopping {
			return
		}
		stopping = true
		res.StoppedBy = why
		s.log.Info().Str("why", why).Dur("timeout", s.o.StopTimeout).Msg("stopping the server (SIGTERM to the JVM)")
		_ = s.o.Notify.Stopping("stopping: " + why)
		st.term()
		killTimer = time.After(s.o.StopTimeout)
		t := time.NewTicker(200 * time.Millisecond)
		st.ticker = t
		rescan = t.C
	}
	defer st.close()
	ctxDone := ctx.Done()
	for res.Exit == nil {
		select {
		case sig := <-sigs:
			switch {
			case stopping && sig == os.Interrupt:
				s.log.Warn().Msg("second interrupt: killing the server")
				res.Killed = true
				st.kill()
			default:
				beginStop("signal " + signalName(sig))
			}
		case <-ctxDone:
			ctxDone = nil
			beginStop("context: " + context.Cause(ctx).Error())
		case v := <-verdictCh:
			res.Verdict = v
			verdictCh = nil
			s.finishRunVerdict(v, child, l)
			if v.State == Failed {
				select {
				case <-child.Done():
				default:
					beginStop("boot failed")
				}
			}
		case <-rescan:
			st.term() // a JVM the script relaunched after the first TERM
		case <-killTimer:
			s.log.Warn().Dur("after", s.o.StopTimeout).Msg("the server did not stop; killing it")
			res.Killed = true
			st.kill()
			killTimer = nil
		case <-child.Done():
			res.Exit = child.Exit()
		}
	}
	if res.Verdict == nil {
		// The script ended before the verdict: Watch sees the exit at once.
		v := <-verdictCh
		res.Verdict = v
		s.finishRunVerdict(v, child, l)
	}
	res.ExitStatus = exitStatus(res.Exit)
	s.log.Info().Int("status", res.ExitStatus).Str("stopped_by", res.StoppedBy).Msg("the server exited")
	_ = s.o.Notify.Stopping(fmt.Sprintf("exited with status %d", res.ExitStatus))
	if res.StoppedBy == "boot failed" {
		return res, &BootError{Verdict: res.Verdict, Stopped: true}
	}
	return res, nil
}

func (s *Server) finishRunVerdict(v *Verdict, child *childProc, l *launch) {
	s.baseVerdict(v, "run", child, l)
	s.logVerdict(v)
	s.save(v)
	if s.o.OnVerdict != nil {
		s.o.OnVerdict(v)
	}
	if v.State == Up {
		if err := s.o.Notify.Ready("up: "+v.Reason, 0); err != nil {
			s.log.Warn().Err(err).Msg("systemd notify")
		}
		return
	}
	_ = s.o.Notify.Status("boot " + string(v.State) + ": " + v.Reason)
}

func exitStatus(e *ExitInfo) int {
	if e == nil {
		return -1
	}
	if e.Signal != "" {
		if n := signalNumber(e.Signal); n > 0 {
			return 128 + n
		}
		return 128
	}
	return e.Code
}

// stopper stops a foreground server in order: SIGTERM to the JVM (the
// script's shell would die of it at once, orphaning the JVM and losing its
// exit status), then, after the timeout, SIGKILL to the whole process group.
type stopper struct {
	child    *childProc
	log      zerolog.Logger
	signaled map[int]bool
	ticker   *time.Ticker
}

func (st *stopper) close() {
	if st.ticker != nil {
		st.ticker.Stop()
	}
}

func (st *stopper) term() {
	targets := childrenOf(st.child.ScriptPID())
	if jvm := st.child.PID(); jvm > 0 {
		targets = append(targets, jvm)
	}
	for _, pid := range targets {
		if st.signaled[pid] {
			continue
		}
		st.signaled[pid] = true
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			st.log.Warn().Err(err).Int("pid", pid).Msg("SIGTERM")
		}
	}
}

func (st *stopper) kill() {
	// The script's process group (Setpgid made the script its leader).
	if err := syscall.Kill(-st.child.ScriptPID(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		st.log.Warn().Err(err).Msg("SIGKILL")
	}
}

func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		return unixSignalName(s)
	}
	return sig.String()
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGKILL: "SIGKILL",
	syscall.SIGTERM: "SIGTERM", syscall.SIGABRT: "SIGABRT", syscall.SIGSEGV: "SIGSEGV", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGBUS: "SIGBUS",
}

func unixSignalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}

func signalNumber(name string) int {
	for s, n := range signalNames {
		if n == name {
			return int(s)
		}
	}
	var n int
	if _, err := fmt.Sscanf(name, "signal %d", &n); err == nil {
		return n
	}
	return 0
}
