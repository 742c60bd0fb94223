package wrapper

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// exitGrace is how long a failed verdict waits for the process to exit, for
// the evidence; the verdict's time is not moved by it.
const exitGrace = 500 * time.Millisecond

// Proc is the server process a boot is judged on.
type Proc interface {
	// Done is closed once the server process has exited.
	Done() <-chan struct{}
	// Exit is how it ended; valid once Done is closed.
	Exit() *ExitInfo
	// PID is the JVM's process id when known, else 0.
	PID() int
}

// WatchSpec is what Watch judges.
type WatchSpec struct {
	Log    *LogTail // made before the launch, so that it reads only new lines
	Proc   Proc
	Health []HealthCheck
	Rules  Rules
	// Launched is when the server was launched; the timeout counts from it.
	Launched time.Time
	// Poll is how often the log and the process are looked at (default
	// 100 ms); ProbeInterval how often unanswered endpoints are asked again
	// (default 1 s); ProbeTimeout bounds one probe (default 3 s).
	Poll          time.Duration
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// Dial connects the health probes; nil dials from the host's network.
	Dial DialFunc
	// OnProgress receives a one-line status when it changes (systemd STATUS=).
	OnProgress func(status string)
	Logger     zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Watch judges a boot: it reads the new log lines, watches the process,
// probes the health endpoints once the success line is seen, and returns the
// verdict when the rules decide (see Rules and doc.go). It returns Unknown
// with the reason "interrupted" when ctx ends first. It never stops the
// server; that is the caller's choice.
func Watch(ctx context.Context, spec WatchSpec) *Verdict {
	now := spec.Now
	if now == nil {
		now = time.Now
	}
	poll := orDefault(spec.Poll, 100*time.Millisecond)
	probeEvery := orDefault(spec.ProbeInterval, time.Second)
	pr := newProber(orDefault(spec.ProbeTimeout, 3*time.Second), spec.Dial)
	log := spec.Logger
	launched := spec.Launched
	if launched.IsZero() {
		launched = now()
	}
	j := newJudge(spec.Rules, launched, len(spec.Health) > 0)

	probeCtx, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	type probeRound struct {
		restarts int
		results  []HealthResult
	}
	probeCh := make(chan probeRound, 1)
	probing := false
	var lastProbe time.Time
	results := make([]*HealthResult, len(spec.Health))
	lastRestarts := 0

	pollLog := func() {
		if spec.Log == nil {
			return
		}
		at := now()
		err := spec.Log.Poll(func(l string) { j.line(l, at) })
		if err != nil && j.logErr == nil {
			log.Warn().Err(err).Msg("cannot read the server log; judging by process and health endpoints only")
		}
		j.logErr = err
	}

	var lastProgress string
	var lastProgressAt time.Time
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	interrupted := false
	for {
		pollLog()
		select {
		case <-spec.Proc.Done():
			if j.exit == nil {
				j.exit = spec.Proc.Exit()
				pollLog() // whatever it wrote before it died
			}
		default:
		}
		if j.restarts != lastRestarts {
			lastRestarts = j.restarts
			clear(results)
		}
		t := now()
		if j.exit == nil && j.wantHealth() && !probing && t.Sub(lastProbe) >= probeEvery {
			probing, lastProbe = true, t
			var todo []int
			for i, r := range results {
				if r == nil || !r.OK {
					todo = append(todo, i)
				}
			}
			go func(restarts int) {
				out := make([]HealthResult, len(spec.Health))
				var wg sync.WaitGroup
				for _, i := range todo {
					wg.Add(1)
					go func() {
						defer wg.Done()
						out[i] = pr.probe(probeCtx, spec.Health[i], now)
					}()
				}
				wg.Wait()
				probeCh <- probeRound{restarts: restarts, results: out}
			}(j.restarts)
		}
		if state, reason, done := j.decide(t); done || interrupted {
			if !done {
				state, reason = Unknown, "interrupted before the boot was judged: "+context.Cause(ctx).Error()
			}
			if state == Failed && j.exit == nil {
				// A failure line is often the JVM's last word: wait a
				// moment so that its exit status joins the evidence.
				select {
				case <-spec.Proc.Done():
					j.exit = spec.Proc.Exit()
					pollLog()
				case <-time.After(exitGrace):
				case <-ctx.Done():
				}
			}
			return j.verdict(state, reason, t, spec, results)
		}
		if spec.OnProgress != nil && t.Sub(lastProgressAt) >= time.Second {
			if p := j.progress(t); p != lastProgress {
				lastProgress, lastProgressAt = p, t
				spec.OnProgress(p)
			}
		}
		select {
		case <-ctx.Done():
			interrupted = true
		case <-spec.Proc.Done():
		case <-ticker.C:
		case round := <-probeCh:
			probing = false
			if round.restarts != j.restarts {
				continue // answers from before a relaunch
			}
			all := true
			for i := range spec.Health {
				if r := round.results[i]; r.URL != "" {
					if prev := results[i]; prev != nil {
						r.Attempts = prev.Attempts
					}
					r.Attempts++
					results[i] = &r
					if !r.OK {
						log.Debug().Str("url", r.URL).Int("status", r.Status).Str("error", r.Error).Msg("health endpoint not ready")
					}
				}
				if results[i] == nil || !results[i].OK {
					all = false
				}
			}
			if all && j.healthOK.IsZero() {
				j.healthOK = now()
			}
		}
	}
}

func (j *judge) verdict(state State, reason string, at time.Time, spec WatchSpec, results []*HealthResult) *Verdict {
	v := &Verdict{
		SchemaVersion: VerdictSchemaVersion,
		State:         state,
		Reason:        reason,
		PID:           spec.Proc.PID(),
		Exit:          j.exit,
		Lines:         j.lines,
		Rules:         j.rules.record(),
	}
	v.Timings = Timings{Launched: j.launched, Decided: at, BootMS: at.Sub(j.launched).Milliseconds()}
	if j.success != nil {
		s := j.success.Seen
		v.Timings.SuccessLine = &s
		v.Timings.SuccessLogged = j.success.Logged
	}
	if !j.healthOK.IsZero() {
		h := j.healthOK
		v.Timings.HealthOK = &h
	}
	for _, r := range results {
		if r != nil {
			v.Health = append(v.Health, *r)
		}
	}
	if spec.Log != nil {
		v.Log = LogEvidence{Path: spec.Log.Path(), StartSize: spec.Log.StartSize, Existed: spec.Log.StartExisted,
			Rotations: spec.Log.Rotations(), LinesRead: j.linesRead}
	}
	if j.logErr != nil {
		v.Log.Error = j.logErr.Error()
	}
	if state != Up {
		v.Log.Tail = j.tailLog()
	}
	if j.restarts > 0 {
		v.Notes = append(v.Notes, "the server asked for a restart (exit status 121) and the script relaunched it; judged on the last instance")
	}
	if j.dropped > 0 {
		v.Notes = append(v.Notes, "some matched log lines were left out of the evidence; the log has them all")
	}
	for _, h := range v.Health {
		if h.Insecure {
			v.Notes = append(v.Notes, "HTTPS health probes skip certificate verification (the stock certificate is self-signed); the server's own TLS settings are unaffected")
			break
		}
	}
	return v
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// childProc is the stock script's shell, launched and waited for by
// carbonguard: its exit status is the server's (the script passes the JVM's
// status through), and the 121 restart loop lives inside it.
type childProc struct {
	cmd     *exec.Cmd
	pidFile string
	now     func() time.Time
	done    chan struct{}
	exit    *ExitInfo

	mu      sync.Mutex
	lastJVM int
}

func startChild(cmd *exec.Cmd, start func(*exec.Cmd) error, pidFile string, now func() time.Time) (*childProc, error) {
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if err := start(cmd); err != nil {
		return nil, err
	}
	c := &childProc{cmd: cmd, pidFile: pidFile, now: now, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		c.exit = exitInfo(cmd.ProcessState, err, now())
		close(c.done)
	}()
	return c, nil
}

func exitInfo(ps *os.ProcessState, err error, at time.Time) *ExitInfo {
	e := &ExitInfo{At: at, Known: true, Code: -1}
	if ps == nil {
		e.Known = false
		return e
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			e.Signal = unixSignalName(ws.Signal())
		case ws.Exited():
			e.Code = ws.ExitStatus()
		}
	} else if err != nil {
		e.Known = false
	}
	return e
}

func (c *childProc) Done() <-chan struct{} { return c.done }
func (c *childProc) Exit() *ExitInfo       { return c.exit }
func (c *childProc) ScriptPID() int        { return c.cmd.Process.Pid }

// PID is the JVM: the PID file's process when it is alive and a descendant
// of the script (a stale file from an earlier run names someone else).
func (c *childProc) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pid, err := readPIDFile(c.pidFile); err == nil && pid != c.lastJVM {
		if processAlive(pid) && isDescendant(pid, c.cmd.Process.Pid) {
			c.lastJVM = pid
		}
	}
	if c.lastJVM != 0 && !processAlive(c.lastJVM) {
		select {
		case <-c.done:
			// Keep the last JVM for the evidence once everything has ended.
		default:
			c.lastJVM = 0
		}
	}
	return c.lastJVM
}

// pidProc is a server process that is not carbonguard's child (started by
// an earlier carbonguard, or by hand): it is watched through /proc and its
// exit status cannot be known.
type pidProc struct {
	pid  int
	done chan struct{}
	exit *ExitInfo
	stop chan struct{}
	once sync.Once
}

// WatchPID follows a running process by its id, looking every poll. Close
// releases it.
func WatchPID(pid int, poll time.Duration) interface {
	Proc
	Close()
} {
	p := &pidProc{pid: pid, done: make(chan struct{}), stop: make(chan struct{})}
	poll = orDefault(poll, 100*time.Millisecond)
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			if !processAlive(pid) {
				p.exit = &ExitInfo{Code: -1, At: time.Now()}
				close(p.done)
				return
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *pidProc) Done() <-chan struct{} { return p.done }
func (p *pidProc) Exit() *ExitInfo       { return p.exit }
func (p *pidProc) PID() int              { return p.pid }
func (p *pidProc) Close()                { p.once.Do(func() { close(p.stop) }) }
