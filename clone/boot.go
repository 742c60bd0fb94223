package clone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/internal/netns"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// Network says where the copy may run.
type Network string

// The network choices.
const (
	// Namespace: in a network namespace of its own with only loopback;
	// refused when none can be made (not root). The default.
	Namespace Network = "namespace"
	// NamespaceOrHost: a namespace when one can be made, else the host's
	// network with a free port offset.
	NamespaceOrHost Network = "namespace-or-host"
	// Host: the host's network with a free port offset, even as root (a
	// copy whose overrides point at DR services it must reach).
	Host Network = "host"
)

// ParseNetwork reads a Network; "" is Namespace.
func ParseNetwork(s string) (Network, error) {
	switch n := Network(strings.TrimSpace(s)); n {
	case "":
		return Namespace, nil
	case Namespace, NamespaceOrHost, Host:
		return n, nil
	}
	return "", fmt.Errorf("network %q: use %q, %q or %q", s, Namespace, NamespaceOrHost, Host)
}

// Options say how to boot a copy.
type Options struct {
	// Server is how the copy is launched and judged: the operator's
	// [start] settings (Java, memory, user, properties, timeouts). Boot
	// sets what concerns the copy alone: its network, no state directory
	// (the verdict is returned, not saved), no check gate, no systemd
	// notification, no verdict callback, the product's own health
	// endpoints at the copy's ports.
	Server wrapper.Options
	// Live is the live pack the copy was made from, nil when there is none
	// on this host (a DR site). The copy never lies inside it nor it inside
	// the copy; on the host's network the copy gets none of its ports; and
	// a datasource of the copy with the live node's URL is production's.
	Live *pack.Pack
	// Overridden are the configuration keys Override set: a datasource
	// whose URL key is among them points where the overrides say.
	Overridden []string
	// Network is where the copy may run (default Namespace).
	Network Network
	// Evidence is a directory that receives the boot's evidence: the
	// console (console.log) and the log lines the boot wrote
	// (wso2carbon.log). Created when missing; "" keeps none.
	Evidence string
	// WhileUp, when set, runs once the copy's boot is up and before it is
	// stopped, with a dialer that connects where the copy runs (inside its
	// namespace): smoke tests against the copy.
	WhileUp func(ctx context.Context, r *Result, dial wrapper.DialFunc)
	Logger  zerolog.Logger

	supported func() (bool, string) // netns.Supported; tests pretend not to be root
}

// Result is what Boot did.
type Result struct {
	Home string `json:"home"`
	// Network is "namespace" or "host"; Namespace the namespace's inode
	// (ls -l /proc/<pid>/ns/net) while it existed.
	Network     string `json:"network"`
	NamespaceID uint64 `json:"namespace_id,omitempty"`
	// NoIsolation says, when the copy ran on the host's network, why and
	// what that means.
	NoIsolation string `json:"no_isolation,omitempty"`
	// Offset is the port offset the copy ran with, OffsetFrom why.
	Offset     int    `json:"offset"`
	OffsetFrom string `json:"offset_from"`
	Ports      []Port `json:"ports"`
	// Datasources are the copy's datasources as judged before the boot.
	Datasources []DatasourceUse     `json:"datasources,omitempty"`
	Verdict     *wrapper.Verdict    `json:"verdict,omitempty"`
	Stop        *wrapper.StopResult `json:"stop,omitempty"`
	// Killed are processes of the copy still alive after the stop, killed.
	Killed []int `json:"killed,omitempty"`
	// Evidence lists the files kept in Options.Evidence.
	Evidence []string `json:"evidence,omitempty"`
	// BootMS is from the launch to the verdict (what a start takes);
	// ServingMS from the launch to the health endpoints all answering (0
	// when they never did); StopMS the stop.
	BootMS    int64 `json:"boot_ms"`
	ServingMS int64 `json:"serving_ms,omitempty"`
	StopMS    int64 `json:"stop_ms"`
}

// Port is one listener of the copy.
type Port struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// DatasourceUse is one datasource of the copy and why it may be used.
type DatasourceUse struct {
	Name       string `json:"name"`
	What       string `json:"what"`
	Data       string `json:"data"` // pack.DataInPack, DataExternal, DataUnknown
	Why        string `json:"why"`
	Overridden bool   `json:"overridden,omitempty"`
}

// Up reports whether the copy booted up.
func (r *Result) Up() bool { return r != nil && r.Verdict != nil && r.Verdict.State == wrapper.Up }

