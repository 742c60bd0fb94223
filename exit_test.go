package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/dbdump"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/remote"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

// TestEveryErrorTypeHasAnExitCode reads the sources of every library
// package of the module and fails when an exported error type (a type with
// an Error method) or error value (an exported Err... variable) has no rule
// in exitRules, or when a rule names one that no longer exists.
func TestEveryErrorTypeHasAnExitCode(t *testing.T) {
	declared := exportedErrors(t, repoRoot(t))
	require.NotEmpty(t, declared)
	ruled := map[string]bool{}
	for _, r := range exitRules {
		assert.False(t, ruled[r.name], "exitRules names %s twice", r.name)
		ruled[r.name] = true
	}
	for name, where := range declared {
		assert.True(t, ruled[name], "%s (%s) has no exit code: give it one in exitRules (exit.go)", name, where)
	}
	packages := map[string]bool{}
	for name := range declared {
		packages[strings.Split(name, ".")[0]] = true
	}
	for name := range ruled {
		if packages[strings.Split(name, ".")[0]] {
			assert.Contains(t, declared, name, "exitRules names %s, which the sources do not declare", name)
		}
	}
}

// exportedErrors maps "pkg.Name" to where it is declared, for the exported
// error types and Err variables of every non-main package under root
// (testdata and test files left out).
func exportedErrors(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		pkgs, err := parser.ParseDir(fset, path, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			return err
		}
		for name, p := range pkgs {
			if name == "main" {
				continue
			}
			types := map[string]token.Pos{}
			hasError := map[string]bool{}
			for _, f := range p.Files {
				for _, decl := range f.Decls {
					switch d := decl.(type) {
					case *ast.GenDecl:
						for _, spec := range d.Specs {
							switch s := spec.(type) {
							case *ast.TypeSpec:
								if s.Name.IsExported() {
									types[s.Name.Name] = s.Pos()
								}
							case *ast.ValueSpec:
								for _, n := range s.Names {
									if d.Tok == token.VAR && n.IsExported() && strings.HasPrefix(n.Name, "Err") {
										out[name+"."+n.Name] = fset.Position(n.Pos()).String()
									}
								}
							}
						}
					case *ast.FuncDecl:
						if d.Recv != nil && d.Name.Name == "Error" && d.Type.Params.NumFields() == 0 {
							recv := d.Recv.List[0].Type
							if star, ok := recv.(*ast.StarExpr); ok {
								recv = star.X
							}
							if id, ok := recv.(*ast.Ident); ok {
								hasError[id.Name] = true
							}
						}
					}
				}
			}
			for typ, pos := range types {
				if hasError[typ] {
					out[name+"."+typ] = fset.Position(pos).String()
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestExitCodes gives one example of every rule and of the errors a command
// makes itself.
func TestExitCodes(t *testing.T) {
	v := func(s wrapper.State) *wrapper.Verdict { return &wrapper.Verdict{State: s, Reason: "r"} }
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("disk on fire"), exitFailure},
		{usagef("bad flag"), exitUsage},
		{fmt.Errorf("loading: %w", usagef("bad")), exitUsage},
		{codeError{code: exitBootFailed}, exitBootFailed},
		{codeError{code: 143}, 143},

		{&hooks.RolledBackError{}, exitRolledBack},
		{&hooks.NeedsAttentionError{}, exitNeedsAttention},
		{&hooks.UpdateFailedError{}, exitUpdateFailed},
		{&hooks.UpdateFailedError{Rehearsal: true}, exitUpdateFailed},
		{&hooks.RehearsalFailedError{}, exitRehearsalFailed},
		{&hooks.ConflictsError{}, exitUpdateOpen},
		{&hooks.PendingError{}, exitUpdateOpen},
		{&hooks.RecoveredError{}, exitRecovered},
		{&hooks.LockedError{}, exitLocked},
		{&hooks.OpenTxError{Tx: &hooks.Tx{}}, exitUpdateOpen},
		{&hooks.RollbackRefusedError{Err: &archive.CorruptError{}}, exitCorrupt},
		{&hooks.RollbackRefusedError{Err: &archive.IncompleteError{}}, exitIncomplete},
		{&hooks.RollbackRefusedError{Err: errors.New("staging: no such device")}, exitFailure},
		{&hooks.PreflightError{Problems: []string{"no space"}}, exitFindings},
		{&hooks.UsageError{}, exitUsage},
		{&hooks.U2ArgsError{}, exitUsage},
		{&hooks.NoSuchTxError{}, exitUsage},

		{&pack.ServerRunningError{PID: 1, Op: "start"}, exitServerState},
		{fmt.Errorf("update: %w", &pack.ServerRunningError{PID: 1, Op: "update", Why: "u2"}), exitServerState},
		{&pack.NotAPackError{Dir: "/x", LookedFor: []string{"bin/"}}, exitUsage},
		{&pack.ConfigError{Pos: pack.Position{File: "repository/conf/deployment.toml", Line: 3}, What: "bad"}, exitUsage},
		{&validate.OptionsError{}, exitUsage},

		{&archive.CorruptError{}, exitCorrupt},
		{&archive.CorruptError{Err: &archive.UnsafeEntryError{}}, exitCorrupt},
		{&archive.IncompleteError{}, exitIncomplete},
		{&archive.NotFoundError{}, exitUsage},
		{&archive.UsageError{}, exitUsage},
		{archive.ErrBusy, exitLocked},
		{&archive.InUseError{ID: "x", Leases: []archive.LeaseInfo{{Holder: "drill", PID: 1}}}, exitLocked},
		{&archive.UnsafeEntryError{}, exitCorrupt},
		{&archive.UnstorableError{}, exitUsage},
		{&archive.ChangedError{}, exitFailure},
		{&archive.InsufficientSpaceError{}, exitFailure},
		{archive.ErrRestorePending, exitFailure},

		{&remote.ConfigError{}, exitUsage},
		{&remote.NotFoundError{}, exitUsage},
		{&remote.AmbiguousError{}, exitUsage},
		{&remote.CorruptError{}, exitCorrupt},
		{&remote.ResticError{}, exitFailure},
		{fmt.Errorf("restic: %w", remote.ErrNotInstalled), exitFailure},
		{&dbdump.ConfigError{}, exitUsage},
		{&dbdump.RunError{}, exitFailure},

		{context.Canceled, exitInterrupted},
		{&wrapper.BootError{Verdict: v(wrapper.Failed)}, exitBootFailed},
		{&wrapper.BootError{Verdict: v(wrapper.Unknown)}, exitBootUnknown},
		{&wrapper.BootError{Verdict: v(wrapper.Unknown), Interrupted: context.Canceled}, exitInterrupted},
		{fmt.Errorf("start: %w", &wrapper.RootError{User: "root"}), exitRoot},
		{&wrapper.GateError{Result: wrapper.GateResult{Blocked: true}}, exitFindings},
		{&wrapper.GateError{Err: errors.New("x")}, exitFindings},
		{&wrapper.GateError{Err: &validate.OptionsError{}}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T", tt.err), func(t *testing.T) {
			var buf bytes.Buffer
			assert.Equal(t, tt.want, exitCode(tt.err, &buf), "%v", tt.err)
		})
	}
}

// The mistakes urfave/cli finds (flags, commands) are usage errors.
func TestCLIUsageErrorsExitTwo(t *testing.T) {
	t.Setenv("CARBONGUARD_CONFIG", "")
	for _, args := range [][]string{
		{"version", "--nope"},                           // unknown flag
		{"snapshot", "create", "--compression"},         // flag without its value
		{"start", "--timeout", "soon"},                  // bad value
		{"nosuch"},                                      // unknown command
		{"snapshot", "nosuch"},                          // unknown subcommand
		{"--home", os.TempDir(), "hook", "post-update"}, // --exit-code missing
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"carbonguard"}, args...), strings.NewReader(""), &stdout, &stderr)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr.String())
		assert.True(t, strings.HasPrefix(stderr.String(), "carbonguard: error: "), "%v: %s", args, stderr.String())
	}
}

