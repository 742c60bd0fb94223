package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
}

type updateConfig struct {
	U2            string `toml:"u2"`              // path of the update tool; default <home>/bin/wso2update_linux
	U2Backup      *bool  `toml:"u2_backup"`       // let u2 take its own backup too (default false: --no-backup)
	SelfUpdateMax int    `toml:"self_update_max"` // re-runs after exit code 2; default 3
	KeepData      bool   `toml:"keep_data"`       // rollback keeps the live databases, Solr index and logs
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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("reading config %s: %w", path, err)}
	}
	var cfg fileConfig
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, usagef("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, usagef("%s: %v", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, usagef("%s: unknown key(s) %s: see the README's carbonguard.toml reference", path, strings.Join(keys, ", "))
	}
	cfg.path = path
	return &cfg, nil
}
