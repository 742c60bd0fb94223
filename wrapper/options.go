package wrapper

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// The defaults of Options.
const (
	DefaultTimeout     = 10 * time.Minute // a cold APIM boot with a remote DB takes minutes
	DefaultStability   = 10 * time.Second
	DefaultStopTimeout = 2 * time.Minute // Carbon's graceful shutdown, then KILL
	// DefaultHostnameVerifier is the value injected for
	// -Dhttpclient.hostnameVerifier (WSO2's "Enabling Hostname Verification").
	DefaultHostnameVerifier = "Strict"
)

// The two properties that turn hostname verification on; the APIM scripts
// set them to true / AllowAll in their fixed -D list.
const (
	propDisableHostnameVerification = "org.opensaml.httpclient.https.disableHostnameVerification"
	propHostnameVerifier            = "httpclient.hostnameVerifier"
)

// Options say how to launch and judge the server. The zero value is usable:
// hostname verification on, the documented health endpoints, the default
// timeouts, no gate.
type Options struct {
	// JavaHome, JavaOpts and JVMMemOpts set JAVA_HOME, JAVA_OPTS and
	// JVM_MEM_OPTS for the script when not empty; otherwise the environment's
	// values pass through. The script puts its own fixed -D list after
	// JAVA_OPTS, so a property it sets cannot be overridden there; use
	// Properties for those.
	JavaHome   string
	JavaOpts   string
	JVMMemOpts string

	// NoHostnameVerification stops the injection of
	// -Dorg.opensaml.httpclient.https.disableHostnameVerification=false and
	// -Dhttpclient.hostnameVerifier=<HostnameVerifier>. Injection is the
	// default: the stock APIM scripts switch verification off.
	NoHostnameVerification bool
	// HostnameVerifier is Strict (default) or DefaultAndLocalhost.
	HostnameVerifier string
	// Properties become -Dkey=value script arguments, after the generated
	// ones; a key given here replaces a generated property of the same key.
	Properties map[string]string
	// Args are extra raw script arguments, last.
	Args []string
	// ProxyHost and ProxyPort become -Dhttp(s).proxyHost/-Dhttp(s).proxyPort.
	ProxyHost string
	ProxyPort int
	// Profile becomes -Dprofile=<Profile>.
	Profile string
	// Setup allows -Dsetup, which cleans the registry and recreates and
	// re-populates the databases. It is never passed unless Setup is true,
	// and a -Dsetup in Properties or Args without it is refused.
	Setup bool

	// AllowRoot lets the server run as root. Without it, a start as root is
	// refused unless RunAsUser names another user.
	AllowRoot bool
	// RunAsUser is the user the server runs as when carbonguard runs as root
	// (systemd with a root unit). Ignored when it is the current user.
	RunAsUser string

	// Timeout, Stability and StopTimeout: see Rules and Stop. Zero means
	// the default.
	Timeout     time.Duration
	Stability   time.Duration
	StopTimeout time.Duration
	// OSGiWaitLimit: see Rules. 0 means 2.
	OSGiWaitLimit int
	// Health replaces the documented endpoints (DefaultHealthChecks) when
	// not empty; NoHealth judges on the log and the process alone.
	Health   []HealthCheck
	NoHealth bool
	// Poll, ProbeInterval and ProbeTimeout: see WatchSpec.
	Poll          time.Duration
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration

	// Gate runs the production checks before a launch (wired by main to
	// validate). Nil means no gate; the verdict records that it did not run.
	Gate GateFunc
	// Force launches despite a blocking gate; ForceReason says why and
	// ForcedBy who (default: the current user, and SUDO_USER).
	Force       bool
	ForceReason string
	ForcedBy    string

	// StateDir is where verdicts are saved (<StateDir>/verdicts/); empty
	// means they are not saved.
	StateDir string
	// Logger receives progress and decisions; zero value logs nothing.
	Logger zerolog.Logger
	// Notify sends systemd notifications; nil sends none.
	Notify *Notifier
	// OnVerdict is called with each boot verdict as soon as it is known
	// (and saved): in Run that is long before Run returns, which lets the
	// update transaction commit or roll back the first boot of a foreground
	// server. It must not block.
	OnVerdict func(*Verdict)
	// Stdout and Stderr receive the server's console in Run (default:
	// discarded). Start always detaches the console: see ConsoleLog.
	Stdout, Stderr io.Writer
	// ConsoleLog is a file that receives the console of a server launched
	// by Start. Empty discards it once the boot is judged, as the stock
	// script's start does (Carbon's console repeats its whole log, so a
	// file would grow without rotation); until then its last lines are
	// kept for the verdict (see doc.go).
	ConsoleLog string
	// Environ is the environment the script starts from; nil means the
	// process's own.
	Environ []string
	// Euid is the effective user id check (tests inject one); nil means
	// os.Geteuid.
	Euid func() int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Network is where the server runs and its health endpoints are
	// probed; nil is the host's network. A drill of a copy of the pack
	// gives it a network namespace of its own (see internal/netns), so
	// that the copy cannot reach what the live node reaches.
	Network Network
	// StatusSections add sections to Status (the open update transaction,
	// for instance). Each is called once per Status.
	StatusSections []func(ctx context.Context) (StatusSection, error)
}

