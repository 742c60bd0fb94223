// Command mkpack lays out fixture packs outside a test, for scripts/demo.sh
// and scripts/ansible/test.sh: the same materialisation the tests get from
// internal/testpack (the fixture copied, the fake JDK and the fake u2
// installed, a port offset whose ports are free on 127.0.0.1), into
// directories that outlive the process.
//
//	go run ./internal/mkpack [-fixture apim-4.2] [-u2 broken-boot|PATH] [-offset N] DIR...
//
// Each DIR receives <fixture>/ (the product home), jdk/ (the fake JDK),
// home/ (a HOME for u2's ~/.wso2-updates) and pack.env, shell assignments
// of PACK_HOME, PACK_JAVA_HOME, PACK_USER_HOME, PACK_SCRIPT, PACK_OFFSET,
// PACK_U2_SERVER and PACK_FIXTURE. Packs made by one run get port ranges
// that do not overlap (the offsets' port locks are held until all are made).
//
// It is a development tool: it builds the fakes with the go command from
// the module's sources, so run it from a checkout.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkpack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fixture := fs.String("fixture", "apim-4.2", "fixture pack under testdata/packs")
	u2 := fs.String("u2", "", "fake update server: a name under testdata/u2, or an absolute path")
	offset := fs.Int("offset", -1, "port offset to write (default: a free one)")
	delay := fs.Duration("delay", 0, "the fake server's start-up delay (FAKE_CARBON_DELAY in pack.env)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mkpack [-fixture NAME] [-u2 SERVER] [-offset N] [-delay D] DIR...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if *offset >= 0 && fs.NArg() > 1 {
		fmt.Fprintln(stderr, "mkpack: -offset makes one pack; give one DIR")
		return 2
	}
	var opts []testpack.Option
	if *u2 != "" {
		opts = append(opts, testpack.WithU2Server(*u2))
	}
	if *offset >= 0 {
		opts = append(opts, testpack.WithOffset(*offset))
	}
	if *delay > 0 {
		opts = append(opts, testpack.WithDelay(*delay))
	}
	for _, dir := range fs.Args() {
		p, err := materialise(dir, *fixture, opts)
		if err != nil {
			fmt.Fprintf(stderr, "mkpack: %s: %v\n", dir, err)
			return 1
		}
		env := filepath.Join(p.Home, "..", "pack.env")
		if err := os.WriteFile(env, []byte(packEnv(p)), 0o644); err != nil {
			fmt.Fprintf(stderr, "mkpack: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\t%s\toffset %d\n", filepath.Clean(env), p.Home, p.Offset)
	}
	return 0
}

// materialise runs testpack.New with a testing.TB whose temporary
// directory is dir and whose cleanups never run: the pack must outlive us.
func materialise(dir, fixture string, opts []testpack.Option) (p *testpack.Pack, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	if entries, _ := os.ReadDir(abs); len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty; give a new or empty directory", abs)
	}
	t := &tb{dir: abs}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(fatal); ok {
				p, err = nil, errors.New(string(f))
				return
			}
			panic(r)
		}
	}()
	return testpack.New(t, fixture, opts...), nil
}

// packEnv is the pack as shell assignments, single-quoted.
func packEnv(p *testpack.Pack) string {
	var b strings.Builder
	b.WriteString("# written by internal/mkpack; source it, or read the PACK_ values\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(v)) }
	kv("PACK_FIXTURE", p.Name)
	kv("PACK_HOME", p.Home)
	kv("PACK_JAVA_HOME", p.JavaHome)
	kv("PACK_USER_HOME", p.UserHome)
	kv("PACK_SCRIPT", p.Script)
	kv("PACK_OFFSET", strconv.Itoa(p.Offset))
	kv("PACK_U2_SERVER", p.U2Server)
	// The fake's own knobs (FAKE_CARBON_*) as the pack's processes get them.
	base := map[string]bool{}
	for _, e := range os.Environ() {
		base[e] = true
	}
	for _, e := range p.Env() {
		k, v, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "FAKE_CARBON_") && !base[e] {
			kv(k, v)
		}
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fatal is what tb.Fatalf panics with, to unwind testpack.New.
type fatal string

// tb is the slice of testing.TB that testpack uses. The embedded interface
// is nil: a method testpack starts to use later panics loudly here instead
// of failing silently.
type tb struct {
	testing.TB
	dir string
}

func (t *tb) Helper()         {}
func (t *tb) Name() string    { return "mkpack" }
func (t *tb) TempDir() string { return t.dir }
func (t *tb) Cleanup(func())  {}
func (t *tb) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mkpack: "+format+"\n", args...)
}
func (t *tb) Log(args ...any) { fmt.Fprintln(os.Stderr, append([]any{"mkpack:"}, args...)...) }
func (t *tb) Fatalf(format string, args ...any) {
	panic(fatal(fmt.Sprintf(format, args...)))
}
func (t *tb) Fatal(args ...any)                 { panic(fatal(fmt.Sprint(args...))) }
func (t *tb) Errorf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }
