package main

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Behaviours. "port-in-use" is not a behaviour: it happens on its own when a
// port is taken.
const (
	bUp            = "up"             // start after the delay and serve until SIGTERM
	bSlow          = "slow"           // like up, default delay 5s instead of 300ms
	bFailConfig    = "fail-config"    // "Error while performing configuration changes", exit 1
	bHangOSGi      = "hang-osgi"      // "Waiting for required OSGi services" every osgiInterval, never up
	bCrashAfter    = "crash-after"    // up, then a FATAL line and exit 1 after crashAfter
	bOOM           = "oom"            // up, then java.lang.OutOfMemoryError and exit 3 after crashAfter
	bIgnoreTerm    = "ignore-term"    // up; SIGTERM starts a shutdown that never finishes
	bRestartOnce   = "restart-once"   // up, then exit 121 after crashAfter, once per pack
	bStartupFailed = "startup-failed" // "<Server> startup failed." FATAL, stays alive without ports
)

var behaviours = []string{bUp, bSlow, bFailConfig, bHangOSGi, bCrashAfter, bOOM, bIgnoreTerm, bRestartOnce, bStartupFailed}

// Knob names: system property, environment variable, marker key.
type knob struct {
	prop, env, marker string
	def               time.Duration
}

var (
	knobDelay        = knob{"fake.carbon.delay", "FAKE_CARBON_DELAY", "delay", 300 * time.Millisecond}
	knobCrashAfter   = knob{"fake.carbon.crashAfter", "FAKE_CARBON_CRASH_AFTER", "crashAfter", time.Second}
	knobOSGiInterval = knob{"fake.carbon.osgiInterval", "FAKE_CARBON_OSGI_INTERVAL", "osgiInterval", time.Second}
	// knobStopDelay is how long a graceful shutdown takes after SIGTERM
	// (default none): tests that must see the process alive after a
	// stop returns use it instead of timing the stop.
	knobStopDelay = knob{"fake.carbon.stopDelay", "FAKE_CARBON_STOP_DELAY", "stopDelay", 0}
	slowDelay     = 5 * time.Second
)

type settings struct {
	Behaviour       string
	BehaviourSource string // "-Dfake.carbon.behaviour", "FAKE_CARBON_BEHAVIOUR", "jar:<path>", "default"
	Delay           time.Duration
	CrashAfter      time.Duration
	OSGiInterval    time.Duration
	StopDelay       time.Duration
}

// markerDirs are where a jar carrying META-INF/fake-carbon.properties counts:
// the components.repo the script passes, the Carbon plugin and dropin
// folders, and MI's dropins and lib.
func markerDirs(home string, props map[string]string) []string {
	dirs := []string{
		props["components.repo"],
		filepath.Join(home, "repository", "components", "plugins"),
		filepath.Join(home, "repository", "components", "dropins"),
		filepath.Join(home, "wso2", "components", "plugins"),
		filepath.Join(home, "dropins"),
		filepath.Join(home, "lib"),
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

type marker struct {
	jar   string
	props map[string]string
}

// findMarker returns the first jar (by folder order, then name) holding
// META-INF/fake-carbon.properties. A jar that is not a valid zip is skipped,
// as an OSGi framework would skip (and log) a broken bundle.
func findMarker(dirs []string) (*marker, error) {
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".jar") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(d, n)
			props, err := readJarMarker(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if props != nil {
				return &marker{jar: p, props: props}, nil
			}
		}
	}
	return nil, nil
}

func readJarMarker(path string) (map[string]string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "META-INF/fake-carbon.properties" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return parseProperties(rc)
	}
	return nil, nil
}

func parseProperties(r io.Reader) (map[string]string, error) {
	props := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, _ = strings.Cut(line, ":")
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return props, sc.Err()
}

func resolveSettings(props map[string]string, getenv func(string) string, m *marker) (settings, error) {
	s := settings{Behaviour: bUp, BehaviourSource: "default"}
	switch {
	case props["fake.carbon.behaviour"] != "":
		s.Behaviour, s.BehaviourSource = props["fake.carbon.behaviour"], "-Dfake.carbon.behaviour"
	case getenv("FAKE_CARBON_BEHAVIOUR") != "":
		s.Behaviour, s.BehaviourSource = getenv("FAKE_CARBON_BEHAVIOUR"), "FAKE_CARBON_BEHAVIOUR"
	case m != nil && m.props["behaviour"] != "":
		s.Behaviour, s.BehaviourSource = m.props["behaviour"], "jar:"+m.jar
	}
	valid := false
	for _, b := range behaviours {
		valid = valid || b == s.Behaviour
	}
	if !valid {
		return s, fmt.Errorf("unknown fake behaviour %q from %s (known: %s)",
			s.Behaviour, s.BehaviourSource, strings.Join(behaviours, ", "))
	}
	delay := knobDelay
	if s.Behaviour == bSlow {
		delay.def = slowDelay
	}
	var err error
	if s.Delay, err = delay.value(props, getenv, m); err != nil {
		return s, err
	}
	if s.CrashAfter, err = knobCrashAfter.value(props, getenv, m); err != nil {
		return s, err
	}
	if s.OSGiInterval, err = knobOSGiInterval.value(props, getenv, m); err != nil {
		return s, err
	}
	if s.StopDelay, err = knobStopDelay.value(props, getenv, m); err != nil {
		return s, err
	}
	if s.OSGiInterval <= 0 {
		s.OSGiInterval = knobOSGiInterval.def
	}
	return s, nil
}

func (k knob) value(props map[string]string, getenv func(string) string, m *marker) (time.Duration, error) {
	src, raw := k.prop, props[k.prop]
	if raw == "" {
		src, raw = k.env, getenv(k.env)
	}
	if raw == "" && m != nil {
		src, raw = m.jar+" "+k.marker, m.props[k.marker]
	}
	if raw == "" {
		return k.def, nil
	}
	d, err := parseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", src, err)
	}
	return d, nil
}

// parseDuration takes Go durations ("250ms", "2s") or a bare number of
// milliseconds, which is what people type into -D options.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 250ms or 2s)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}
