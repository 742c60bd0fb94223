package validate

import (
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/pack"
)

// Facts is everything the checks may look at, collected once before any check
// runs. Checks read it and never touch the file system or the network.
type Facts struct {
	Pack *pack.Pack // the pack being checked
	// Others are the other homes named in the same call (--home a --home b),
	// for cross-pack checks: port conflicts, shared Solr, RAM for all instances.
	Others []*pack.Pack
	Host   Host
	// Start is what carbonguard's own wrapped start would add: the -D
	// properties it injects as script arguments, JAVA_OPTS and JVM_MEM_OPTS it
	// sets, and the user it would run the server as.
	Start StartFacts
	// Snapshots describes the snapshot store of this pack, when one exists.
	Snapshots SnapshotFacts
	// Now is the time the facts were collected (accepted-risk expiry, snapshot age).
	Now time.Time
	// PackFiles are the non-XML pack files checks read (PackTextFiles; path -> text).
	PackFiles map[string]string
	// Keystores are the configured keystores and truststore as read from
	// disk with their configured passwords (certificates only; no secret).
	Keystores []KeystoreFacts
	// Launcher says whether carbonguard, rather than the stock script,
	// starts this pack's server.
	Launcher LauncherFacts
	// DatasourceFiles are the *.xml files of repository/conf/datasources,
	// relative to repository/conf ("datasources/master-datasources.xml"),
	// sorted; checks read them through Pack.XML.
	DatasourceFiles []string
}

// StartFacts is the launch the wrapped start would make.
type StartFacts struct {
	ScriptArgs []string // -D arguments carbonguard passes after the script name (these win)
	// UserArgs are the -D arguments the operator adds on carbonguard's
	// command line (check -D k=v, start -- -Dk=v); they follow ScriptArgs,
	// so they win over them.
	UserArgs   []string
	JavaOpts   string // JAVA_OPTS as the server would see it (environment or carbonguard.toml)
	JVMMemOpts string // JVM_MEM_OPTS as the server would see it
	JavaHome   string
	RunAsUser  string // the user the server would run as; "" = the user running carbonguard
	RunAsUID   int    // -1 when unknown
}

// LauncherFacts is the evidence that carbonguard starts the server: only
// then do its start properties (hostname verification on) reach the JVM.
type LauncherFacts struct {
	Gate   bool     // the check runs as carbonguard's own start gate
	DropIn string   // bin/carbonguard-server.sh installed in the pack ("" when absent)
	Units  []string // systemd units whose ExecStart runs carbonguard for this pack
}

// Established tells whether carbonguard is shown to be the launcher, and how.
func (l LauncherFacts) Established() (string, bool) {
	switch {
	case l.Gate:
		return "this check is carbonguard's own start gate", true
	case len(l.Units) > 0:
		return "the systemd unit " + strings.Join(l.Units, ", ") + " runs carbonguard for this pack", true
	case l.DropIn != "":
		return "carbonguard's drop-in " + l.DropIn + " is installed in this pack", true
	}
	return "", false
}

// SnapshotFacts summarises the snapshot store for the backup checks.
type SnapshotFacts struct {
	StoreExists      bool
	Count            int
	NewestVerified   time.Time // zero when no snapshot was ever verified
	NewestVerifiedID string
	RPO              time.Duration // from carbonguard.toml; 0 = not configured
	ReadError        string        // the store exists but could not be read
	// Dumps names the datasources that [[snapshot.database]] dumps with
	// every pre-update snapshot.
	Dumps []string

	// The restore drills (carbonguard drill) of the pack, for CG-HOST-140.
	// LastDrillPassed is when the newest drill that passed started (zero
	// when none did), LastDrillLevel the level it reached (booted, or
	// checked for a drill without a boot); LastDrill is the newest drill
	// whatever its outcome ("<id> failed"), DrillMaxAge the age beyond which
	// a passed drill no longer counts (0: DefaultDrillMaxAge).
	LastDrillPassed   time.Time
	LastDrillPassedID string
	LastDrillLevel    string
	LastDrill         string
	DrillMaxAge       time.Duration
	DrillReadError    string
}

// DefaultDrillMaxAge is [check] drill_max_age's default.
const DefaultDrillMaxAge = 30 * 24 * time.Hour

// Host is what the host probe found. A field the probe could not read has its
// error in Errors under the field's name, and checks report Unknown for it.
type Host struct {
	Hostname       string
	ResolvedAddrs  map[string][]string // name -> addresses, for names the pack configures
	CPUCores       int
	MemTotalBytes  uint64
	SwapTotalBytes uint64
	// DiskFreeBytes is free space on the file system holding the pack.
	DiskFreeBytes uint64
	// OpenFilesSoft and OpenFilesHard are RLIMIT_NOFILE as a process that
	// carbonguard starts gets it (the server, when carbonguard starts it).
	OpenFilesSoft uint64
	OpenFilesHard uint64
	// ServiceUnit is the systemd unit that runs this pack's server, when one
	// is installed (nil otherwise): the server started through it gets the
	// unit's limits instead.
	ServiceUnit *ServiceUnit
	// InService is true when carbonguard itself runs in a systemd service
	// ($INVOCATION_ID): its limits are then that unit's already.
	InService bool
	OS        OSRelease
	UID       int // of the carbonguard process
	User      string
	Env       map[string]string // JAVA_HOME, JAVA_OPTS, http_proxy, https_proxy, ...
	Java      JavaRuntime
	Listening []ListeningPort // TCP sockets in LISTEN state on this host (/proc/net/tcp{,6})
	Mounts    []Mount         // /proc/mounts
	// RealPaths maps a path the pack names (solr/data, [indexing] location)
	// to its real path after symlinks, and whether it was a symlink.
	RealPaths map[string]RealPath
	// CarbonguardUnits are the systemd unit files that run carbonguard for
	// the pack (ExecStart names carbonguard and --home <pack>).
	CarbonguardUnits []string `json:",omitempty"`
	// ServerRunning is true when the pack's own server is running (PID file
	// and process); port-in-use checks skip its ports then.
	ServerRunning bool
	Errors        map[string]string
}

// OSRelease is /etc/os-release.
type OSRelease struct {
	ID        string // "ubuntu", "rhel", "debian", ...
	VersionID string
	Pretty    string
}

// JavaRuntime is the JDK the server would run on.
type JavaRuntime struct {
	Home       string
	Version    string // as printed, e.g. "17.0.15" or "1.8.0_151"
	Major      int    // 8, 11, 17, 21 ...
	Vendor     string // "IBM" for IBM J9, "" otherwise
	VersionErr string // why the version could not be read
	// DisabledTLS are the protocols the JDK's jdk.tls.disabledAlgorithms
	// (its java.security) refuses; meaningful when SecurityKnown.
	DisabledTLS   []string `json:",omitempty"`
	SecurityKnown bool     `json:",omitempty"`
	SecurityFile  string   `json:",omitempty"` // the java.security read
	SecurityErr   string   `json:",omitempty"` // why it could not be read
}

// ListeningPort is a socket in LISTEN state.
type ListeningPort struct {
	Addr string
	Port int
}

// Mount is one line of /proc/mounts.
type Mount struct {
	Device, Dir, FSType string
}

// RealPath is where a path really leads.
type RealPath struct {
	Path      string
	Real      string
	IsSymlink bool
	Mount     *Mount // the mount that holds Real
	Err       string
}
