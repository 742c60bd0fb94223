package validate

import (
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/pack"
)

// WriteJSON writes the report as indented JSON (schema_version SchemaVersion).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Mask is what a secret is replaced with in reports.
const Mask = "********"

var secretKey = regexp.MustCompile(`(?i)(password|passwd|passphrase|secret|token|credential|private[_.-]?key|keypass|storepass|keystorepass|truststorepass)`)

// IsSecretKey reports whether a key or property name holds a secret.
func IsSecretKey(key string) bool { return secretKey.MatchString(key) }

// MaskSecret returns value, or Mask when key names a secret and the value is
// a literal (a $secret{}/$env{} reference is not itself a secret).
func MaskSecret(key, value string) string { return maskIfSecret(key, value) }

func maskIfSecret(key, value string) string {
	if value == "" || value == Mask || !IsSecretKey(key) || isReference(value) {
		return value
	}
	return Mask
}

func isReference(v string) bool {
	v = strings.TrimSpace(v)
	for _, p := range []string{"$secret{", "$env{", "$sys{", "{{"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// secretArg masks -Dkey=value and key=value pairs whose key is secret, in a
// command-line string such as JAVA_OPTS.
var secretArg = regexp.MustCompile(`(?i)((?:-D)?[A-Za-z0-9_.\-]*(?:password|passwd|secret|token|credential|keypass|storepass)[A-Za-z0-9_.\-]*=)(\S+)`)

// MaskArgs masks secret values inside a command line.
func MaskArgs(s string) string { return secretArg.ReplaceAllString(s, "${1}"+Mask) }

// maskURL hides the password of a URL with user info (http_proxy).
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return MaskArgs(s)
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(u.String(), "xxxxx", Mask, 1)
	}
	return s
}

// FactsView is the facts of one pack as written into the JSON report, with
// secrets masked.
type FactsView struct {
	Home      string        `json:"home"`
	Pack      *pack.Pack    `json:"pack"`
	Others    []string      `json:"others,omitempty"`
	Host      HostView      `json:"host"`
	Start     StartView     `json:"start"`
	Snapshots SnapshotsView `json:"snapshots"`
	Now       time.Time     `json:"now"`
}

// HostView is Host for the JSON report.
type HostView struct {
	Hostname       string              `json:"hostname,omitempty"`
	ResolvedAddrs  map[string][]string `json:"resolved_addrs,omitempty"`
	CPUCores       int                 `json:"cpu_cores"`
	MemTotalBytes  uint64              `json:"mem_total_bytes"`
	SwapTotalBytes uint64              `json:"swap_total_bytes"`
	DiskFreeBytes  uint64              `json:"disk_free_bytes"`
	OpenFilesSoft  uint64              `json:"open_files_soft"`
	OpenFilesHard  uint64              `json:"open_files_hard"`
	OS             OSReleaseView       `json:"os"`
	UID            int                 `json:"uid"`
	User           string              `json:"user,omitempty"`
	Env            map[string]string   `json:"env,omitempty"`
	Java           JavaView            `json:"java"`
	Listening      []ListenView        `json:"listening,omitempty"`
	Mounts         []MountView         `json:"mounts,omitempty"`
	RealPaths      []RealPathView      `json:"real_paths,omitempty"`
	ServerRunning  bool                `json:"server_running"`
	Errors         map[string]string   `json:"errors,omitempty"`
}

// OSReleaseView is OSRelease for the JSON report.
type OSReleaseView struct {
	ID        string `json:"id,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	Pretty    string `json:"pretty_name,omitempty"`
}

// JavaView is JavaRuntime for the JSON report.
type JavaView struct {
	Home       string `json:"home,omitempty"`
	Version    string `json:"version,omitempty"`
	Major      int    `json:"major,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	VersionErr string `json:"version_error,omitempty"`
}

// ListenView is a listening socket.
type ListenView struct {
	Addr string `json:"addr"`
	Port int    `json:"port"`
}

// MountView is a mount.
type MountView struct {
	Device string `json:"device"`
	Dir    string `json:"dir"`
	FSType string `json:"fstype"`
}

// RealPathView is a resolved path.
type RealPathView struct {
	Path      string     `json:"path"`
	Real      string     `json:"real,omitempty"`
	IsSymlink bool       `json:"is_symlink,omitempty"`
	Mount     *MountView `json:"mount,omitempty"`
	Err       string     `json:"error,omitempty"`
}

// StartView is StartFacts for the JSON report.
type StartView struct {
	ScriptArgs []string `json:"script_args,omitempty"`
	UserArgs   []string `json:"user_args,omitempty"`
	JavaOpts   string   `json:"java_opts,omitempty"`
	JVMMemOpts string   `json:"jvm_mem_opts,omitempty"`
	JavaHome   string   `json:"java_home,omitempty"`
	RunAsUser  string   `json:"run_as_user,omitempty"`
	RunAsUID   int      `json:"run_as_uid"`
}

