package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
)

// fileConfig is carbonguard.toml. Every section is optional; an absent key
// keeps the built-in default. Unknown keys are an error (a typo must not
// silently turn a safety off).
type fileConfig struct {
	Start    startConfig    `toml:"start"`
	Check    checkConfig    `toml:"check"`
	Snapshot snapshotConfig `toml:"snapshot"`
	Update   updateConfig   `toml:"update"`
	Notify   notifyConfig   `toml:"notify"`
	Remote   remoteConfig   `toml:"remote"`
	Drill    drillConfig    `toml:"drill"`

	path string // where it was read from; "" for the built-in defaults
}

type startConfig struct {
	// HostnameVerification injects -Dorg.opensaml.httpclient.https.disableHostnameVerification=false
	// and -Dhttpclient.hostnameVerifier=<HostnameVerifier> as script arguments. Default true.
	HostnameVerification *bool             `toml:"hostname_verification"`
	HostnameVerifier     string            `toml:"hostname_verifier"` // Strict (default) or DefaultAndLocalhost
	Properties           map[string]string `toml:"properties"`        // extra -Dkey=value script arguments
	Args                 []string          `toml:"args"`              // extra raw script arguments
	JavaHome             string            `toml:"java_home"`
	JavaOpts             string            `toml:"java_opts"`
	JVMMemOpts           string            `toml:"jvm_mem_opts"`
	ProxyHost            string            `toml:"proxy_host"`
	ProxyPort            int               `toml:"proxy_port"`
	Profile              string            `toml:"profile"`
	Setup                bool              `toml:"setup"` // pass the destructive -Dsetup; never by default
	Timeout              duration          `toml:"timeout"`
	Stability            duration          `toml:"stability"`
	StopTimeout          duration          `toml:"stop_timeout"`
	AllowRoot            bool              `toml:"allow_root"`
	User                 string            `toml:"user"` // run the server as this user when carbonguard runs as root
	FailOn               string            `toml:"fail_on"`
	Gate                 *bool             `toml:"gate"` // run the checks before start; default true
	Health               []healthConfig    `toml:"health"`
}

type healthConfig struct {
	URL    string `toml:"url"`
	Status int    `toml:"status"` // expected HTTP status; 0 = any 2xx
}

type checkConfig struct {
	FailOn   string            `toml:"fail_on"`
	Severity map[string]string `toml:"severity"` // check ID -> severity override
	Accept   []acceptConfig    `toml:"accept"`
	RPO      duration          `toml:"rpo"`
	Disable  []string          `toml:"disable"`
	// DrillMaxAge: CG-HOST-140 fails when no drill passed within it;
	// default 30 days.
	DrillMaxAge duration `toml:"drill_max_age"`
}

type drillConfig struct {
	// Network is where the copy boots: namespace (default: its own network
	// namespace, root only), namespace-or-host, or host.
	Network string `toml:"network"`
	// ScratchDir is where copies are laid down (<dir>/<pack>-drill-<id>);
	// default <state>/drills/<id>/pack.
	ScratchDir string `toml:"scratch_dir"`
	// Keep leaves the copy after the drill (--keep).
	Keep bool `toml:"keep"`
	// Timeout bounds the copy's boot verdict; default [start] timeout.
	Timeout duration `toml:"timeout"`
	// Overrides is a TOML fragment merged over the copy's deployment.toml
	// before it boots: [drill.overrides.database.apim_db] url = "..."
	// points the copy at the DR databases (or at H2 inside the copy).
	Overrides map[string]any `toml:"overrides"`
}

type acceptConfig struct {
	ID      string `toml:"id"`
	Key     string `toml:"key"`
	Reason  string `toml:"reason"`
	Expires string `toml:"expires"` // YYYY-MM-DD
}

type snapshotConfig struct {
	Compression string   `toml:"compression"` // zstd (default) or gzip
	Exclude     []string `toml:"exclude"`
	KeepLast    int      `toml:"keep_last"`
	KeepWithin  duration `toml:"keep_within"`
	// Databases are the external databases dumped with every pre-update
	// snapshot (and snapshot create --with-databases).
	Databases []databaseConfig `toml:"database"`
}

