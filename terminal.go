package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

// What the commands share at the terminal: the --format flag, JSON output,
// the progress bar, the confirmation prompt, and signals. Reports go to
// stdout; logs, progress and questions to stderr.

// formats are the values of a command's --format, the default first. The
// flag is declared here only, and checked here only.
type formats []string

var (
	textOrJSON    = formats{"text", "json"}
	checkFormats  = formats{"text", "json", "sarif"}
	checksFormats = formats{"text", "json", "markdown"}
)

// flag is the command's --format flag.
func (f formats) flag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: f[0], Usage: f.String()}
}

// of reads --format; a value the command does not have is a usage error.
func (f formats) of(c *cli.Context) (string, error) {
	v := c.String("format")
	if v == "" {
		return f[0], nil
	}
	for _, ok := range f {
		if v == ok {
			return v, nil
		}
	}
	return "", usagef("--format %q: use %s", v, f)
}

// String is "text or json", "text, json or sarif".
func (f formats) String() string {
	if len(f) == 1 {
		return f[0]
	}
	return strings.Join(f[:len(f)-1], ", ") + " or " + f[len(f)-1]
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// orDash is s, or "-" for nothing, in a table.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printableName shows a name from a tree on a terminal: as it is when it is
// printable UTF-8, quoted otherwise (control bytes, escape sequences and
// bytes that are not UTF-8 escaped, never printed raw).
func printableName(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// colors: colour for w, a terminal, unless NO_COLOR is set to anything
// (https://no-color.org).
func (e *env) colors(w io.Writer) bool {
	return isTerminal(w) && e.getenv("NO_COLOR") == ""
}

// terminalWidth is w's width in columns when it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// progressBar draws on stderr when it is a terminal and --quiet is off;
// otherwise it draws nothing. It draws through the env's statusLine, which
// the logger writes through too: a log line never lands after the bar's
// text on the same line.
type progressBar struct {
	line  *statusLine
	drawn bool
}

func (s *session) progressBar() *progressBar {
	if s.g.quiet || !isTerminal(s.stderr) {
		return &progressBar{}
	}
	return &progressBar{line: s.statusLine()}
}

func (b *progressBar) update(p archive.Progress) {
	if b.line == nil {
		return
	}
	pct := ""
	if p.TotalBytes > 0 {
		pct = fmt.Sprintf(" %3d%%", min(100, p.Bytes*100/p.TotalBytes))
	}
	eta := ""
	if p.ETA > 0 && !p.Done {
		eta = " ETA " + p.ETA.Round(time.Second).String()
	}
	b.line.draw(fmt.Sprintf("%-8s %s / %s%s  %d/%d files  %s/s%s", p.Op, humanize.Bytes(p.Bytes), humanize.Bytes(p.TotalBytes), pct,
		p.Files, p.TotalFiles, humanize.Bytes(int64(p.Rate)), eta))
	b.drawn = true
}

// close ends the bar's line; it may be called more than once.
func (b *progressBar) close() {
	if b.drawn {
		b.line.end()
		b.drawn = false
	}
}

// statusLine is the last line of stderr while a progress bar shows there.
// Everything else written to stderr (the logger writes through it) clears
// the bar first and draws it again below, so that the bar always ends its
// line before another one starts.
type statusLine struct {
	mu   sync.Mutex
	w    io.Writer
	text string // the bar as last drawn; "" when none shows
}

func (e *env) statusLine() *statusLine {
	e.lineOnce.Do(func() { e.line = &statusLine{w: e.stderr} })
	return e.line
}

func (l *statusLine) draw(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text = text
	fmt.Fprintf(l.w, "\r%s\033[K", text)
}

// end leaves the bar as it is and moves below it.
func (l *statusLine) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.text != "" {
		fmt.Fprintln(l.w)
		l.text = ""
	}
}

// Write writes p on a line of its own above the bar.
func (l *statusLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.text == "" {
		return l.w.Write(p)
	}
	fmt.Fprint(l.w, "\r\033[K")
	n, err := l.w.Write(p)
	fmt.Fprintf(l.w, "\r%s\033[K", l.text)
	return n, err
}

// confirm asks on the terminal; without one it refuses with a usage error
// that names the flag (--yes) that answers in advance.
func (e *env) confirm(question string) (bool, error) {
	in, ok := e.stdin.(*os.File)
	if !ok || !isTerminal(in) || !isTerminal(e.stderr) {
		return false, usagef("restore replaces files of the pack and needs confirmation: pass --yes")
	}
	fmt.Fprintf(e.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// signalContext cancels on SIGINT and SIGTERM so that a command stops
// cleanly (a partial snapshot or staging directory removed; exit status 7).
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
