package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Man pages are generated from the CLI definition, one per command:
// carbonguard(1) for the program and its global options, and
// carbonguard-CMD(1), carbonguard-CMD-SUB(1) for each command. They live in
// docs/man (the packages install them); TestManPages keeps them in sync:
//
//	go test -run TestManPages . -update-man

// manPage is one generated page.
type manPage struct {
	name string // "carbonguard-snapshot-create"
	text string // roff
}

// manPages renders every page of app, sorted by name.
func manPages(app *cli.App) []manPage {
	pages := []manPage{{name: app.Name, text: manApp(app)}}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			pages = append(pages, manPage{name: app.Name + "-" + strings.Join(p, "-"), text: manCommand(app, p, c)})
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
	sort.Slice(pages, func(i, j int) bool { return pages[i].name < pages[j].name })
	return pages
}

// writeManPages writes the pages into dir as NAME.1 and removes pages of
// commands that no longer exist.
func writeManPages(app *cli.App, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range manPages(app) {
		want[p.name+".1"] = true
		if err := durable.WriteFile(filepath.Join(dir, p.name+".1"), []byte(p.text), 0o644); err != nil {
			return err
		}
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if !want[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func manApp(app *cli.App) string {
	var b strings.Builder
	manHeader(&b, app.Name)
	manSection(&b, "NAME")
	fmt.Fprintf(&b, "%s \\- %s\n", roffText(app.Name), roffText(app.Usage))
	manSection(&b, "SYNOPSIS")
	fmt.Fprintf(&b, "\\fB%s\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]\n", app.Name)
	if app.Description != "" {
		manSection(&b, "DESCRIPTION")
		manVerbatim(&b, app.Description)
	}
	manCommands(&b, app.Name, nil, app.Commands)
	manFlags(&b, "GLOBAL OPTIONS", app.VisibleFlags())
	manSeeAlso(&b, app, nil, app.Commands)
	return b.String()
}

func manCommand(app *cli.App, path []string, c *cli.Command) string {
	var b strings.Builder
	name := app.Name + "-" + strings.Join(path, "-")
	manHeader(&b, name)
	manSection(&b, "NAME")
	fmt.Fprintf(&b, "%s \\- %s\n", roffText(name), roffText(c.Usage))
	manSection(&b, "SYNOPSIS")
	args := c.ArgsUsage
	if len(c.Subcommands) > 0 && args == "" {
		args = "command [arguments]"
	}
	fmt.Fprintf(&b, "\\fB%s\\fR [\\fIglobal options\\fR] \\fB%s\\fR", app.Name, roffText(strings.Join(path, " ")))
	if len(c.VisibleFlags()) > 0 {
		b.WriteString(" [\\fIoptions\\fR]")
	}
	if args != "" {
		fmt.Fprintf(&b, " \\fI%s\\fR", roffText(args))
	}
	b.WriteString("\n")
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, ".PP\nAlso: %s.\n", roffText(strings.Join(c.Aliases, ", ")))
	}
	if c.Description != "" {
		manSection(&b, "DESCRIPTION")
		manVerbatim(&b, c.Description)
	}
	manCommands(&b, app.Name, path, c.Subcommands)
	var own []cli.Flag // the global flags are carbonguard(1)'s
	for _, f := range c.VisibleFlags() {
		if cf, ok := f.(cli.CategorizableFlag); !ok || cf.GetCategory() != globalCategory {
			own = append(own, f)
		}
	}
	manFlags(&b, "OPTIONS", own)
	if len(own) < len(c.VisibleFlags()) {
		b.WriteString(".PP\nThe global options of \\fBcarbonguard\\fR(1) work before or after the command.\n")
	}
	manSeeAlso(&b, app, path, c.Subcommands)
	return b.String()
}

func manHeader(b *strings.Builder, name string) {
	fmt.Fprintf(b, ".\\\" Generated from carbonguard's command definitions; do not edit.\n")
	fmt.Fprintf(b, ".\\\" Regenerate: go test -run TestManPages . -update-man\n")
	fmt.Fprintf(b, ".TH %s 1 \"\" \"carbonguard\" \"carbonguard manual\"\n", roffText(strings.ToUpper(name)))
}

func manSection(b *strings.Builder, title string) {
	fmt.Fprintf(b, ".SH %s\n", title)
}

// manVerbatim keeps the help text's own layout (its tables and indented
// lists are laid out for a terminal already).
func manVerbatim(b *strings.Builder, text string) {
	b.WriteString(".nf\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(roffLine(line))
		b.WriteString("\n")
	}
	b.WriteString(".fi\n")
}

func manCommands(b *strings.Builder, prog string, path []string, cmds []*cli.Command) {
	var visible []*cli.Command
	for _, c := range cmds {
		if !c.Hidden && c.Name != "help" {
			visible = append(visible, c)
		}
	}
	if len(visible) == 0 {
		return
	}
	manSection(b, "COMMANDS")
	for _, c := range visible {
		p := append(append([]string{}, path...), c.Name)
		fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n%s See \\fB%s\\fR(1).\n", roffText(strings.Join(p, " ")), roffText(sentence(c.Usage)),
			roffText(prog+"-"+strings.Join(p, "-")))
	}
}