// Boot boots the copy of a pack at home isolated, judges the boot, and
// stops it (see the package documentation). A boot that is not up is a
// Result with that verdict and no error.
func Boot(ctx context.Context, home string, o Options) (*Result, error) {
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	home = filepath.Clean(home)
	log := o.Logger.With().Str("copy", home).Logger()
	if err := o.checkPlace(home); err != nil {
		return nil, err
	}
	res := &Result{Home: home}
	cp, err := pack.Open(home)
	if err != nil {
		return nil, err
	}
	if res.Datasources, err = o.checkData(cp); err != nil {
		return nil, err
	}

	var ns *netns.NS
	useNS, noIso, err := o.isolation()
	if err != nil {
		return nil, err
	}
	res.NoIsolation = noIso

	so := o.Server
	so.StateDir, so.Gate, so.Force, so.Notify, so.OnVerdict, so.StatusSections = "", nil, false, nil, nil, nil
	so.Health, so.NoHealth = nil, false
	so.Stdout, so.Stderr = nil, nil
	if useNS {
		ns, err = netns.New()
		switch {
		case errors.Is(err, netns.ErrNotPermitted) && o.Network == NamespaceOrHost:
			useNS, ns = false, nil
			res.NoIsolation = err.Error() + "; the copy shares the host's network and can reach whatever this host reaches (the live node's cluster members, Traffic Manager, key manager, notification targets); only its ports differ"
		case errors.Is(err, netns.ErrNotPermitted):
			return nil, &RefusedError{NoIsolation: true, Why: "it cannot be isolated in a network namespace of its own: " + err.Error()}
		case err != nil:
			return nil, fmt.Errorf("creating the copy's network namespace: %w", err)
		}
	}
	if useNS {
		defer ns.Close()
		so.Network = ns
		res.Network = "namespace"
		if id, err := ns.Inode(); err == nil {
			res.NamespaceID = id
		}
	} else {
		res.Network = "host"
		off, err := freeOffset(cp, o.Live, so)
		if err != nil {
			return nil, err
		}
		so.Properties = maps(so.Properties)
		so.Properties["portOffset"] = strconv.Itoa(off)
		so.Args = slices.DeleteFunc(slices.Clone(so.Args), func(a string) bool {
			p, ok := pack.ParseSysProp(a, pack.ReadByCarbonMain)
			return ok && p.Key == "portOffset"
		})
		so.Network = nil
	}
	args, err := wrapper.ScriptArgs(so)
	if err != nil {
		return nil, err
	}
	p, err := pack.OpenWith(home, pack.Options{SysProps: pack.ScriptArgProps(args)})
	if err != nil {
		return nil, err
	}
	res.Offset, _ = p.Offset.Int()
	if useNS {
		res.OffsetFrom = "the pack's own: its ports are free inside the copy's network namespace"
	} else {
		res.OffsetFrom = "-DportOffset: an offset whose ports are free on this host and none of the live pack's"
	}
	for _, pt := range p.Ports {
		if pt.Enabled {
			res.Ports = append(res.Ports, Port{Name: pt.Name, Port: pt.Port})
		}
	}
	if err := checkReachable(home, so); err != nil {
		return nil, err
	}
	if o.Evidence != "" {
		if err := os.MkdirAll(o.Evidence, 0o755); err != nil {
			return nil, err
		}
		so.ConsoleLog = filepath.Join(o.Evidence, "console.log")
	}
	srv, err := wrapper.New(p, so)
	if err != nil {
		return nil, err
	}

	log.Info().Str("network", res.Network).Int("offset", res.Offset).Msg("booting the copy")
	v, err := srv.Start(ctx)
	var be *wrapper.BootError
	if err != nil && !errors.As(err, &be) {
		res.Killed = killLeftovers(home, res.NamespaceID)
		return nil, fmt.Errorf("starting the copy: %w", err)
	}
	if v != nil {
		v.Command = "clone"
		res.Verdict = v
		res.BootMS = v.Timings.BootMS
		if v.Timings.HealthOK != nil {
			res.ServingMS = v.Timings.HealthOK.Sub(v.Timings.Launched).Milliseconds()
		}
	}
	if o.Evidence != "" {
		res.Evidence = append(res.Evidence, "console.log")
		if v != nil {
			if err := keepBootLog(v, filepath.Join(o.Evidence, "wso2carbon.log")); err != nil {
				log.Warn().Err(err).Msg("keeping the copy's boot log")
			} else {
				res.Evidence = append(res.Evidence, "wso2carbon.log")
			}
		}
	}

	if o.WhileUp != nil && res.Up() {
		dial := wrapper.DialFunc((&net.Dialer{}).DialContext)
		if ns != nil {
			dial = ns.DialContext
		}
		o.WhileUp(ctx, res, dial)
	}

	// Stop whatever the verdict: a drill never leaves the copy running.
	stopCtx := context.WithoutCancel(ctx)
	t0 := time.Now()
	sr, serr := srv.Stop(stopCtx)
	res.Stop = sr
	res.Killed = killLeftovers(home, res.NamespaceID)
	res.StopMS = time.Since(t0).Milliseconds()
	if serr != nil {
		log.Warn().Err(serr).Msg("stopping the copy")
	}
	if len(res.Killed) > 0 {
		log.Warn().Ints("pids", res.Killed).Msg("killed processes of the copy left after its stop")
	}
	return res, nil
}