func TestHintsNameTheCommandsAndFlags(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&pack.ServerRunningError{Op: "start"}, "carbonguard restart"},
		{&pack.ServerRunningError{Op: snapshotCreateOp}, "--allow-running"},
		{&pack.ServerRunningError{Op: snapshotRestoreOp}, "stop it first (carbonguard stop)"},
		{&pack.ServerRunningError{Op: "update"}, "--stop-server"},
		{fmt.Errorf("start: %w", &wrapper.RootError{User: "root"}), "--allow-root"},
		{&wrapper.GateError{}, "--force --force-reason"},
		{&wrapper.BootError{Verdict: &wrapper.Verdict{State: wrapper.Failed, PID: 42}}, "still running (pid 42)"},
		{&archive.UnstorableError{}, "snapshot create --exclude PATH"},
		{&archive.CorruptError{Err: &archive.UnsafeEntryError{}}, "do not restore this snapshot"},
		{&hooks.PendingError{}, "run the same u2 command again"},
		{&hooks.RehearsalFailedError{Evidence: "/state/journal/tx/rehearsal"}, "the copy's verdict, boot log and console, and u2's logs are in /state/journal/tx/rehearsal"},
	} {
		assert.Contains(t, hint(tt.err), tt.want, "%T", tt.err)
	}
}