// databaseConfig is one [[snapshot.database]]: a datasource of the pack,
// with what overrides its connection, and the commands (argument lists)
// when the engine's defaults do not do.
type databaseConfig struct {
	Name         string   `toml:"name"`
	Host         string   `toml:"host"`
	Port         int      `toml:"port"`
	Database     string   `toml:"database"`
	User         string   `toml:"user"`
	PasswordFile string   `toml:"password_file"`
	Dump         []string `toml:"dump"`
	Restore      []string `toml:"restore"`
	Env          []string `toml:"env"`
}

// remoteConfig is [remote]: off-host copies in a restic repository.
type remoteConfig struct {
	Repository   string   `toml:"repository"`    // any restic repository string; default RESTIC_REPOSITORY
	PasswordFile string   `toml:"password_file"` // default RESTIC_PASSWORD_FILE / RESTIC_PASSWORD
	Restic       string   `toml:"restic"`        // the binary; default restic on PATH
	Options      []string `toml:"options"`       // restic -o key=value options (no secrets: they are on its command line)
	Push         string   `toml:"push"`          // "manual" (default) or "after-create": push the pre-update snapshot before u2 runs
	Required     bool     `toml:"required"`      // with push = "after-create": a failed push stops the update
}

// The values of [remote] push.
const (
	pushManual      = "manual"
	pushAfterCreate = "after-create"
)

// configured reports whether [remote] is set up at all.
func (r remoteConfig) configured() bool {
	return r.Repository != "" || r.PasswordFile != "" || r.Restic != "" || len(r.Options) > 0 || r.Push != "" || r.Required
}

type updateConfig struct {
	U2            string `toml:"u2"`              // path of the update tool; default <home>/bin/wso2update_linux
	U2Backup      *bool  `toml:"u2_backup"`       // let u2 take its own backup too (default false: --no-backup)
	SelfUpdateMax int    `toml:"self_update_max"` // re-runs after exit code 2; default 3
	KeepData      bool   `toml:"keep_data"`       // rollback keeps the live databases, Solr index and logs
	// Rehearse makes every update a rehearsal first (update --rehearse):
	// u2 on a copy that boots isolated ([drill] network and overrides)
	// while the live server runs; the live server is stopped only for an
	// update whose copy came up.
	Rehearse bool `toml:"rehearse"`
	// RehearseDir is where the rehearsal's copy and u2's HOME go
	// (<dir>/<pack>-rehearsal-<tx>); default <state>/rehearsals.
	RehearseDir string `toml:"rehearse_dir"`
}

type notifyConfig struct {
	Command string   `toml:"command"` // run with the event as JSON on stdin
	Webhook string   `toml:"webhook"` // POSTed the event as JSON
	Timeout duration `toml:"timeout"` // for each; default 10s
}

// duration reads "90s", "10m", "24h" or "7d".
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := time.ParseDuration(n + "h")
		if err != nil {
			return fmt.Errorf("invalid duration %q: use e.g. 90s, 10m, 24h or 7d", s)
		}
		d.Duration = v * 24
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use e.g. 90s, 10m, 24h or 7d", s)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	d.Duration = v
	return nil
}

func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// loadConfig finds and reads carbonguard.toml (search order in the app's
// description). home may be "" when no pack is involved.
func (e *env) loadConfig(g globals, home string) (*fileConfig, error) {
	path, explicit := g.config, true
	if path == "" {
		path = e.getenv("CARBONGUARD_CONFIG")
	}
	if path == "" {
		explicit = false
		candidates := []string{"/etc/carbonguard/carbonguard.toml"}
		if home != "" {
			candidates = append([]string{filepath.Join(home, "carbonguard.toml")}, candidates...)
		}
		for _, cand := range candidates {
			if _, err := os.Stat(cand); err == nil {
				path = cand
				break
			}
		}
	}
	if path == "" {
		return &fileConfig{}, nil
	}
	cfg, err := readConfig(path)
	if err != nil && explicit && errors.Is(err, os.ErrNotExist) {
		return nil, usagef("config file %s does not exist (named by --config or $CARBONGUARD_CONFIG)", path)
	}
	return cfg, err
}

