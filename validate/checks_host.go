package validate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carbonguard/carbonguard/pack"
)

// Host, runtime, clustering, metrics and snapshot checks (CG-HOST). Facts:
// wso2-config.md §3 (config-validation.xml thresholds: swap 2047 MB, ulimit
// 4096; metrics.xml; axis2.xml clustering), §4 (JAVA_HOME, the scripts' JDK
// ranges, JVM_MEM_OPTS default), checks table rows 14 and 16; WSO2's
// production deployment guidelines (2 cores, 4 for high concurrency; 4 GB
// RAM = 2 GB OS + 2 GB per instance; 10 GB disk; RHEL or Ubuntu Server LTS;
// IBM JDK 1.8 and the CSRFGuard PRNG provider IBMJCE; Metrics not for system
// monitoring in production).

func init() {
	register(
		Check{
			ID: "CG-HOST-010", Title: "Fewer than 2 CPU cores", Category: "host", Severity: Medium,
			Rationale: "WSO2's production guidelines give 2 cores as the recommended minimum (one for the operating system, one for " +
				"the JVM); with one core, garbage collection, TLS handshakes and the server's thread pools starve each other and " +
				"boot and request latency suffer.",
			Remediation: "Run the server on a host or VM with at least 2 cores (4 for high concurrency, or several instances on one host).",
			Run:         checkCPUCores,
		},
		Check{
			ID: "CG-HOST-011", Title: "Fewer than 4 CPU cores for high concurrency", Category: "host", Severity: Info,
			Rationale: "WSO2's production guidelines recommend 4 cores for high concurrency and better performance, and a 4-unit VM " +
				"for three instances on one host. They do not say what load counts as high concurrency, so this is a note.",
			Remediation: "Size the host at 4 cores or more when the node serves heavy API traffic or when several instances share it; " +
				"otherwise accept this note.",
			Run: checkCPUCoresHigh,
		},
		Check{
			ID: "CG-HOST-020", Title: "Not enough memory for the instances on this host", Category: "host", Severity: Medium,
			Rationale: "WSO2's production guidelines ask for 4 GB of RAM per host (2 GB for the JVM, 2 GB for the operating system) " +
				"and 2 GB more per additional instance (three instances: 8 GB). The homes named in the same call count as " +
				"instances on this host. The kernel reports a little less than the installed memory, so 90% of the requirement " +
				"is accepted (the guidelines do not state a tolerance).",
			Remediation: "Add memory (2 GB for the OS plus 2 GB per instance), or run fewer instances on this host.",
			Run:         checkMemory,
		},
		Check{
			ID: "CG-HOST-030", Title: "Less than 10 GB free on the pack's file system", Category: "host", Severity: Medium,
			Rationale: "WSO2's production guidelines ask for 10 GB of free disk space per instance, for logs, the Solr index, the " +
				"H2 files, temporary files and updates; a full disk stops logging and corrupts embedded databases. carbonguard's " +
				"snapshots and u2 updates need room as well.",
			Remediation: "Free space or grow the file system that holds the pack, and rotate repository/logs.",
			Run:         checkDiskFree,
		},
		Check{
			ID: "CG-HOST-040", Title: "Less than 2 GB of swap", Category: "host", Severity: Low,
			Rationale: "Carbon's own start-up validator (repository/conf/etc/config-validation.xml, no longer enforced) expected 2047 MB " +
				"of swap, so that a memory peak slows the server down rather than waking the OOM killer. Hosts that run without " +
				"swap on purpose (container platforms) should size memory with headroom instead.",
			Remediation: "Add swap (for example a 2 GB swap file), or accept this finding where swap is deliberately off and memory " +
				"has headroom above the heap.",
			Run: checkSwap,
		},
		Check{
			ID: "CG-HOST-050", Title: "Open-files limit below 4096", Category: "host", Severity: Medium,
			Rationale: "Every connection, jar and index segment is a file descriptor; Carbon's start-up validator expected an " +
				"open-files limit of at least 4096, and busy gateways fail with \"Too many open files\" below it. The limit judged " +
				"is the one the server gets: the systemd unit's LimitNOFILE (else systemd's default, soft 1024) when a unit runs " +
				"the pack, since the drop-in scripts start it there and /etc/security/limits.conf does not apply to services; " +
				"else the limits a process started by carbonguard inherits. A HotSpot JVM raises its soft limit to the hard one " +
				"at start-up (MaxFDLimit), so for it the hard limit counts.",
			Remediation: "Raise nofile for the server to 4096 or more: in its systemd unit LimitNOFILE=65535 (scripts/install.sh " +
				"writes it); without a unit, /etc/security/limits.conf: wso2carbon soft nofile 65535, hard nofile 65535.",
			Run: checkOpenFiles,
		},
		Check{
			ID: "CG-HOST-060", Title: "JAVA_HOME is not set to a usable JDK", Category: "runtime", Severity: High,
			Rationale: "The startup scripts need JAVA_HOME: without it they exit with \"You must set the JAVA_HOME variable before " +
				"running CARBON.\", and when $JAVA_HOME/bin/java is not executable with \"Error: JAVA_HOME is not defined correctly.\"",
			Remediation: "Set JAVA_HOME to the JDK the product supports (carbonguard.toml [start] java_home, the systemd unit's " +
				"Environment=, or the service user's profile).",
			Run: checkJavaHome,
		},
		Check{
			ID: "CG-HOST-070", Title: "JDK outside the range the product's script supports", Category: "runtime", Severity: High,
			Rationale: "Each startup script checks the JDK version and only prints a warning before starting anyway: JDK 1.7-1.8 for " +
				"Carbon 4.4 / APIM 2.6, 11-17 for kernel 4.8 / APIM 4.2, 21-25 for APIM 4.7. An unsupported JDK boots into " +
				"module-access errors, missing providers or subtle TLS differences. The range is read from the pack's own script " +
				"(its java_version_formatted test), else taken from the facts per product and version.",
			Remediation: "Point JAVA_HOME at a JDK inside the range the script prints (the product's supported JDK list), then start again.",
			Run:         checkJDKRange,
		},
		Check{
			ID: "CG-HOST-080", Title: "IBM JDK without the IBMJCE CSRFGuard PRNG provider", Category: "runtime", Severity: Medium,
			Rationale: "The management console's CSRF protection (OWASP CSRFGuard) creates its random tokens with " +
				"SecureRandom.getInstance(PRNG, PRNG.Provider); the provider defaults to SUN, which IBM JDK 1.8 does not have. " +
				"WSO2's production guidelines say to set org.owasp.csrfguard.PRNG.Provider to IBMJCE in " +
				"repository/conf/security/Owasp.CsrfGuard.Carbon.properties when running on IBM JDK 1.8.",
			Remediation: "Set org.owasp.csrfguard.PRNG.Provider=IBMJCE in repository/conf/security/Owasp.CsrfGuard.Carbon.properties " +
				"(or run a supported OpenJDK build).",
			Run: checkIBMCSRFGuard,
		},
		Check{
			ID: "CG-HOST-090", Title: "Heap left at the script default", Category: "runtime", Severity: Info,
			Rationale: "When JVM_MEM_OPTS is empty the startup scripts use -Xms256m -Xmx1024m, a development default. WSO2's guidelines " +
				"say heap needs vary with message sizes and concurrency; production nodes should size it explicitly for their load.",
			Remediation: "Set JVM_MEM_OPTS (or carbonguard.toml [start] jvm_mem_opts), e.g. \"-Xms2g -Xmx2g\", sized from a load test and " +
				"the host's memory.",
			Run: checkHeapDefault,
		},
		Check{
			ID: "CG-HOST-091", Title: "Heap settings the JVM or the host cannot honour", Category: "runtime", Severity: Medium,
			Rationale: "An initial heap (-Xms) above the maximum (-Xmx), or a value the JVM cannot parse, stops the JVM before Carbon " +
				"starts; a maximum heap at or above the host's physical memory leaves nothing for metaspace, threads, the OS and " +
				"the page cache and ends with the OOM killer. The last -Xms/-Xmx wins; JAVA_OPTS follows JVM_MEM_OPTS on the " +
				"scripts' command line.",
			Remediation: "Keep -Xms <= -Xmx, write sizes as <number>[k|m|g|t], and keep -Xmx well below the host's memory " +
				"(the guidelines: 2 GB for the OS besides the JVMs).",
			Run: checkHeapSanity,
		},
		Check{
			ID: "CG-HOST-100", Title: "Operating system is not RHEL or Ubuntu LTS", Category: "host", Severity: Info,
			Rationale: "WSO2's production guidelines recommend the latest releases of Red Hat Enterprise Linux or Ubuntu Server LTS; " +
				"other distributions work but are not what WSO2 tests and supports first.",
			Remediation: "Prefer RHEL or an Ubuntu Server LTS release for production hosts, or accept this note.",
			Run:         checkOSRelease,
		},
		Check{
			ID: "CG-HOST-110", Title: "Carbon Metrics is enabled", Category: "operations", Severity: Info,
			Rationale: "WSO2's production guidelines say Carbon Metrics (repository/conf/metrics.xml <Enabled>, on by default) is not " +
				"recommended for system monitoring (JVM, CPU, ...) in production; external monitoring tools should be used, and the " +
				"metrics collection costs CPU and memory.",
			Remediation: "Monitor with external tools and set <Enabled>false</Enabled> in repository/conf/metrics.xml, or accept this note.",
			Run:         checkMetrics,
		},
		Check{
			ID: "CG-HOST-120", Title: "Clustering with multicast or the default member list", Category: "operations", Severity: Medium,
			Rationale: "Clustering is on when [clustering] membership_scheme is set (Carbon 4.4: axis2.xml <clustering enable=\"true\">). " +
				"Multicast membership (the XML default) is blocked or unpredictable in cloud and most production networks, and a " +
				"well-known-address scheme left with the default member 127.0.0.1:4000 only finds itself: nodes never form a cluster " +
				"and caches diverge.",
			Remediation: "Use membership_scheme = \"wka\" with members = [\"<node1-ip>:4000\", \"<node2-ip>:4000\"] (or the kubernetes/aws " +
				"schemes) and set local_member_host; or leave clustering off when the deployment does not need it.",
			Run: checkClustering,
		},
		Check{
			ID: "CG-HOST-130", Title: "No recent verified snapshot of the pack", Category: "operations", Severity: Medium,
			Rationale: "A verified snapshot is what makes an update or a configuration change reversible. Without one, or with the " +
				"newest older than the recovery point objective configured in carbonguard.toml, a failed change loses work.",
			Remediation: "Run `carbonguard snapshot create` (updates through carbonguard take one automatically) and keep the snapshot " +
				"age within the RPO ([check] rpo in carbonguard.toml).",
			Run: checkSnapshots,
		},
		Check{
			ID: "CG-HOST-140", Title: "No recent successful restore drill", Category: "operations", Severity: Medium,
			Rationale: "A verified snapshot proves that its archive matches its manifest, not that it restores and boots, nor how long " +
				"that takes. WSO2's backup and recovery guidance asks for recovery objectives (RPO, RTO) and for restores tested " +
				"regularly. A restore drill lays a snapshot down as a copy, boots it isolated from production with the same " +
				"verdict as a start, and measures the RTO; without a recent one, the recovery is a hope.",
			Remediation: "Run `carbonguard drill` (as root, so that the copy boots in a network namespace of its own) on a schedule: " +
				"scripts/systemd/carbonguard-drill.timer or scripts/ansible/drill.yml. A pack with external databases needs " +
				"[drill.overrides] pointing the copy elsewhere, or `drill --no-boot`. The age allowed is [check] drill_max_age " +
				"(default 30d).",
			Run: checkDrills,
		},
	)
}