func manFlags(b *strings.Builder, title string, flags []cli.Flag) {
	if len(flags) == 0 {
		return
	}
	manSection(b, title)
	for _, f := range flags {
		var names []string
		for _, n := range f.Names() {
			if len(n) == 1 {
				names = append(names, "\\-"+n)
			} else {
				names = append(names, "\\-\\-"+roffText(n))
			}
		}
		head := "\\fB" + strings.Join(names, "\\fR, \\fB") + "\\fR"
		usage, def := "", ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			if d.TakesValue() {
				head += " \\fI" + flagPlaceholder(f) + "\\fR"
			}
			usage = d.GetUsage()
			def = strings.Trim(d.GetDefaultText(), `"`)
			if env := d.GetEnvVars(); len(env) > 0 {
				usage += " [$" + strings.Join(env, ", $") + "]"
			}
		}
		// A usage that states its own default keeps it; others get it appended once.
		if def != "" && def != "false" && def != "0s" && def != "0" && def != "[]" && !strings.Contains(usage, "default") {
			usage += " (default: " + def + ")"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", head, roffText(sentence(usage)))
	}
}

// flagPlaceholder names a flag's value: the placeholder in backquotes the
// usage gives (urfave/cli's convention), else VALUE.
func flagPlaceholder(f cli.Flag) string {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		u := d.GetUsage()
		if i := strings.IndexByte(u, '`'); i >= 0 {
			if j := strings.IndexByte(u[i+1:], '`'); j > 0 {
				return roffText(u[i+1 : i+1+j])
			}
		}
	}
	return "VALUE"
}

func manSeeAlso(b *strings.Builder, app *cli.App, path []string, subs []*cli.Command) {
	var refs []string
	if len(path) > 0 {
		parent := app.Name
		if len(path) > 1 {
			parent += "-" + strings.Join(path[:len(path)-1], "-")
		}
		refs = append(refs, "\\fB"+roffText(parent)+"\\fR(1)")
	}
	for _, c := range subs {
		if !c.Hidden && c.Name != "help" {
			p := append(append([]string{}, path...), c.Name)
			refs = append(refs, "\\fB"+roffText(app.Name+"-"+strings.Join(p, "-"))+"\\fR(1)")
		}
	}
	manSection(b, "SEE ALSO")
	refs = append(refs, "the README and docs/checks.md at https://github.com/carbonguard/carbonguard")
	b.WriteString(strings.Join(refs, ", ") + "\n")
}

// sentence ends s with a period (it keeps its case: usages start with
// values such as "zstd" and "text").
func sentence(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "`", ""))
	if s == "" {
		return s
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ")") && !strings.HasSuffix(s, "]") {
		s += "."
	}
	return s
}

// roffText escapes text for roff: backslashes, hyphens as real minus signs
// (so that options can be copied from the page), and characters beyond
// ASCII as groff's Unicode escapes.
func roffText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 127:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// roffLine escapes a line of running text; a line that starts with a
// period or an apostrophe would be a roff request.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
