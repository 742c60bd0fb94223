package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/rs/zerolog"
)

// What is kept of a detached server's console during its boot: the last
// consoleKeep bytes, of which the verdict shows the last consoleLines lines.
const (
	consoleKeep  = 16 << 10
	consoleLines = 20
)

// ConsoleEvidence is the end of the server's console (the script's and the
// JVM's stdout and stderr) when the server exited during its boot: what the
// startup script or the JVM said before they gave up ("Error: JAVA_HOME is
// not defined correctly.", "Invalid maximum heap size"), which Carbon's log
// never holds.
type ConsoleEvidence struct {
	// Path is the console log file (Options.ConsoleLog); empty when the
	// console was held in memory during the boot only.
	Path string   `json:"path,omitempty"`
	Tail []string `json:"tail"`
}

// bootConsole is where a server launched by Start writes its console.
// With Options.ConsoleLog it is that file, whose new end the evidence reads.
// Without it the console goes to a pipe that carbonguard reads into a
// bounded buffer while the boot is judged; then, if the server still runs,
// the pipe is handed to a drainer (cat >/dev/null, in its own session) that
// lives exactly as long as the last process holding the console. A pipe
// nobody reads would block the server once full, and a pipe whose reader
// has gone would fail its writes (and kill a writer that does not ignore
// SIGPIPE, such as the script's shell); a file would grow without
// rotation, since Carbon's console repeats its whole log. So the stock
// start's "> /dev/null" holds after the boot, and before it carbonguard
// keeps the lines that explain an early exit.
type bootConsole struct {
	log zerolog.Logger

	path  string   // Options.ConsoleLog, or ""
	file  *os.File // the console log, until the launch
	start int64    // its size before the launch

	r, w   *os.File // the pipe
	ring   ring
	done   chan struct{} // closed when the reader stops
	sawEOF bool          // set before done is closed: every writer has gone
}

func newBootConsole(path string, log zerolog.Logger) (*bootConsole, error) {
	c := &bootConsole{path: path, log: log}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("console log: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("console log: %w", err)
		}
		c.file, c.start = f, fi.Size()
		return c, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("console pipe: %w", err)
	}
	c.r, c.w = r, w
	return c, nil
}

// attach makes the console cmd's stdout and stderr.
func (c *bootConsole) attach(cmd *exec.Cmd) {
	if c.file != nil {
		cmd.Stdout, cmd.Stderr = c.file, c.file
		return
	}
	cmd.Stdout, cmd.Stderr = c.w, c.w
}

// launched closes carbonguard's copy of the writing end (the child has its
// own) and starts reading the pipe.
func (c *bootConsole) launched() {
	if c.file != nil {
		c.file.Close()
		c.file = nil
		return
	}
	c.w.Close()
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := c.r.Read(buf)
			c.ring.write(buf[:n])
			if err != nil {
				c.sawEOF = errors.Is(err, io.EOF)
				return
			}
		}
	}()
}

// abandon releases everything after a launch that failed.
func (c *bootConsole) abandon() {
	for _, f := range []*os.File{c.file, c.r, c.w} {
		if f != nil {
			f.Close()
		}
	}
}

// evidence is the console's last lines. It waits up to wait for every
// writer to close the pipe (the server has exited: what it wrote last may
// still be in the pipe).
func (c *bootConsole) evidence(wait time.Duration) *ConsoleEvidence {
	if c.path != "" {
		return c.fileEvidence()
	}
	if c.done == nil {
		return nil
	}
	select {
	case <-c.done:
	case <-time.After(wait):
	}
	b, cut := c.ring.snapshot()
	return &ConsoleEvidence{Tail: lastLines(b, cut, consoleLines)}
}

func (c *bootConsole) fileEvidence() *ConsoleEvidence {
	ev := &ConsoleEvidence{Path: c.path}
	f, err := os.Open(c.path)
	if err != nil {
		c.log.Warn().Err(err).Msg("cannot read the console log")
		return ev
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ev
	}
	from := max(c.start, fi.Size()-consoleKeep)
	if fi.Size() < c.start { // truncated since: read what is there
		from = max(0, fi.Size()-consoleKeep)
	}
	b := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(b, from)
	ev.Tail = lastLines(b[:n], from > c.start, consoleLines)
	return ev
}

// release stops carbonguard's reading. When a process still holds the
// console, the pipe goes to a drainer; otherwise it is closed.
func (c *bootConsole) release(who runAs) {
	if c.done == nil {
		return
	}
	// A deadline in the past ends the pending read; what is left in the
	// pipe stays there for the drainer.
	if err := c.r.SetReadDeadline(time.Now()); err != nil {
		c.log.Warn().Err(err).Msg("console pipe")
	}
	<-c.done
	defer c.r.Close()
	if c.sawEOF {
		return
	}
	if err := startDrainer(c.r, who); err != nil {
		// The server's console writes will fail from now on (EPIPE); the
		// JVM ignores SIGPIPE, the script's shell does not.
		c.log.Warn().Err(err).Msg("cannot start the console drainer; the server's console output will fail")
	}
}

// startDrainer runs cat with r as its input and /dev/null as its output, in
// a session of its own, as the server's user, and reaps it when it ends
// (at the console's end of file, once the server has exited).
func startDrainer(r *os.File, who runAs) error {
	cat, err := exec.LookPath("cat")
	if err != nil {
		cat = "/bin/cat"
	}
	cmd := exec.Command(cat)
	cmd.Stdin = r
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: who.cred}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// ring keeps the last consoleKeep bytes written to it.
type ring struct {
	mu  sync.Mutex
	buf []byte
	cut bool // bytes were dropped from the front
}

func (r *ring) write(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) >= consoleKeep {
		r.buf = append(r.buf[:0], p[len(p)-consoleKeep:]...)
		r.cut = true
		return
	}
	if drop := len(r.buf) + len(p) - consoleKeep; drop > 0 {
		r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
		r.cut = true
	}
	r.buf = append(r.buf, p...)
}

func (r *ring) snapshot() ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf), r.cut
}

// lastLines splits b into lines and returns the last n, printable: a first
// line cut by the bound is dropped, carriage returns and other control
// characters are not printed as such.
func lastLines(b []byte, cut bool, n int) []string {
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		} else {
			b = nil
		}
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var out []string
	for _, l := range lines {
		l = printable(l)
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// printable keeps a console line from moving the reader's cursor or
// colouring the report: a trailing carriage return goes, other control
// characters and invalid UTF-8 become "?".
func printable(s string) string {
	s = strings.ToValidUTF8(strings.TrimRight(s, "\r"), "?")
	return strings.Map(func(r rune) rune {
		if r != '\t' && unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