func readConfig(path string) (*fileConfig, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("reading config %s: %w", path, err)}
	}
	src := string(data)
	sc := scanConfig(src)
	if sc.depth > maxConfigDepth {
		// The TOML parser takes tens of seconds over thousands of nested
		// tables before it would say anything: refuse first.
		return nil, usagef("%s:%d: keys, tables or arrays nest %d levels deep (carbonguard.toml's go 3 deep; more than %d is refused): see the README's carbonguard.toml reference", path, sc.depthLine, sc.depth, maxConfigDepth)
	}
	var cfg fileConfig
	md, err := toml.Decode(src, &cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, usagef("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, usagef("%s: %v", path, err)
	}
	var keys []string
	for _, k := range md.Undecoded() {
		// [drill.overrides] is a free-form fragment of deployment.toml.
		if len(k) > 2 && k[0] == "drill" && k[1] == "overrides" {
			continue
		}
		if len(keys) == 10 {
			keys = append(keys, "and more")
			break
		}
		keys = append(keys, k.String())
	}
	if len(keys) > 0 {
		return nil, usagef("%s: unknown key(s) %s: see the README's carbonguard.toml reference", path, strings.Join(keys, ", "))
	}
	cfg.path = path
	if err := cfg.check(); err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	if err := cfg.validate(md, sc.lines); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// check refuses values the sections cannot use, naming the key.
func (c *fileConfig) check() error {
	switch c.Remote.Push {
	case "", pushManual, pushAfterCreate:
	default:
		return fmt.Errorf("[remote] push = %q: use %q or %q", c.Remote.Push, pushManual, pushAfterCreate)
	}
	if c.Remote.Required && c.Remote.Push != pushAfterCreate {
		return fmt.Errorf("[remote] required = true needs push = %q (it makes a failed push after the pre-update snapshot stop the update)", pushAfterCreate)
	}
	for _, o := range c.Remote.Options {
		if !strings.Contains(o, "=") {
			return fmt.Errorf("[remote] options: %q is not key=value (e.g. \"sftp.command=ssh -i /etc/carbonguard/dr_key backup@dr -s sftp\")", o)
		}
	}
	seen := map[string]bool{}
	for i, d := range c.Snapshot.Databases {
		where := fmt.Sprintf("[[snapshot.database]] #%d", i+1)
		switch {
		case d.Name == "":
			return fmt.Errorf("%s has no name: name one of the pack's datasources (e.g. name = \"apim_db\")", where)
		case seen[d.Name]:
			return fmt.Errorf("%s: name = %q is given twice", where, d.Name)
		case d.Port < 0 || d.Port > 65535:
			return fmt.Errorf("%s (%s): port %d is not a TCP port", where, d.Name, d.Port)
		}
		seen[d.Name] = true
		for key, argv := range map[string][]string{"dump": d.Dump, "restore": d.Restore} {
			if argv != nil && (len(argv) == 0 || argv[0] == "") {
				return fmt.Errorf("%s (%s): %s is empty: give the command as an argument list, e.g. [\"pg_dump\", \"-Fc\"], or leave it out for the default", where, d.Name, key)
			}
		}
	}
	return nil
}

// dumpNames are the datasources [[snapshot.database]] dumps.
func (c *fileConfig) dumpNames() []string {
	var out []string
	for _, d := range c.Snapshot.Databases {
		out = append(out, d.Name)
	}
	return out
}

// maxConfigSize and maxConfigDepth bound what readConfig accepts: a
// carbonguard.toml is a few kilobytes, its keys 3 levels deep.
const (
	maxConfigSize  = 1 << 20
	maxConfigDepth = 16
)

// readConfigFile reads carbonguard.toml: a regular file (a FIFO is refused
// at once instead of blocking the command) of at most maxConfigSize bytes.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes: not a carbonguard.toml", maxConfigSize)
	}
	return data, nil
}