// PackTextFiles are the non-XML files of a pack the checks read, relative
// to the home.
var PackTextFiles = []string{csrfGuardProps}

const csrfGuardProps = "repository/conf/security/Owasp.CsrfGuard.Carbon.properties"

// ReadPackTextFiles reads PackTextFiles from the pack at home for
// Facts.PackFiles. A missing file is left out; so is one larger than 1 MiB
// (these are small property files).
func ReadPackTextFiles(home string) map[string]string {
	out := map[string]string{}
	for _, rel := range PackTextFiles {
		// Without blocking: a FIFO in the pack must not hang the check.
		f, err := os.OpenFile(filepath.Join(home, filepath.FromSlash(rel)), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
		f.Close()
		if err != nil || len(b) > 1<<20 {
			continue
		}
		out[rel] = string(b)
	}
	return out
}

const (
	gib = 1 << 30
	mib = 1 << 20
)

func hostGiB(b uint64) string { return strconv.FormatFloat(float64(b)/gib, 'f', 1, 64) + " GiB" }

// hostField returns the Unknown result for a host fact the probe could not
// read, or nil.
func hostField(f *Facts, field, what string) []Result {
	if e, bad := f.Host.Errors[field]; bad {
		return []Result{{Status: Unknown, Subject: what, Message: what + " could not be read", Reason: e}}
	}
	return nil
}

func hostInstances(f *Facts) int { return 1 + len(f.Others) }

// ---------------------------------------------------------------- HOST-010/011

func checkCPUCores(f *Facts) []Result {
	if u := hostField(f, "CPUCores", "CPU cores"); u != nil {
		return u
	}
	n := f.Host.CPUCores
	r := Result{Subject: "CPU cores", Value: strconv.Itoa(n)}
	switch {
	case n <= 0:
		r.Status, r.Message, r.Reason = Unknown, "the number of CPU cores is not known", "the probe reported none"
	case n < 2:
		r.Status, r.Message = Fail, fmt.Sprintf("the host has %d CPU core; WSO2 recommends at least 2", n)
	default:
		r.Status, r.Message = Pass, fmt.Sprintf("the host has %d CPU cores (minimum 2)", n)
	}
	return []Result{r}
}

func checkCPUCoresHigh(f *Facts) []Result {
	if u := hostField(f, "CPUCores", "CPU cores"); u != nil {
		return u
	}
	n := f.Host.CPUCores
	r := Result{Subject: "CPU cores", Value: strconv.Itoa(n)}
	inst := ""
	if k := hostInstances(f); k > 1 {
		inst = fmt.Sprintf(" (%d instances named for this host)", k)
	}
	switch {
	case n <= 0:
		r.Status, r.Message, r.Reason = Unknown, "the number of CPU cores is not known", "the probe reported none"
	case n < 4:
		r.Status, r.Message = Fail, fmt.Sprintf("the host has %d CPU cores; WSO2 recommends 4 for high concurrency%s", n, inst)
	default:
		r.Status, r.Message = Pass, fmt.Sprintf("the host has %d CPU cores (4 recommended for high concurrency)%s", n, inst)
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-020

func checkMemory(f *Facts) []Result {
	if u := hostField(f, "MemTotalBytes", "memory"); u != nil {
		return u
	}
	have := f.Host.MemTotalBytes
	k := hostInstances(f)
	need := uint64(2+2*k) * gib
	r := Result{Subject: "memory", Value: hostGiB(have)}
	switch {
	case have == 0:
		r.Status, r.Message, r.Reason = Unknown, "the host's memory is not known", "the probe reported 0 bytes"
	case float64(have) < 0.9*float64(need):
		r.Status = Fail
		r.Message = fmt.Sprintf("the host has %s of memory; %d instance(s) need %d GiB (2 GiB for the OS + 2 GiB each)", hostGiB(have), k, need/gib)
	default:
		r.Status = Pass
		r.Message = fmt.Sprintf("the host has %s of memory; %d instance(s) need %d GiB", hostGiB(have), k, need/gib)
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-030

func checkDiskFree(f *Facts) []Result {
	if u := hostField(f, "DiskFreeBytes", "free disk space"); u != nil {
		return u
	}
	const need = 10_000_000_000 // "10 GB" in the guidelines
	free := f.Host.DiskFreeBytes
	gb := strconv.FormatFloat(float64(free)/1e9, 'f', 1, 64) + " GB"
	r := Result{Subject: "free disk space", Value: gb}
	if free < need {
		r.Status, r.Message = Fail, fmt.Sprintf("%s free on the file system of %s; WSO2 asks for 10 GB", gb, f.Pack.Home)
	} else {
		r.Status, r.Message = Pass, fmt.Sprintf("%s free on the file system of %s (10 GB needed)", gb, f.Pack.Home)
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-040

func checkSwap(f *Facts) []Result {
	if u := hostField(f, "SwapTotalBytes", "swap"); u != nil {
		return u
	}
	const need = 2047 * mib // config-validation.xml
	s := f.Host.SwapTotalBytes
	r := Result{Subject: "swap", Value: fmt.Sprintf("%d MiB", s/mib)}
	if s < need {
		r.Status, r.Message = Fail, fmt.Sprintf("the host has %d MiB of swap; Carbon's validator expected 2047 MiB", s/mib)
	} else {
		r.Status, r.Message = Pass, fmt.Sprintf("the host has %d MiB of swap", s/mib)
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-050

func checkOpenFiles(f *Facts) []Result {
	if u := hostField(f, "OpenFilesSoft", "open-files limit"); u != nil {
		return u
	}
	if u := hostField(f, "ServiceUnit", "open-files limit of the systemd unit"); u != nil {
		return u
	}
	soft, hard := f.Host.OpenFilesSoft, f.Host.OpenFilesHard
	from := "as carbonguard starts the server"
	switch u := f.Host.ServiceUnit; {
	case f.Host.InService:
		from = "in this systemd service"
	case u != nil:
		// The drop-in scripts start the server through the unit whenever
		// it is installed: the unit's limits are the ones that count.
		soft, hard = u.NoFileSoft, u.NoFileHard
		from = "under " + u.Name + ", " + u.NoFileFrom
	}
	r := Result{Subject: "open-files limit (nofile)", Value: fmt.Sprintf("soft %s, hard %s", limitString(soft), limitString(hard))}
	got, how := soft, fmt.Sprintf("soft %s, hard %s", limitString(soft), limitString(hard))
	if jvmRaisesOpenFiles(f) && hard > soft {
		got, how = hard, fmt.Sprintf("the JVM raises its soft limit %s to the hard limit", limitString(soft))
	}
	switch {
	case got == 0:
		r.Status, r.Message, r.Reason = Unknown, "the open-files limit is not known", "the probe reported 0"
	case got < 4096:
		r.Status, r.Message = Fail, fmt.Sprintf("the server gets an open-files limit of %s (%s; %s); Carbon needs at least 4096", limitString(got), how, from)
	default:
		r.Status, r.Message = Pass, fmt.Sprintf("the server gets an open-files limit of %s (%s; %s)", limitString(got), how, from)
	}
	return []Result{r}
}

// jvmRaisesOpenFiles: HotSpot (OpenJDK, Temurin, Oracle) raises its soft
// RLIMIT_NOFILE to the hard limit at start-up (-XX:+MaxFDLimit, on by
// default on Linux; measured with OpenJDK 17: started with soft 1024 and
// hard 20000, the JVM runs with 20000, and with -XX:-MaxFDLimit with 1024).
// IBM's J9 is not known to, and an unknown JVM is judged by its soft limit.
func jvmRaisesOpenFiles(f *Facts) bool {
	j := f.Host.Java
	if j.Major == 0 || j.Vendor == "IBM" {
		return false
	}
	opts := f.Start.JavaOpts + " " + f.Start.JVMMemOpts + " " + strings.Join(f.Start.ScriptArgs, " ") + " " + strings.Join(f.Start.UserArgs, " ")
	return !strings.Contains(opts, "-XX:-MaxFDLimit")
}

func limitString(n uint64) string {
	if n == math.MaxUint64 {
		return "infinity"
	}
	return strconv.FormatUint(n, 10)
}

// ---------------------------------------------------------------- HOST-060

func hostJavaHome(f *Facts) string {
	if h := strings.TrimSpace(f.Start.JavaHome); h != "" {
		return h
	}
	return strings.TrimSpace(f.Host.Env["JAVA_HOME"])
}

func checkJavaHome(f *Facts) []Result {
	home := hostJavaHome(f)
	r := Result{Subject: "JAVA_HOME", Key: "JAVA_HOME", Value: home}
	if home == "" {
		r.Status = Fail
		r.Message = "JAVA_HOME is not set: the startup script exits with \"You must set the JAVA_HOME variable before running CARBON.\""
		return []Result{r}
	}
	j := f.Host.Java
	bin := filepath.Join(home, "bin", "java")
	switch {
	case j.VersionErr == "":
		r.Status, r.Message = Pass, fmt.Sprintf("JAVA_HOME=%s runs java %s", home, j.Version)
	case strings.HasPrefix(j.VersionErr, bin+":"):
		r.Status = Fail
		r.Message = fmt.Sprintf("JAVA_HOME=%s has no usable %s: the startup script exits with \"Error: JAVA_HOME is not defined correctly.\" (%s)",
			home, bin, j.VersionErr)
	default:
		r.Status, r.Message, r.Reason = Unknown, "JAVA_HOME is set, but its java could not be run", j.VersionErr
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-070

// hostScriptRangeRE matches the scripts' version test:
//
//	if [ $java_version_formatted -lt 1100 ] || [ $java_version_formatted -gt 1700 ]; then
var hostScriptRangeRE = regexp.MustCompile(`java_version_formatted"?\s+-lt\s+"?(\d{3,4})"?\s*\]\s*\|\|\s*\[\s*"?\$\{?java_version_formatted\}?"?\s+-gt\s+"?(\d{3,4})`)

// hostJDKRange is a supported range in the scripts' own unit:
// major*100+minor ("1.8" = 108, "17" = 1700), both ends included.
type hostJDKRange struct {
	lo, hi int
	text   string // for people
	from   string // where the range came from
}

// hostFactsRanges are the ranges the facts give when the script holds no
// test (wso2-config.md §4). IS 5.10, IS 7.1 and MI 4.3 are not in the facts.
var hostFactsRanges = []struct {
	product pack.Product
	prefix  string // version prefix
	r       hostJDKRange
}{
	{pack.APIM, "2.6.", hostJDKRange{107, 108, "JDK 1.7 and 1.8", "facts: APIM 2.6 wso2server.sh"}},
	{pack.APIM, "3.2.", hostJDKRange{107, 1100, "JDK 1.7, 1.8, 9, 10 and 11", "facts: APIM 3.2 wso2server.sh"}},
	{pack.APIM, "4.2.", hostJDKRange{1100, 1700, "JDK 11 to 17", "facts: APIM 4.2 api-manager.sh"}},
	{pack.APIM, "4.7.", hostJDKRange{2100, 2500, "JDK 21 to 25", "facts: APIM 4.7 scripts"}},
	{pack.Carbon, "4.4.", hostJDKRange{107, 108, "JDK 1.7 and 1.8", "facts: kernel 4.4.35 wso2server.sh"}},
	{pack.Carbon, "4.8.", hostJDKRange{1100, 1700, "JDK 11 to 17", "facts: kernel 4.8.1 wso2server.sh"}},
}

func hostFormatted(n int) string {
	if n < 900 {
		return fmt.Sprintf("1.%d", n%100)
	}
	return strconv.Itoa(n / 100)
}

// hostJDKRangeOf finds the range: the script's test first, then the facts.
func hostJDKRangeOf(p *pack.Pack) (hostJDKRange, bool) {
	if m := hostScriptRangeRE.FindStringSubmatch(p.ScriptText()); m != nil {
		lo, _ := strconv.Atoi(m[1])
		hi, _ := strconv.Atoi(m[2])
		rel := filepath.Base(p.Script)
		return hostJDKRange{lo, hi, fmt.Sprintf("JDK %s to %s", hostFormatted(lo), hostFormatted(hi)), "the test in bin/" + rel}, true
	}
	for _, fr := range hostFactsRanges {
		if p.Product == fr.product && strings.HasPrefix(p.Version+".", fr.prefix) {
			return fr.r, true
		}
	}
	return hostJDKRange{}, false
}

// hostVersionFormatted computes what the scripts compute from the version
// string: awk -F. '{printf("%02d%02d",$1,$2)}' ("17.0.15" -> 1700,
// "1.8.0_151" -> 108, "21" -> 2100).
func hostVersionFormatted(v string) (int, bool) {
	parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
	lead := func(s string) (int, bool) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, false
		}
		n, err := strconv.Atoi(s[:i])
		return n, err == nil
	}
	major, ok := lead(parts[0])
	if !ok {
		return 0, false
	}
	minor := 0
	if len(parts) > 1 {
		minor, _ = lead(parts[1])
	}
	return major*100 + minor, true
}

func checkJDKRange(f *Facts) []Result {
	p := f.Pack
	j := f.Host.Java
	r := Result{Subject: "JDK version", Value: j.Version}
	if j.VersionErr != "" || j.Version == "" {
		r.Status, r.Message, r.Reason = Unknown, "the JDK version is not known", nonEmptyOr(j.VersionErr, "the probe reported no version")
		return []Result{r}
	}
	rng, ok := hostJDKRangeOf(p)
	if !ok {
		r.Status, r.Message = Unknown, fmt.Sprintf("the supported JDK range of %s %s is not known", p.Product, p.Version)
		r.Reason = "the startup script holds no java_version_formatted test and the facts name no range for this product and version"
		return []Result{r}
	}
	v, ok := hostVersionFormatted(j.Version)
	if !ok {
		r.Status, r.Message, r.Reason = Unknown, "the JDK version cannot be compared", fmt.Sprintf("version %q is not numeric", j.Version)
		return []Result{r}
	}
	if v < rng.lo || v > rng.hi {
		r.Status = Fail
		r.Message = fmt.Sprintf("JDK %s is outside %s (%s): the script warns \"Starting WSO2 Carbon (in unsupported JDK)\" and starts anyway", j.Version, rng.text, rng.from)
	} else {
		r.Status, r.Message = Pass, fmt.Sprintf("JDK %s is within %s (%s)", j.Version, rng.text, rng.from)
	}
	return []Result{r}
}

func nonEmptyOr(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}

// ---------------------------------------------------------------- HOST-080

// hostProperty reads one key of a Java .properties text (key=value or
// key:value, # and ! comments); ok is false when the key is absent.
func hostProperty(text, key string) (value string, line int, ok bool) {
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		k, v, found := strings.Cut(t, "=")
		if c := strings.IndexByte(t, ':'); c >= 0 && (!found || c < len(k)) {
			k, v, found = t[:c], t[c+1:], true
		}
		if !found {
			continue
		}
		if strings.TrimSpace(k) == key {
			value, line, ok = strings.TrimSpace(v), i+1, true
		}
	}
	return value, line, ok
}

func checkIBMCSRFGuard(f *Facts) []Result {
	j := f.Host.Java
	if j.VersionErr != "" {
		return []Result{{Status: Unknown, Subject: "JDK vendor", Message: "the JDK is not known", Reason: j.VersionErr}}
	}
	if j.Vendor != "IBM" {
		return []Result{{Status: NotApplicable, Subject: "JDK vendor", Message: "the JDK is not IBM's: CSRFGuard's default SUN provider exists"}}
	}
	if j.Major > 8 {
		return []Result{{Status: NotApplicable, Subject: "JDK vendor", Value: j.Version,
			Message: "IBM JDK " + j.Version + " (OpenJDK class libraries): WSO2's IBMJCE note concerns IBM JDK 1.8"}}
	}
	const key = "org.owasp.csrfguard.PRNG.Provider"
	text, ok := f.PackFiles[csrfGuardProps]
	if !ok {
		reason := csrfGuardProps + " is not in the pack"
		if f.PackFiles == nil {
			reason = "the pack's property files were not collected"
		}
		return []Result{{Status: Unknown, Subject: csrfGuardProps, Message: "the CSRFGuard PRNG provider cannot be read", Reason: reason}}
	}
	v, line, set := hostProperty(text, key)
	r := Result{Subject: csrfGuardProps, Key: key, Value: v, Source: pack.SourceFile, Pos: pack.Position{File: csrfGuardProps, Line: line}}
	if !set {
		r.Value, r.Source, r.Pos.Line = "SUN", pack.SourceDefault, 0
	}
	if r.Value == "IBMJCE" {
		r.Status, r.Message = Pass, "IBM JDK "+j.Version+" with the CSRFGuard PRNG provider IBMJCE"
	} else {
		r.Status = Fail
		r.Message = fmt.Sprintf("IBM JDK %s, but %s is %s: CSRF token generation fails without the IBMJCE provider", j.Version, key, r.Value)
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-090/091

// hostScriptMemDefault is the JVM_MEM_OPTS default of the pack's script
// (facts §4: -Xms256m -Xmx1024m).
var hostScriptMemDefaultRE = regexp.MustCompile(`(?m)^\s*JVM_MEM_OPTS="(-Xm[^"$]*)"`)

func hostScriptMemDefault(p *pack.Pack) string {
	if m := hostScriptMemDefaultRE.FindStringSubmatch(p.ScriptText()); m != nil {
		return strings.TrimSpace(m[1])
	}
	return "-Xms256m -Xmx1024m"
}

// hostHeapFlag is one heap setting as the JVM would read it.
type hostHeapFlag struct {
	arg    string // as written
	from   string // JVM_MEM_OPTS, JAVA_OPTS or the script default
	bytes  uint64
	parsed bool
}

// hostParseSize reads a JVM size: digits with an optional k/K, m/M, g/G,
// t/T suffix (no suffix = bytes).
func hostParseSize(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	mult := uint64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxUint64/mult {
		return 0, false
	}
	return n * mult, true
}

// hostHeap reads the effective -Xms and -Xmx (the last occurrence wins,
// JAVA_OPTS after JVM_MEM_OPTS on the scripts' command line) and whether
// the heap was sized explicitly: JVM_MEM_OPTS set, or JAVA_OPTS giving a
// maximum (-Xmx, -XX:MaxHeapSize). -XX:MaxRAMPercentage does not count: the
// JVM ignores it when -Xmx is given, and the script's default gives one.
func hostHeap(f *Facts) (xms, xmx *hostHeapFlag, explicit bool, memOpts, memFrom string) {
	memOpts, memFrom = strings.TrimSpace(f.Start.JVMMemOpts), "JVM_MEM_OPTS"
	if memOpts == "" {
		memOpts, memFrom = hostScriptMemDefault(f.Pack), "the script's default JVM_MEM_OPTS"
	} else {
		explicit = true
	}
	scan := func(words []string, from string) (sizedMax bool) {
		for _, w := range words {
			var v string
			var target **hostHeapFlag
			switch {
			case strings.HasPrefix(w, "-Xms"):
				v, target = w[4:], &xms
			case strings.HasPrefix(w, "-Xmx"):
				v, target = w[4:], &xmx
			case strings.HasPrefix(w, "-XX:InitialHeapSize="):
				v, target = strings.TrimPrefix(w, "-XX:InitialHeapSize="), &xms
			case strings.HasPrefix(w, "-XX:MaxHeapSize="):
				v, target = strings.TrimPrefix(w, "-XX:MaxHeapSize="), &xmx
			default:
				continue
			}
			n, ok := hostParseSize(v)
			*target = &hostHeapFlag{arg: w, from: from, bytes: n, parsed: ok}
			if target == &xmx {
				sizedMax = true
			}
		}
		return sizedMax
	}
	scan(pack.SplitWords(memOpts), memFrom)
	if scan(pack.SplitWords(f.Start.JavaOpts), "JAVA_OPTS") {
		explicit = true
	}
	return xms, xmx, explicit, memOpts, memFrom
}

func checkHeapDefault(f *Facts) []Result {
	xms, xmx, explicit, memOpts, memFrom := hostHeap(f)
	r := Result{Subject: "JVM heap", Key: "JVM_MEM_OPTS", Value: memOpts}
	if !explicit {
		r.Status = Fail
		r.Message = fmt.Sprintf("JVM_MEM_OPTS is not set: the server starts with %s (%s), a development default", memOpts, memFrom)
		if strings.Contains(f.Start.JavaOpts, "-XX:MaxRAMPercentage=") {
			r.Message += "; -XX:MaxRAMPercentage in JAVA_OPTS has no effect because that default sets -Xmx"
		}
		return []Result{r}
	}
	var parts []string
	for _, h := range []*hostHeapFlag{xms, xmx} {
		if h != nil {
			parts = append(parts, h.arg+" from "+h.from)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, memOpts+" from "+memFrom)
	}
	r.Status, r.Message = Pass, "the heap is sized explicitly: "+strings.Join(parts, ", ")
	return []Result{r}
}

func checkHeapSanity(f *Facts) []Result {
	xms, xmx, _, memOpts, _ := hostHeap(f)
	var out []Result
	for _, h := range []*hostHeapFlag{xms, xmx} {
		if h != nil && !h.parsed {
			out = append(out, Result{Status: Fail, Subject: "JVM heap", Key: h.from, Value: h.arg,
				Message: fmt.Sprintf("%s (from %s) is not a size the JVM accepts: it refuses to start", h.arg, h.from)})
		}
	}
	if len(out) > 0 {
		return out
	}
	if xms != nil && xmx != nil && xms.bytes > xmx.bytes {
		out = append(out, Result{Status: Fail, Subject: "JVM heap", Key: xms.from, Value: xms.arg + " " + xmx.arg,
			Message: fmt.Sprintf("the initial heap %s (%s) is larger than the maximum %s (%s): the JVM refuses to start", xms.arg, xms.from, xmx.arg, xmx.from)})
	}
	if xmx != nil {
		if e, bad := f.Host.Errors["MemTotalBytes"]; bad || f.Host.MemTotalBytes == 0 {
			if !bad {
				e = "the probe reported 0 bytes"
			}
			out = append(out, Result{Status: Unknown, Subject: "JVM heap", Key: xmx.from, Value: xmx.arg,
				Message: "the maximum heap cannot be compared with the host's memory", Reason: e})
		} else if xmx.bytes >= f.Host.MemTotalBytes {
			out = append(out, Result{Status: Fail, Subject: "JVM heap", Key: xmx.from, Value: xmx.arg,
				Message: fmt.Sprintf("the maximum heap %s (%s) is not below the host's memory (%s)", xmx.arg, xmx.from, hostGiB(f.Host.MemTotalBytes))})
		}
	}
	if !netAny(out, Fail) && !netAny(out, Unknown) {
		msg := "the heap settings (" + memOpts + ") are consistent"
		if xmx != nil {
			msg = fmt.Sprintf("the maximum heap %s fits the host's %s", xmx.arg, hostGiB(f.Host.MemTotalBytes))
			if xms != nil {
				msg += " and is not below " + xms.arg
			}
		}
		out = append(out, Result{Status: Pass, Subject: "JVM heap", Value: memOpts, Message: msg})
	}
	return out
}

// ---------------------------------------------------------------- HOST-100

func checkOSRelease(f *Facts) []Result {
	if u := hostField(f, "OS", "operating system"); u != nil {
		return u
	}
	o := f.Host.OS
	name := nonEmptyOr(o.Pretty, strings.TrimSpace(o.ID+" "+o.VersionID))
	r := Result{Subject: "operating system", Value: name}
	id := strings.ToLower(o.ID)
	switch {
	case id == "":
		r.Status, r.Message, r.Reason = Unknown, "the operating system is not known", "/etc/os-release has no ID"
	case id == "rhel":
		r.Status, r.Message = Pass, name+" is Red Hat Enterprise Linux"
	case id == "ubuntu" && hostUbuntuLTS(o):
		r.Status, r.Message = Pass, name+" is an Ubuntu LTS release"
	case id == "ubuntu":
		r.Status, r.Message = Fail, name+" is not an Ubuntu LTS release"
	default:
		r.Status, r.Message = Fail, name+" is neither RHEL nor Ubuntu Server LTS, the distributions WSO2 recommends"
	}
	return []Result{r}
}

// hostUbuntuLTS: LTS releases are the even years' April releases (YY.04
// with YY even), and os-release says LTS in its name.
func hostUbuntuLTS(o OSRelease) bool {
	if strings.Contains(o.Pretty, "LTS") {
		return true
	}
	y, m, ok := strings.Cut(o.VersionID, ".")
	n, err := strconv.Atoi(y)
	return ok && err == nil && m == "04" && n%2 == 0
}

// ---------------------------------------------------------------- HOST-110

func checkMetrics(f *Facts) []Result {
	d, err := f.Pack.XML("metrics.xml")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return []Result{{Status: Unknown, Subject: "repository/conf/metrics.xml", Message: "whether Carbon Metrics is enabled cannot be told",
				Reason: "the pack has no repository/conf/metrics.xml"}}
		}
		return []Result{{Status: Unknown, Subject: "repository/conf/metrics.xml", Message: "metrics.xml cannot be read", Reason: err.Error()}}
	}
	e := d.Find("/Metrics/Enabled")
	if e == nil {
		return []Result{{Status: Unknown, Subject: d.File, Pos: pack.Position{File: d.File}, Message: "metrics.xml has no <Enabled>",
			Reason: "the element that switches Carbon Metrics is missing"}}
	}
	v := strings.TrimSpace(e.Text())
	r := Result{Subject: d.File, Key: d.File + ":/Metrics/Enabled", Value: v, Source: pack.SourceFile, Pos: d.Pos(e)}
	switch b, err := strconv.ParseBool(v); {
	case err != nil:
		r.Status, r.Message, r.Reason = Unknown, "metrics.xml <Enabled> is not a boolean", "<Enabled>"+v+"</Enabled>"
	case b:
		r.Status, r.Message = Fail, "Carbon Metrics is enabled; WSO2 does not recommend it for system monitoring in production"
	default:
		r.Status, r.Message = Pass, "Carbon Metrics is disabled"
	}
	return []Result{r}
}

// ---------------------------------------------------------------- HOST-120

func checkClustering(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		return hostLegacyClustering(p)
	}
	scheme := p.Value("clustering.membership_scheme")
	if !scheme.Set() {
		return []Result{{Status: Pass, Subject: "clustering", Key: scheme.Key, Message: "clustering is off ([clustering] membership_scheme is not set)"}}
	}
	if scheme.Externalised {
		return []Result{externalisedResult(scheme, "the cluster membership scheme")}
	}
	s := strings.ToLower(strings.TrimSpace(scheme.String()))
	switch s {
	case "multicast":
		r := resultAt(Fail, scheme, "cluster membership uses multicast, which cloud and most production networks block or leak")
		r.Subject = "clustering"
		return []Result{r}
	case "wka":
		members := p.Value("clustering.members")
		if members.Externalised {
			return []Result{externalisedResult(members, "the well-known members")}
		}
		return []Result{hostJudgeMembers(members.Strings(), resultAt(Pass, members, ""))}
	}
	r := resultAt(Pass, scheme, "cluster membership uses the "+s+" scheme")
	r.Subject = "clustering"
	return []Result{r}
}

// hostJudgeMembers fails a well-known-address list that is empty or names
// only this host (the default 127.0.0.1:4000).
func hostJudgeMembers(members []string, r Result) Result {
	r.Subject = "clustering"
	r.Value = strings.Join(members, ",")
	var remote []string
	for _, m := range members {
		host := strings.TrimSpace(m)
		if h, _, err := splitHostPortLoose(host); err == nil {
			host = h
		}
		if host != "" && !netLoopback(host) {
			remote = append(remote, m)
		}
	}
	switch {
	case len(members) == 0:
		r.Status, r.Message = Fail, "well-known-address clustering with no members: the node can only find itself"
	case len(remote) == 0:
		r.Status, r.Message = Fail, fmt.Sprintf("well-known-address clustering with only loopback members (%s; the product default is 127.0.0.1:4000): the node never meets the others", r.Value)
	default:
		r.Status, r.Message = Pass, "well-known-address clustering with members "+r.Value
	}
	return r
}

func splitHostPortLoose(s string) (string, string, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, "", nil
	}
	if strings.Contains(s[:i], ":") && !strings.HasPrefix(s, "[") {
		return s, "", nil // a bare IPv6 address
	}
	return strings.Trim(s[:i], "[]"), s[i+1:], nil
}

func hostLegacyClustering(p *pack.Pack) []Result {
	en := p.Value("axis2/axis2.xml:/axisconfig/clustering/@enable")
	if !en.Set() {
		return []Result{{Status: Unknown, Subject: "clustering", Message: "axis2.xml has no <clustering enable=...>",
			Reason: nonEmptyOr(en.Problem, "repository/conf/axis2/axis2.xml is missing or has no clustering element")}}
	}
	on, ok := en.Bool()
	if !ok {
		r := resultAt(Unknown, en, "the clustering switch is not a boolean")
		r.Reason = "enable=\"" + en.String() + "\""
		return []Result{r}
	}
	if !on {
		r := resultAt(Pass, en, "clustering is off (axis2.xml <clustering enable=\"false\">)")
		r.Subject = "clustering"
		return []Result{r}
	}
	scheme := p.Value("axis2/axis2.xml:/axisconfig/clustering/parameter[@name='membershipScheme']")
	s := strings.ToLower(strings.TrimSpace(scheme.String()))
	if !scheme.Set() || s == "multicast" {
		if !scheme.Set() {
			scheme = en
		}
		r := resultAt(Fail, scheme, "clustering is on with multicast membership (axis2.xml membershipScheme)")
		r.Subject = "clustering"
		return []Result{r}
	}
	if s != "wka" {
		r := resultAt(Pass, scheme, "cluster membership uses the "+s+" scheme")
		r.Subject = "clustering"
		return []Result{r}
	}
	d, err := p.XML("axis2/axis2.xml")
	if err != nil {
		return []Result{{Status: Unknown, Subject: "clustering", Message: "the well-known members cannot be read", Reason: err.Error()}}
	}
	var members []string
	for _, m := range d.FindAll("/axisconfig/clustering/members/member") {
		h, port := "", ""
		if e := m.SelectElement("hostName"); e != nil {
			h = strings.TrimSpace(e.Text())
		}
		if e := m.SelectElement("port"); e != nil {
			port = strings.TrimSpace(e.Text())
		}
		members = append(members, h+":"+port)
	}
	return []Result{hostJudgeMembers(members, resultAt(Pass, scheme, ""))}
}

// ---------------------------------------------------------------- HOST-130

func hostAge(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
}

func checkSnapshots(f *Facts) []Result {
	s := f.Snapshots
	r := Result{Subject: "snapshots"}
	if s.ReadError != "" {
		r.Status, r.Message, r.Reason = Unknown, "the snapshot store cannot be read", s.ReadError
		return []Result{r}
	}
	if !s.StoreExists || s.NewestVerified.IsZero() {
		r.Status = Fail
		switch {
		case !s.StoreExists:
			r.Message = "no snapshot store exists for this pack: there is no verified snapshot to roll back to"
		default:
			r.Message = fmt.Sprintf("the snapshot store holds %d snapshot(s), none verified: there is no verified snapshot to roll back to", s.Count)
		}
		return []Result{r}
	}
	age := f.Now.Sub(s.NewestVerified)
	if age < 0 {
		age = 0
	}
	r.Value = s.NewestVerifiedID
	if s.RPO > 0 && age > s.RPO {
		r.Status = Fail
		r.Message = fmt.Sprintf("the newest verified snapshot %s is %s old, beyond the recovery point objective of %s", s.NewestVerifiedID, hostAge(age), s.RPO)
		return []Result{r}
	}
	r.Status = Pass
	r.Message = fmt.Sprintf("the newest verified snapshot %s is %s old", s.NewestVerifiedID, hostAge(age))
	if s.RPO > 0 {
		r.Message += fmt.Sprintf(" (RPO %s)", s.RPO)
	} else {
		r.Message += " (no RPO configured in carbonguard.toml)"
	}
	return []Result{r}
}

func checkDrills(f *Facts) []Result {
	s := f.Snapshots
	r := Result{Subject: "restore drills"}
	if s.DrillReadError != "" {
		r.Status, r.Message, r.Reason = Unknown, "the drill records cannot be read", s.DrillReadError
		return []Result{r}
	}
	maxAge := s.DrillMaxAge
	if maxAge <= 0 {
		maxAge = DefaultDrillMaxAge
	}
	if s.LastDrillPassed.IsZero() {
		r.Status = Fail
		r.Message = "no restore drill has passed: no snapshot of this pack was ever proven to restore and boot, and the RTO is not known"
		if s.LastDrill != "" {
			r.Message += " (the last drill: " + s.LastDrill + ")"
		}
		return []Result{r}
	}
	age := f.Now.Sub(s.LastDrillPassed)
	if age < 0 {
		age = 0
	}
	r.Value = s.LastDrillPassedID
	what := "the last drill that passed, " + s.LastDrillPassedID + ","
	if age > maxAge {
		r.Status = Fail
		r.Message = fmt.Sprintf("%s is %s old, beyond the %s allowed ([check] drill_max_age)", what, hostAge(age), hostDays(maxAge))
		return []Result{r}
	}
	r.Status = Pass
	r.Message = fmt.Sprintf("%s is %s old (drill_max_age %s)", what, hostAge(age), hostDays(maxAge))
	if s.LastDrillLevel != "" && s.LastDrillLevel != "booted" {
		r.Message += "; it reached " + s.LastDrillLevel + " and did not boot the copy (drill --no-boot)"
	}
	if s.LastDrill != "" && s.LastDrill != s.LastDrillPassedID+" passed" {
		r.Message += "; the newest drill: " + s.LastDrill
	}
	return []Result{r}
}

func hostDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.String()
}