// Network starts the script and dials the health endpoints somewhere other
// than the host's network (see Options.Network).
type Network interface {
	// Start starts the script's command there; its descendants stay there.
	Start(cmd *exec.Cmd) error
	// DialContext connects from there.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialFunc connects a health probe.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// GateFunc runs the production checks before a launch.
type GateFunc func(ctx context.Context) (GateResult, error)

// GateResult is what the gate found.
type GateResult struct {
	// Blocked is true when findings are at or above the fail threshold.
	Blocked   bool
	Threshold string   // e.g. "high"
	Summary   string   // e.g. "2 high, 1 medium"
	Findings  []string // the blocking findings, one line each: "CG-SEC-010 high deployment.toml:42: ..."
}

// ScriptArgs are the arguments carbonguard passes to the stock script, in
// order: hostname verification, proxy, profile, setup, Properties (sorted),
// Args. They come after the script's own fixed -D list (the script hands
// them to Carbon's Main, which sets each -Dk=v as a system property), so they
// win over it. It refuses what the script would mangle or misread.
func ScriptArgs(o Options) ([]string, error) {
	type prop struct{ k, v string }
	var gen []prop
	if !o.NoHostnameVerification {
		hv := o.HostnameVerifier
		if hv == "" {
			hv = DefaultHostnameVerifier
		}
		switch hv {
		case "Strict", "DefaultAndLocalhost":
		default:
			return nil, fmt.Errorf("hostname verifier %q: use Strict or DefaultAndLocalhost (AllowAll switches verification off: set hostname_verification = false instead, if you must)", hv)
		}
		gen = append(gen, prop{propDisableHostnameVerification, "false"}, prop{propHostnameVerifier, hv})
	} else if o.HostnameVerifier != "" {
		return nil, fmt.Errorf("a hostname verifier (%s) is set but hostname verification is off", o.HostnameVerifier)
	}
	if o.ProxyHost != "" || o.ProxyPort != 0 {
		if o.ProxyHost == "" || o.ProxyPort <= 0 || o.ProxyPort > 65535 {
			return nil, fmt.Errorf("proxy %q port %d: set both a host and a port between 1 and 65535", o.ProxyHost, o.ProxyPort)
		}
		if strings.ContainsAny(o.ProxyHost, ":/ ") && net.ParseIP(o.ProxyHost) == nil {
			return nil, fmt.Errorf("proxy host %q: give a host name or address, without scheme or port", o.ProxyHost)
		}
		port := strconv.Itoa(o.ProxyPort)
		gen = append(gen, prop{"http.proxyHost", o.ProxyHost}, prop{"http.proxyPort", port},
			prop{"https.proxyHost", o.ProxyHost}, prop{"https.proxyPort", port})
	}
	if o.Profile != "" {
		gen = append(gen, prop{"profile", o.Profile})
	}
	keys := make([]string, 0, len(o.Properties))
	for k := range o.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	add := func(k, v string) error {
		if err := checkPropKey(k); err != nil {
			return err
		}
		if err := checkArgWord(v); err != nil {
			return fmt.Errorf("property %s: %w", k, err)
		}
		args = append(args, "-D"+k+"="+v)
		return nil
	}
	for _, p := range gen {
		if _, mine := o.Properties[p.k]; mine {
			continue // the operator's own value replaces the generated one
		}
		if err := add(p.k, p.v); err != nil {
			return nil, err
		}
	}
	if o.Setup {
		args = append(args, "-Dsetup")
	}
	for _, k := range keys {
		if k == "setup" && !o.Setup {
			return nil, fmt.Errorf("property setup: -Dsetup cleans the registry and recreates the databases; it is passed only when asked for explicitly (--setup)")
		}
		if k == "setup" {
			continue
		}
		if err := add(k, o.Properties[k]); err != nil {
			return nil, err
		}
	}
	for _, a := range o.Args {
		if err := checkArgWord(a); err != nil {
			return nil, fmt.Errorf("script argument %q: %w", a, err)
		}
		if isScriptCommand(a) {
			return nil, fmt.Errorf("script argument %q is a command of the stock script and would change what it does; carbonguard chooses the command itself", a)
		}
		if (a == "-Dsetup" || strings.HasPrefix(a, "-Dsetup=")) && !o.Setup {
			return nil, fmt.Errorf("script argument %s: -Dsetup cleans the registry and recreates the databases; it is passed only when asked for explicitly (--setup)", a)
		}
		args = append(args, a)
	}
	return args, nil
}

func checkPropKey(k string) error {
	if k == "" {
		return fmt.Errorf("a property with an empty name")
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("property name %q: use letters, digits, '.', '_' and '-' only", k)
		}
	}
	return nil
}

// checkArgWord refuses what the stock script would split or expand: it
// passes its arguments on as an unquoted $*, so whitespace splits a value
// into several arguments and *, ? and [ are matched against file names.
func checkArgWord(s string) error {
	if s == "" {
		return fmt.Errorf("empty value: the script drops empty arguments")
	}
	if strings.ContainsAny(s, " \t\n\r\v\f") {
		return fmt.Errorf("contains whitespace, which the stock script's unquoted $* would split into several arguments")
	}
	if strings.ContainsAny(s, "*?[") {
		return fmt.Errorf("contains *, ? or [, which the stock script's unquoted $* would expand against file names")
	}
	return nil
}

// isScriptCommand reports whether a is one of the words the stock scripts
// act on (each in the forms x, -x and --x).
func isScriptCommand(a string) bool {
	w := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	switch w {
	case "start", "stop", "restart", "version", "test", "debug", "optimize", "car":
		return true
	}
	return strings.HasPrefix(w, "env-file")
}

func (o *Options) withDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Stability <= 0 {
		o.Stability = DefaultStability
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) rules() Rules {
	return Rules{Timeout: o.Timeout, Stability: o.Stability, OSGiWaitLimit: o.OSGiWaitLimit}
}
