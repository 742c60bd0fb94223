package wrapper

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/pack"
)

// Status is the server's state as seen from outside.
type Status struct {
	SchemaVersion int    `json:"schema_version"`
	Home          string `json:"home"`
	Product       string `json:"product"`
	Version       string `json:"version,omitempty"`
	Running       bool   `json:"running"`
	PID           int    `json:"pid,omitempty"`
	// Started and UptimeSec come from the JVM's start time in /proc.
	Started   *time.Time `json:"started,omitempty"`
	UptimeSec int64      `json:"uptime_sec,omitempty"`
	PIDFile   string     `json:"pid_file"`
	// StalePID is the number in a PID file that names no running server
	// of this pack.
	StalePID int          `json:"stale_pid,omitempty"`
	Ports    []PortStatus `json:"ports"`
	// PortsError says why listening sockets could not be read.
	PortsError  string   `json:"ports_error,omitempty"`
	LastVerdict *Verdict `json:"last_verdict,omitempty"`
	// VerdictError says why the last verdict could not be read.
	VerdictError string `json:"verdict_error,omitempty"`
	// Sections are added by other parts of carbonguard (Options.StatusSections).
	Sections []StatusSection `json:"sections,omitempty"`
}

// StatusSection is extra information in Status, such as the open update
// transaction.
type StatusSection struct {
	Name string `json:"name"`           // e.g. "update"
	Text string `json:"text"`           // for people, one or more lines
	Data any    `json:"data,omitempty"` // for JSON readers
}

// PortStatus is one listener of the pack's port table.
type PortStatus struct {
	Name    string `json:"name"`
	Port    int    `json:"port"`
	Enabled bool   `json:"enabled"`
	// Listening is true when a socket listens on the port; ByServer when
	// that socket belongs to the server's JVM (nil when it could not be
	// told: no server, or no right to read its file descriptors).
	Listening bool   `json:"listening"`
	ByServer  *bool  `json:"by_server,omitempty"`
	Address   string `json:"address,omitempty"`
}

// Status reports whether the server runs, since when, which of its ports
// listen, and the last boot verdict.
func (s *Server) Status(ctx context.Context) (*Status, error) {
	st := &Status{SchemaVersion: VerdictSchemaVersion, Home: s.p.Home, Product: string(s.p.Product), Version: s.p.Version, PIDFile: s.p.PIDFile}
	pid, running, err := s.p.RunningPID()
	if err != nil {
		return nil, err
	}
	if running {
		st.Running, st.PID = true, pid
		if t, err := processStartTime(pid); err == nil {
			st.Started = &t
			st.UptimeSec = int64(s.o.Now().Sub(t).Seconds())
		}
	} else if pid > 0 {
		st.StalePID = pid
	}
	p := s.p
	if running {
		// The running JVM's own -D arguments say which offset it got (a
		// -DportOffset given to start is not in carbonguard.toml).
		if q, err := packAsRunning(p, pid); err == nil {
			p = q
		} else {
			s.log.Debug().Err(err).Msg("reading the running server's system properties")
		}
	}
	ls, err := tcpListeners()
	if err != nil {
		st.PortsError = err.Error()
	}
	var mine map[uint64]bool
	if running {
		mine, _ = socketInodes(pid)
	}
	for _, pt := range p.Ports {
		ps := PortStatus{Name: pt.Name, Port: pt.Port, Enabled: pt.Enabled}
		for _, l := range ls {
			if l.Port != pt.Port {
				continue
			}
			ps.Listening, ps.Address = true, l.Addr
			if mine != nil {
				b := mine[l.Inode]
				ps.ByServer = &b
				if b {
					break
				}
			}
		}
		st.Ports = append(st.Ports, ps)
	}
	if s.o.StateDir != "" {
		v, err := LoadLastVerdict(s.o.StateDir)
		if err != nil {
			st.VerdictError = err.Error()
		}
		st.LastVerdict = v
	}
	for _, f := range s.o.StatusSections {
		sec, err := f(ctx)
		if err != nil {
			sec.Text = "could not be read: " + err.Error()
		}
		st.Sections = append(st.Sections, sec)
	}
	return st, nil
}

// packAsRunning reopens the pack with the system properties of the running
// JVM's command line when they change its effective values (the offset).
func packAsRunning(p *pack.Pack, pid int) (*pack.Pack, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return p, err
	}
	// The whole command line, JVM options and script arguments: a
	// -DportOffset among the script arguments, where carbonguard puts it,
	// comes last and wins, as in Carbon.
	props := pack.ScriptArgProps(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	off, ok := props["portOffset"]
	if !ok || off == p.SysProps["portOffset"] {
		return p, nil
	}
	merged := maps.Clone(p.SysProps)
	if merged == nil {
		merged = map[string]string{}
	}
	merged["portOffset"] = off
	return pack.OpenWith(p.Home, pack.Options{SysProps: merged})
}

// WriteText prints the status for people.
func (st *Status) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	if st.Running {
		up := ""
		if st.Started != nil {
			up = fmt.Sprintf(", up %s (since %s)", (time.Duration(st.UptimeSec) * time.Second).String(), st.Started.Format(time.RFC3339))
		}
		ew.printf("running: pid %d%s\n", st.PID, up)
	} else {
		ew.printf("not running\n")
		if st.StalePID > 0 {
			ew.printf("  stale PID file %s names pid %d, which is not a server of this pack\n", st.PIDFile, st.StalePID)
		}
	}
	ew.printf("  home:    %s (%s %s)\n", st.Home, st.Product, st.Version)
	if st.PortsError != "" {
		ew.printf("  ports:   cannot read listening sockets: %s\n", st.PortsError)
	}
	for _, p := range st.Ports {
		state := "closed"
		switch {
		case !p.Enabled:
			state = "disabled"
		case p.Listening && p.ByServer != nil && !*p.ByServer:
			state = "LISTENING (another process)"
		case p.Listening:
			state = "listening"
		}
		ew.printf("  port %-6d %-22s %s\n", p.Port, p.Name, state)
	}
	switch v := st.LastVerdict; {
	case v != nil:
		ew.printf("  last verdict: %s at %s: %s\n", strings.ToUpper(string(v.State)), v.Timings.Decided.Format(time.RFC3339), v.Reason)
	case st.VerdictError != "":
		ew.printf("  last verdict: unreadable: %s\n", st.VerdictError)
	default:
		ew.printf("  last verdict: none recorded\n")
	}
	for _, sec := range st.Sections {
		ew.printf("  %s: %s\n", sec.Name, strings.ReplaceAll(strings.TrimRight(sec.Text, "\n"), "\n", "\n    "))
	}
	return ew.err
}