// TestCommandsDeclareTheirExitCodes: every command declares the codes it can
// return (commandExits), each a code of the table, 0, 2 and 3 among them;
// its help's EXIT STATUS lists exactly those; a narrower meaning is given
// only to a command that declares the code.
func TestCommandsDeclareTheirExitCodes(t *testing.T) {
	known := map[int]bool{}
	for _, m := range exitMeanings {
		assert.False(t, known[m.code], "exitMeanings lists %d twice", m.code)
		known[m.code] = true
		for cmd := range m.by {
			assert.Contains(t, commandExits[cmd], m.code, "exitMeanings gives %d a meaning for %s, which does not declare it", m.code, cmd)
		}
	}
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	listed := regexp.MustCompile(`(?m)^   (\d+) `)
	leaves := map[string]bool{}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" {
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			name := strings.Join(p, " ")
			_, exit, ok := strings.Cut(c.Description, "EXIT STATUS:")
			require.True(t, ok, "%s: no EXIT STATUS", name)
			var shown []int
			for _, m := range listed.FindAllStringSubmatch(exit, -1) {
				n, _ := strconv.Atoi(m[1])
				shown = append(shown, n)
			}
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			leaves[name] = true
			assert.Equal(t, commandExits[name], shown, "%s: its help's EXIT STATUS", name)
			assert.Contains(t, exit, "carbonguard --help", "%s: a pointer to the whole table", name)
		}
	}
	walk(nil, app.Commands)
	for name, codes := range commandExits {
		assert.True(t, leaves[name], "commandExits names %q, which is not a command", name)
		assert.True(t, slices.IsSorted(codes), "%s: codes in order", name)
		for _, c := range []int{exitOK, exitUsage, exitFailure} {
			assert.Contains(t, codes, c, "%s must declare %d", name, c)
		}
		for _, c := range codes {
			assert.True(t, known[c], "%s declares %d, which is not in exitMeanings", name, c)
		}
	}
	for name := range leaves {
		assert.Contains(t, commandExits, name, "%s declares no exit codes: add it to commandExits (exit.go)", name)
	}
	// carbonguard's own help has the whole table.
	for code := range known {
		assert.Regexp(t, fmt.Sprintf(`(?m)^   %d `, code), exitStatusHelp)
	}
}

// The README's table has the codes of exitMeanings, in order.
func TestReadmeExitTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	var inReadme, inTable []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| `).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		inReadme = append(inReadme, n)
	}
	for _, m := range exitMeanings {
		inTable = append(inTable, m.code)
	}
	assert.Equal(t, inTable, inReadme)
}

// exitRecord is one carbonguard run of a txtar script (recordExit).
type exitRecord struct {
	Args []string `json:"args"`
	Code int      `json:"code"`
}

// recordExit appends a run's arguments and exit code to log (the scripts'
// carbonguard, TestMain); one short write, so that parallel runs do not mix.
func recordExit(log string, args []string, code int) {
	if log == "" {
		return
	}
	b, err := json.Marshal(exitRecord{Args: args, Code: code})
	if err != nil {
		return
	}
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(b, '\n'))
}

// checkRecordedExits fails when a script saw a command exit with a code the
// command does not declare.
func checkRecordedExits(t *testing.T, log string) {
	b, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	seen := map[string]map[int]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r exitRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		path := commandPathOf(app, r.Args)
		if seen[path] == nil {
			seen[path] = map[int]bool{}
		}
		seen[path][r.Code] = true
		if path == "run" && r.Code > exitRecovered {
			continue // the server's own status
		}
		assert.Regexp(t, fmt.Sprintf(`(?m)^   %d `, r.Code), exitStatusFor(path),
			"carbonguard %s exited %d, which %q does not declare (commandExits in exit.go)", strings.Join(r.Args[1:], " "), r.Code, path)
	}
	t.Logf("exit codes seen by the scripts: %v", seen)
}

// commandPathOf is the command args run ("snapshot create"; "" for
// carbonguard itself, its help and unknown commands), skipping flags and
// their values.
func commandPathOf(app *cli.App, args []string) string {
	var path []string
	cmds := app.Commands
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && takesValue(a) { // completion.go
				i++
			}
			continue
		}
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(a) && c.Name != "help" {
				next = c
			}
		}
		if next == nil {
			break
		}
		path = append(path, next.Name)
		cmds = next.Subcommands
		if len(cmds) == 0 {
			break
		}
	}
	return strings.Join(path, " ")
}