// SnapshotsView is SnapshotFacts for the JSON report.
type SnapshotsView struct {
	StoreExists      bool       `json:"store_exists"`
	Count            int        `json:"count"`
	NewestVerified   *time.Time `json:"newest_verified,omitempty"`
	NewestVerifiedID string     `json:"newest_verified_id,omitempty"`
	RPO              string     `json:"rpo,omitempty"`
	ReadError        string     `json:"read_error,omitempty"`
	// The restore drills.
	LastDrillPassed   *time.Time `json:"last_drill_passed,omitempty"`
	LastDrillPassedID string     `json:"last_drill_passed_id,omitempty"`
	LastDrillLevel    string     `json:"last_drill_level,omitempty"`
	LastDrill         string     `json:"last_drill,omitempty"`
	DrillMaxAge       string     `json:"drill_max_age,omitempty"`
	DrillReadError    string     `json:"drill_read_error,omitempty"`
}

func viewFacts(f *Facts) FactsView {
	v := FactsView{Home: f.Pack.Home, Now: f.Now}
	pc := *f.Pack
	if len(pc.SysProps) > 0 {
		pc.SysProps = map[string]string{}
		for k, val := range f.Pack.SysProps {
			pc.SysProps[k] = maskIfSecret(k, val)
		}
	}
	v.Pack = &pc
	for _, o := range f.Others {
		v.Others = append(v.Others, o.Home)
	}
	h := f.Host
	v.Host = HostView{
		Hostname: h.Hostname, ResolvedAddrs: h.ResolvedAddrs, CPUCores: h.CPUCores,
		MemTotalBytes: h.MemTotalBytes, SwapTotalBytes: h.SwapTotalBytes, DiskFreeBytes: h.DiskFreeBytes,
		OpenFilesSoft: h.OpenFilesSoft, OpenFilesHard: h.OpenFilesHard,
		OS:  OSReleaseView{ID: h.OS.ID, VersionID: h.OS.VersionID, Pretty: h.OS.Pretty},
		UID: h.UID, User: h.User,
		Java:          JavaView{Home: h.Java.Home, Version: h.Java.Version, Major: h.Java.Major, Vendor: h.Java.Vendor, VersionErr: h.Java.VersionErr},
		ServerRunning: h.ServerRunning, Errors: h.Errors,
	}
	if len(h.Env) > 0 {
		v.Host.Env = map[string]string{}
		for k, val := range h.Env {
			switch {
			case strings.Contains(strings.ToLower(k), "proxy"):
				v.Host.Env[k] = maskURL(val)
			case IsSecretKey(k):
				v.Host.Env[k] = Mask
			default:
				v.Host.Env[k] = MaskArgs(val)
			}
		}
	}
	for _, l := range h.Listening {
		v.Host.Listening = append(v.Host.Listening, ListenView(l))
	}
	for _, m := range h.Mounts {
		v.Host.Mounts = append(v.Host.Mounts, MountView(m))
	}
	paths := make([]string, 0, len(h.RealPaths))
	for p := range h.RealPaths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rp := h.RealPaths[p]
		rv := RealPathView{Path: rp.Path, Real: rp.Real, IsSymlink: rp.IsSymlink, Err: rp.Err}
		if rv.Path == "" {
			rv.Path = p
		}
		if rp.Mount != nil {
			mv := MountView(*rp.Mount)
			rv.Mount = &mv
		}
		v.Host.RealPaths = append(v.Host.RealPaths, rv)
	}
	s := f.Start
	v.Start = StartView{JavaOpts: MaskArgs(s.JavaOpts), JVMMemOpts: s.JVMMemOpts, JavaHome: s.JavaHome, RunAsUser: s.RunAsUser, RunAsUID: s.RunAsUID}
	for _, a := range s.ScriptArgs {
		v.Start.ScriptArgs = append(v.Start.ScriptArgs, MaskArgs(a))
	}
	for _, a := range s.UserArgs {
		v.Start.UserArgs = append(v.Start.UserArgs, MaskArgs(a))
	}
	sn := f.Snapshots
	v.Snapshots = SnapshotsView{StoreExists: sn.StoreExists, Count: sn.Count, NewestVerifiedID: sn.NewestVerifiedID, ReadError: sn.ReadError}
	if !sn.NewestVerified.IsZero() {
		t := sn.NewestVerified
		v.Snapshots.NewestVerified = &t
	}
	if sn.RPO > 0 {
		v.Snapshots.RPO = sn.RPO.String()
	}
	v.Snapshots.LastDrillPassedID, v.Snapshots.LastDrillLevel, v.Snapshots.LastDrill, v.Snapshots.DrillReadError =
		sn.LastDrillPassedID, sn.LastDrillLevel, sn.LastDrill, sn.DrillReadError
	if !sn.LastDrillPassed.IsZero() {
		t := sn.LastDrillPassed
		v.Snapshots.LastDrillPassed = &t
	}
	if sn.DrillMaxAge > 0 {
		v.Snapshots.DrillMaxAge = sn.DrillMaxAge.String()
	}
	return v
}