// Admit applies Boot's refusals to a pack without booting anything: its
// datasources (with OverrideKeys of the overrides when they are not merged
// in yet) and whether a copy can be isolated. Boot applies them to the
// copy itself; a caller runs Admit on the live pack first, to refuse
// before it lays a copy down.
func Admit(p *pack.Pack, o Options) ([]DatasourceUse, error) {
	o.Live = nil // p may be the live pack: an overridden URL is not known until merged
	uses, err := o.checkData(p)
	if err != nil {
		return uses, err
	}
	_, _, err = o.isolation()
	return uses, err
}

// isolation decides whether the copy runs in a namespace; noIso says why
// not and what that means.
func (o *Options) isolation() (useNS bool, noIso string, err error) {
	if o.Network == Host {
		noIso = "the host's network was asked for"
	} else {
		supported := o.supported
		if supported == nil {
			supported = netns.Supported
		}
		ok, why := supported()
		if ok {
			return true, "", nil
		}
		if o.Network != NamespaceOrHost {
			return false, "", &RefusedError{NoIsolation: true, Why: "it cannot be isolated in a network namespace of its own: " + why +
				"; on the host's network it could reach whatever the live node reaches (cluster members, Traffic Manager, key manager, databases, notification targets)"}
		}
		noIso = why
	}
	return false, noIso + "; the copy shares the host's network and can reach whatever this host reaches (the live node's cluster members, Traffic Manager, key manager, notification targets); only its ports differ", nil
}

// Cleanup kills what is left of a copy whose booting process died: every
// process running from the copy's directory (its working directory or
// executable there, or one of its bin/ scripts on the command line; the
// stock scripts run the JVM from the product home). A namespace is not
// looked up by its number here: once its holder is gone the kernel may
// give the number to another one. It returns their PIDs.
func Cleanup(home string) []int { return killLeftovers(home, 0) }

// checkPlace refuses a copy that is the live pack, lies inside it, or
// holds it.
func (o *Options) checkPlace(home string) error {
	if o.Live == nil {
		return nil
	}
	live := filepath.Clean(o.Live.Home)
	if r, err := filepath.EvalSymlinks(live); err == nil {
		live = r
	}
	real := home
	if r, err := filepath.EvalSymlinks(home); err == nil {
		real = r
	}
	switch {
	case real == live:
		return &RefusedError{Why: "the copy " + home + " is the live pack"}
	case under(real, live):
		return &RefusedError{Why: "the copy " + home + " lies inside the live pack " + live}
	case under(live, real):
		return &RefusedError{Why: "the live pack " + live + " lies inside the copy " + home}
	}
	return nil
}

func under(p, dir string) bool {
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}

// checkData refuses a copy that would use the live node's data: a
// datasource not embedded in the copy, unless an override points it
// elsewhere than the live node's URL.
func (o *Options) checkData(cp *pack.Pack) ([]DatasourceUse, error) {
	dss, err := cp.Datasources()
	if err != nil {
		return nil, err
	}
	over := map[string]bool{}
	for _, k := range o.Overridden {
		over[k] = true
	}
	live := map[string]pack.Datasource{}
	if o.Live != nil {
		if lds, err := o.Live.Datasources(); err == nil {
			for _, d := range lds {
				live[d.Name] = d
			}
		}
	}
	var uses []DatasourceUse
	var bad []pack.Datasource
	for _, d := range dss {
		u := DatasourceUse{Name: d.Name, What: d.What, Data: d.Data, Why: d.Why}
		if d.Data != pack.DataInPack {
			u.Overridden = d.Key != "" && over[d.Key]
			if l, ok := live[d.Name]; u.Overridden && ok && strings.TrimSpace(l.URL.String()) == strings.TrimSpace(d.URL.String()) {
				u.Overridden = false
				d.Why += ", and the override gives the live node's own URL"
			}
			if !u.Overridden {
				bad = append(bad, d)
			}
		}
		uses = append(uses, u)
	}
	if len(bad) > 0 {
		return uses, &RefusedError{Why: "its databases are production's (the copy would connect to what the live node uses)", Datasources: bad}
	}
	return uses, nil
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// keepBootLog copies the log lines the boot wrote (from the size the log
// had at the launch; the whole file after a rotation), at most the last
// 8 MiB.
func keepBootLog(v *wrapper.Verdict, dst string) error {
	f, err := os.Open(v.Log.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	from := v.Log.StartSize
	if v.Log.Rotations > 0 || from > st.Size() {
		from = 0
	}
	const limit = 8 << 20
	if st.Size()-from > limit {
		from = st.Size() - limit
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return err
	}
	return durable.WriteFile(dst, data, 0o644)
}
