package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

// hostLegacyAxis2 is the Carbon 4.4 fixture's axis2.xml with clustering
// switched on, the membership scheme set to scheme and, for wka, the member
// list replaced by members (host:port).
func hostLegacyAxis2(scheme string, members ...string) string {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "packs", "carbon-4.4", "repository", "conf", "axis2", "axis2.xml"))
	if err != nil {
		panic("validate test fixtures: " + err.Error())
	}
	s := string(b)
	i := strings.Index(s, "<clustering class=")
	j := i + strings.Index(s[i:], `enable="false"`)
	s = s[:j] + `enable="true"` + s[j+len(`enable="false"`):]
	s = strings.Replace(s, `<parameter name="membershipScheme">multicast</parameter>`, `<parameter name="membershipScheme">`+scheme+`</parameter>`, 1)
	if len(members) > 0 {
		var list strings.Builder
		for _, m := range members {
			h, p, _ := strings.Cut(m, ":")
			list.WriteString("<member><hostName>" + h + "</hostName><port>" + p + "</port></member>")
		}
		a := strings.Index(s, "<members>")
		z := strings.Index(s, "</members>")
		s = s[:a] + "<members>" + list.String() + s[z:]
	}
	return s
}

const hostCSRF = "repository/conf/security/Owasp.CsrfGuard.Carbon.properties"

func hostCSRFProps(provider string) string {
	s := "# OWASP CSRFGuard configuration of the management console\n" +
		"org.owasp.csrfguard.Enabled = true\n" +
		"org.owasp.csrfguard.PRNG=SHA1PRNG\n"
	if provider != "" {
		s += "# WSO2 - Pseudo-random number generator provider should be configured based on\n" +
			"# environment (SUN/IBMJCE)\n" +
			"org.owasp.csrfguard.PRNG.Provider=" + provider + "\n"
	}
	return s
}

func hostIBM8(h *Host) {
	h.Java = JavaRuntime{Home: "/opt/ibm/java", Version: "1.8.0_351", Major: 8, Vendor: "IBM"}
	h.Env["JAVA_HOME"] = "/opt/ibm/java"
}

// hostOthers names n more instances of the APIM pack on this host.
func hostOthers(n int) func(t *testing.T, f *Facts) {
	return func(t *testing.T, f *Facts) {
		for i := 1; i <= n; i++ {
			f.Others = append(f.Others, netOpenOther(t, "apim-4.2", map[string]string{"portOffset": strings.Repeat("1", i)}))
		}
	}
}

func init() {
	addFixtures(
		// HOST-010/011
		fixture{ID: "CG-HOST-010", Name: "four-cores", Want: Pass},
		fixture{ID: "CG-HOST-010", Name: "one-core", Want: Fail, Host: func(h *Host) { h.CPUCores = 1 }},
		fixture{ID: "CG-HOST-010", Name: "unreadable", Want: Unknown, Host: func(h *Host) { h.Errors = map[string]string{"CPUCores": "sched_getaffinity: EPERM"} }},
		fixture{ID: "CG-HOST-011", Name: "four-cores", Want: Pass},
		fixture{ID: "CG-HOST-011", Name: "two-cores", Want: Fail, Host: func(h *Host) { h.CPUCores = 2 }},

		// HOST-020
		fixture{ID: "CG-HOST-020", Name: "16-GiB", Want: Pass},
		fixture{ID: "CG-HOST-020", Name: "2-GiB", Want: Fail, Host: func(h *Host) { h.MemTotalBytes = 2 << 30 }},
		fixture{ID: "CG-HOST-020", Name: "4-GB-vm-as-reported", Want: Pass, Host: func(h *Host) { h.MemTotalBytes = 3_900_000 * 1024 }},
		fixture{ID: "CG-HOST-020", Name: "three-instances-in-6-GiB", Want: Fail, Host: func(h *Host) { h.MemTotalBytes = 6 << 30 },
			Facts: hostOthers(2)},
		fixture{ID: "CG-HOST-020", Name: "three-instances-in-8-GiB", Want: Pass, Host: func(h *Host) { h.MemTotalBytes = 8 << 30 },
			Facts: hostOthers(2)},
		fixture{ID: "CG-HOST-020", Name: "meminfo-unreadable", Want: Unknown,
			Host: func(h *Host) { h.Errors = map[string]string{"MemTotalBytes": "open /proc/meminfo: no such file"} }},

		// HOST-030/040/050
		fixture{ID: "CG-HOST-030", Name: "100-GiB", Want: Pass},
		fixture{ID: "CG-HOST-030", Name: "5-GB", Want: Fail, Host: func(h *Host) { h.DiskFreeBytes = 5_000_000_000 }},
		fixture{ID: "CG-HOST-030", Name: "statfs-failed", Want: Unknown, Host: func(h *Host) { h.Errors = map[string]string{"DiskFreeBytes": "statfs: EACCES"} }},
		fixture{ID: "CG-HOST-040", Name: "4-GiB", Want: Pass},
		fixture{ID: "CG-HOST-040", Name: "no-swap", Want: Fail, Host: func(h *Host) { h.SwapTotalBytes = 0 }},
		fixture{ID: "CG-HOST-050", Name: "65536", Want: Pass},
		fixture{ID: "CG-HOST-050", Name: "1024", Want: Fail, Host: func(h *Host) { h.OpenFilesSoft, h.OpenFilesHard = 1024, 1024 }},
		fixture{ID: "CG-HOST-050", Name: "hotspot-raises-soft-to-hard", Want: Pass, Host: func(h *Host) { h.OpenFilesSoft, h.OpenFilesHard = 1024, 65536 }},
		fixture{ID: "CG-HOST-050", Name: "ibm-j9-keeps-soft", Want: Fail, Host: func(h *Host) {
			h.OpenFilesSoft, h.OpenFilesHard = 1024, 65536
			h.Java.Vendor = "IBM"
		}},
		fixture{ID: "CG-HOST-050", Name: "maxfdlimit-off", Want: Fail, Host: func(h *Host) { h.OpenFilesSoft, h.OpenFilesHard = 1024, 65536 },
			Facts: func(t *testing.T, f *Facts) { f.Start.JavaOpts = "-Xss1m -XX:-MaxFDLimit" }},
		fixture{ID: "CG-HOST-050", Name: "unit-limit-wins-over-shell", Want: Fail, Host: func(h *Host) {
			h.ServiceUnit = &ServiceUnit{Name: "carbonguard-wso2am.service", NoFileSoft: 1024, NoFileHard: 1024,
				NoFileFrom: "LimitNOFILE= in /etc/systemd/system/carbonguard-wso2am.service:40"}
		}},
		fixture{ID: "CG-HOST-050", Name: "unit-65535-over-low-shell", Want: Pass, Host: func(h *Host) {
			h.OpenFilesSoft, h.OpenFilesHard = 1024, 1024
			h.ServiceUnit = &ServiceUnit{Name: "carbonguard-wso2am.service", NoFileSoft: 65535, NoFileHard: 65535}
		}},
		fixture{ID: "CG-HOST-050", Name: "in-the-service-its-own-limits", Want: Pass, Host: func(h *Host) {
			h.InService = true
			h.ServiceUnit = &ServiceUnit{Name: "carbonguard-wso2am.service", NoFileSoft: 1024, NoFileHard: 1024}
		}},
		fixture{ID: "CG-HOST-050", Name: "unit-unreadable", Want: Unknown, Host: func(h *Host) {
			h.Errors = map[string]string{"ServiceUnit": "carbonguard-wso2am.service:40: LimitNOFILE=lots: invalid syntax"}
		}},

		// HOST-060
		fixture{ID: "CG-HOST-060", Name: "jdk-17", Want: Pass},
		fixture{ID: "CG-HOST-060", Name: "unset", Want: Fail, Host: func(h *Host) {
			delete(h.Env, "JAVA_HOME")
			h.Java = JavaRuntime{VersionErr: "JAVA_HOME is not set"}
		}},
		fixture{ID: "CG-HOST-060", Name: "no-bin-java", Want: Fail, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/java/jdk-17", VersionErr: "/opt/java/jdk-17/bin/java: stat /opt/java/jdk-17/bin/java: no such file or directory"}
		}},
		fixture{ID: "CG-HOST-060", Name: "java-hangs", Want: Unknown, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/java/jdk-17", VersionErr: "/opt/java/jdk-17/bin/java -version did not answer within 10s"}
		}},

		// HOST-070
		fixture{ID: "CG-HOST-070", Name: "apim-4.2-jdk-17", Want: Pass},
		fixture{ID: "CG-HOST-070", Name: "apim-4.2-jdk-21", Want: Fail, Host: func(h *Host) { h.Java = JavaRuntime{Home: "/opt/jdk-21", Version: "21.0.2", Major: 21} }},
		fixture{ID: "CG-HOST-070", Name: "apim-4.2-jdk-8", Want: Fail, Host: func(h *Host) { h.Java = JavaRuntime{Home: "/opt/jdk8", Version: "1.8.0_402", Major: 8} }},
		fixture{ID: "CG-HOST-070", Name: "apim-4.7-jdk-17", Pack: "apim-4.7-gateway", Want: Fail},
		fixture{ID: "CG-HOST-070", Name: "apim-4.7-jdk-25", Pack: "apim-4.7-gateway", Want: Pass,
			Host: func(h *Host) { h.Java = JavaRuntime{Home: "/opt/jdk-25", Version: "25.0.1", Major: 25} }},
		fixture{ID: "CG-HOST-070", Name: "carbon-4.4-jdk-1.8", Pack: "carbon-4.4", Want: Pass,
			Host: func(h *Host) { h.Java = JavaRuntime{Home: "/opt/jdk8", Version: "1.8.0_151", Major: 8} }},
		fixture{ID: "CG-HOST-070", Name: "carbon-4.4-jdk-11", Pack: "carbon-4.4", Want: Fail,
			Host: func(h *Host) { h.Java = JavaRuntime{Home: "/opt/jdk-11", Version: "11.0.22", Major: 11} }},
		fixture{ID: "CG-HOST-070", Name: "apim-4.2-script-without-test-uses-facts", Want: Fail,
			Files: map[string]string{"bin/api-manager.sh": "#!/bin/sh\nexec \"$JAVA_HOME/bin/java\" $JVM_MEM_OPTS $JAVA_OPTS org.wso2.carbon.bootstrap.Bootstrap \"$@\"\n"},
			Host:  func(h *Host) { h.Java = JavaRuntime{Home: "/opt/jdk-21", Version: "21.0.2", Major: 21} }},
		fixture{ID: "CG-HOST-070", Name: "mi-script-without-test", Pack: "mi-4.3", Want: Unknown,
			Files: map[string]string{"bin/micro-integrator.sh": "#!/bin/sh\nexec \"$JAVA_HOME/bin/java\" $JAVA_OPTS org.wso2.micro.integrator.bootstrap.Bootstrap \"$@\"\n"}},
		fixture{ID: "CG-HOST-070", Name: "version-unknown", Want: Unknown, Host: func(h *Host) { h.Java = JavaRuntime{Home: "/x", VersionErr: "no version in java -version output"} }},

		// HOST-080
		fixture{ID: "CG-HOST-080", Name: "openjdk", Want: NotApplicable},
		fixture{ID: "CG-HOST-080", Name: "ibm-8-sun", Want: Fail, Host: hostIBM8,
			Facts: func(_ *testing.T, f *Facts) { f.PackFiles = map[string]string{hostCSRF: hostCSRFProps("SUN")} }},
		fixture{ID: "CG-HOST-080", Name: "ibm-8-provider-absent", Want: Fail, Host: hostIBM8,
			Facts: func(_ *testing.T, f *Facts) { f.PackFiles = map[string]string{hostCSRF: hostCSRFProps("")} }},
		fixture{ID: "CG-HOST-080", Name: "ibm-8-ibmjce-read-from-pack", Want: Pass, Host: hostIBM8,
			Files: map[string]string{hostCSRF: hostCSRFProps("IBMJCE")},
			Facts: func(_ *testing.T, f *Facts) { f.PackFiles = ReadPackTextFiles(f.Pack.Home) }},
		fixture{ID: "CG-HOST-080", Name: "ibm-8-not-collected", Want: Unknown, Host: hostIBM8},
		fixture{ID: "CG-HOST-080", Name: "ibm-semeru-17", Want: NotApplicable,
			Host: func(h *Host) { h.Java = JavaRuntime{Home: "/opt/semeru", Version: "17.0.10", Major: 17, Vendor: "IBM"} }},

		// HOST-090/091
		fixture{ID: "CG-HOST-090", Name: "script-default", Want: Fail},
		fixture{ID: "CG-HOST-090", Name: "xmx-in-java-opts", Want: Pass, Host: func(h *Host) { h.Env["JAVA_OPTS"] = "-Xms4g -Xmx4g" }},
		fixture{ID: "CG-HOST-090", Name: "jvm-mem-opts-set", Want: Pass, Host: func(h *Host) { h.Env["JVM_MEM_OPTS"] = "-Xms2g -Xmx2g" }},
		fixture{ID: "CG-HOST-090", Name: "ram-percentage-loses-to-default-xmx", Want: Fail, Host: func(h *Host) { h.Env["JAVA_OPTS"] = "-XX:MaxRAMPercentage=75.0" }},
		fixture{ID: "CG-HOST-091", Name: "script-default", Want: Pass},
		fixture{ID: "CG-HOST-091", Name: "xms-above-xmx", Want: Fail, Host: func(h *Host) { h.Env["JVM_MEM_OPTS"] = "-Xms4G -Xmx2048m" }},
		fixture{ID: "CG-HOST-091", Name: "xmx-above-ram", Want: Fail, Host: func(h *Host) { h.Env["JVM_MEM_OPTS"] = "-Xms2g -Xmx32g" }},
		fixture{ID: "CG-HOST-091", Name: "java-opts-overrides", Want: Fail, Host: func(h *Host) {
			h.Env["JVM_MEM_OPTS"] = "-Xms2g -Xmx4g"
			h.Env["JAVA_OPTS"] = "-Xmx17179869184"
		}},
		fixture{ID: "CG-HOST-091", Name: "bad-unit", Want: Fail, Host: func(h *Host) { h.Env["JVM_MEM_OPTS"] = "-Xms2gb -Xmx4gb" }},
		fixture{ID: "CG-HOST-091", Name: "units-k-and-M", Want: Pass, Host: func(h *Host) { h.Env["JVM_MEM_OPTS"] = "-Xms1048576k -Xmx4096M" }},

		// HOST-100
		fixture{ID: "CG-HOST-100", Name: "ubuntu-22.04", Want: Pass},
		fixture{ID: "CG-HOST-100", Name: "rhel-9", Want: Pass, Host: func(h *Host) {
			h.OS = OSRelease{ID: "rhel", VersionID: "9.4", Pretty: "Red Hat Enterprise Linux 9.4 (Plow)"}
		}},
		fixture{ID: "CG-HOST-100", Name: "debian-12", Want: Fail, Host: func(h *Host) {
			h.OS = OSRelease{ID: "debian", VersionID: "12", Pretty: "Debian GNU/Linux 12 (bookworm)"}
		}},
		fixture{ID: "CG-HOST-100", Name: "ubuntu-23.10", Want: Fail, Host: func(h *Host) {
			h.OS = OSRelease{ID: "ubuntu", VersionID: "23.10", Pretty: "Ubuntu 23.10"}
		}},
		fixture{ID: "CG-HOST-100", Name: "os-release-missing", Want: Unknown,
			Host: func(h *Host) { h.Errors = map[string]string{"OS": "open /etc/os-release: no such file or directory"} }},

		// HOST-110
		fixture{ID: "CG-HOST-110", Name: "no-metrics-xml", Want: Unknown},
		fixture{ID: "CG-HOST-110", Name: "stock-enabled", Want: Fail,
			Files: map[string]string{"repository/conf/metrics.xml": dataFile("metrics.xml")}},
		fixture{ID: "CG-HOST-110", Name: "disabled", Want: Pass,
			Files: map[string]string{"repository/conf/metrics.xml": strings.Replace(dataFile("metrics.xml"),
				"<Enabled>true</Enabled>\n    <!--\n        Metrics reporting", "<Enabled>false</Enabled>\n    <!--\n        Metrics reporting", 1)}},

		// HOST-120
		fixture{ID: "CG-HOST-120", Name: "stock-off", Want: Pass},
		fixture{ID: "CG-HOST-120", Name: "multicast", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[clustering]\nmembership_scheme = \"multicast\"\n"}},
		fixture{ID: "CG-HOST-120", Name: "wka-default-members", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[clustering]\nmembership_scheme = \"wka\"\n"}},
		fixture{ID: "CG-HOST-120", Name: "wka-real-members", Want: Pass,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[clustering]\nmembership_scheme = \"wka\"\n" +
				"local_member_host = \"10.0.0.10\"\nmembers = [\"10.0.0.10:4000\", \"10.0.0.11:4000\"]\n"}},
		fixture{ID: "CG-HOST-120", Name: "kubernetes", Want: Pass,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[clustering]\nmembership_scheme = \"kubernetes\"\n"}},
		fixture{ID: "CG-HOST-120", Name: "legacy-off", Pack: "carbon-4.4", Want: Pass},
		fixture{ID: "CG-HOST-120", Name: "legacy-multicast", Pack: "carbon-4.4", Want: Fail,
			Files: map[string]string{"repository/conf/axis2/axis2.xml": hostLegacyAxis2("multicast")}},
		fixture{ID: "CG-HOST-120", Name: "legacy-wka-default", Pack: "carbon-4.4", Want: Fail,
			Files: map[string]string{"repository/conf/axis2/axis2.xml": hostLegacyAxis2("wka")}},
		fixture{ID: "CG-HOST-120", Name: "legacy-wka-real", Pack: "carbon-4.4", Want: Pass,
			Files: map[string]string{"repository/conf/axis2/axis2.xml": hostLegacyAxis2("wka", "10.0.0.10:4000", "10.0.0.11:4000")}},

		// HOST-130
		fixture{ID: "CG-HOST-130", Name: "no-store", Want: Fail},
		fixture{ID: "CG-HOST-130", Name: "none-verified", Want: Fail,
			Facts: func(_ *testing.T, f *Facts) { f.Snapshots = SnapshotFacts{StoreExists: true, Count: 2} }},
		fixture{ID: "CG-HOST-130", Name: "older-than-rpo", Want: Fail, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots = SnapshotFacts{StoreExists: true, Count: 3, NewestVerified: f.Now.Add(-49 * time.Hour), NewestVerifiedID: "20250531-0900-ab12", RPO: 24 * time.Hour}
		}},
		fixture{ID: "CG-HOST-130", Name: "within-rpo", Want: Pass, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots = SnapshotFacts{StoreExists: true, Count: 3, NewestVerified: f.Now.Add(-2 * time.Hour), NewestVerifiedID: "20250602-0800-cd34", RPO: 24 * time.Hour}
		}},
		fixture{ID: "CG-HOST-130", Name: "no-rpo", Want: Pass, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots = SnapshotFacts{StoreExists: true, Count: 1, NewestVerified: f.Now.Add(-30 * 24 * time.Hour), NewestVerifiedID: "20250503-1000-ef56"}
		}},
		fixture{ID: "CG-HOST-130", Name: "store-unreadable", Want: Unknown, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots = SnapshotFacts{StoreExists: true, ReadError: "snapshots/20250601-x/manifest.json: unexpected end of JSON input"}
		}},

		// HOST-140
		fixture{ID: "CG-HOST-140", Name: "never", Want: Fail},
		fixture{ID: "CG-HOST-140", Name: "only-failed", Want: Fail, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots.LastDrill = "20250601T100000Z failed"
		}},
		fixture{ID: "CG-HOST-140", Name: "too-old", Want: Fail, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots.LastDrillPassed, f.Snapshots.LastDrillPassedID, f.Snapshots.LastDrillLevel = f.Now.Add(-31*24*time.Hour), "20250501T100000Z", "booted"
		}},
		fixture{ID: "CG-HOST-140", Name: "too-old-configured", Want: Fail, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots.LastDrillPassed, f.Snapshots.LastDrillPassedID, f.Snapshots.LastDrillLevel = f.Now.Add(-8*24*time.Hour), "20250525T100000Z", "booted"
			f.Snapshots.DrillMaxAge = 7 * 24 * time.Hour
		}},
		fixture{ID: "CG-HOST-140", Name: "recent", Want: Pass, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots.LastDrillPassed, f.Snapshots.LastDrillPassedID, f.Snapshots.LastDrillLevel = f.Now.Add(-3*24*time.Hour), "20250530T100000Z", "booted"
			f.Snapshots.LastDrill = "20250530T100000Z passed"
		}},
		fixture{ID: "CG-HOST-140", Name: "recent-no-boot", Want: Pass, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots.LastDrillPassed, f.Snapshots.LastDrillPassedID, f.Snapshots.LastDrillLevel = f.Now.Add(-time.Hour), "20250602T090000Z", "checked"
		}},
		fixture{ID: "CG-HOST-140", Name: "unreadable", Want: Unknown, Facts: func(_ *testing.T, f *Facts) {
			f.Snapshots.DrillReadError = "drills/x/drill.json: unexpected end of JSON input"
		}},
	)
}

func TestHostParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint64{
		"1024": 1024, "512k": 512 << 10, "512K": 512 << 10, "256m": 256 << 20, "256M": 256 << 20,
		"2g": 2 << 30, "2G": 2 << 30, "1t": 1 << 40, "1T": 1 << 40,
	} {
		got, ok := hostParseSize(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "g", "2gb", "-1m", "1.5g", "99999999999999999999", "18446744073709551615k"} {
		_, ok := hostParseSize(bad)
		assert.False(t, ok, bad)
	}
}

func TestHostVersionFormatted(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{
		"1.8.0_151": 108, "1.7.0_80": 107, "11.0.22": 1100, "17.0.15": 1700, "17": 1700, "21": 2100,
		"21.0.2": 2100, "25-ea": 2500, "9.0.4": 900,
	} {
		got, ok := hostVersionFormatted(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := hostVersionFormatted("openjdk")
	assert.False(t, ok)
}

// The JDK range comes from the pack's own script when it has the test.
func TestHostJDKRangeFromScripts(t *testing.T) {
	t.Parallel()
	for name, want := range map[string][2]int{
		"apim-4.2": {1100, 1700}, "apim-4.7-gateway": {2100, 2500}, "carbon-4.4": {107, 108},
		"is-5.10": {1100, 1700}, "is-7.1": {1100, 1700}, "mi-4.3": {1100, 1700},
	} {
		p, err := pack.Open(copyPack(t, name))
		require.NoError(t, err)
		r, ok := hostJDKRangeOf(p)
		require.True(t, ok, name)
		assert.Equal(t, want, [2]int{r.lo, r.hi}, name)
		assert.Contains(t, r.from, "bin/", name)
	}
}

func TestHostProperty(t *testing.T) {
	t.Parallel()
	text := "# comment\n! also a comment\norg.a = 1\norg.b:two\n  org.c=three=3\norg.a=4\n"
	v, line, ok := hostProperty(text, "org.a")
	assert.True(t, ok)
	assert.Equal(t, "4", v, "the last occurrence wins, as in java.util.Properties")
	assert.Equal(t, 6, line)
	v, _, _ = hostProperty(text, "org.b")
	assert.Equal(t, "two", v)
	v, _, _ = hostProperty(text, "org.c")
	assert.Equal(t, "three=3", v)
	_, _, ok = hostProperty(text, "org.missing")
	assert.False(t, ok)
}

func TestReadPackTextFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	assert.Empty(t, ReadPackTextFiles(home), "missing files are left out")
	path := filepath.Join(home, filepath.FromSlash(hostCSRF))
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(hostCSRFProps("IBMJCE")), 0o644))
	got := ReadPackTextFiles(home)
	assert.Equal(t, hostCSRFProps("IBMJCE"), got[hostCSRF])
	require.NoError(t, os.WriteFile(path, make([]byte, 1<<20+10), 0o644))
	assert.NotContains(t, ReadPackTextFiles(home), hostCSRF, "an oversized file is not read")
}

func TestHostHeapLastWins(t *testing.T) {
	t.Parallel()
	f := fixtureFacts(t, fixture{Host: func(h *Host) {
		h.Env["JVM_MEM_OPTS"] = "-Xms1g -Xmx2g"
		h.Env["JAVA_OPTS"] = "-Dfoo=bar -Xmx3g"
	}})
	xms, xmx, explicit, _, _ := hostHeap(f)
	require.NotNil(t, xms)
	require.NotNil(t, xmx)
	assert.True(t, explicit)
	assert.Equal(t, uint64(1<<30), xms.bytes)
	assert.Equal(t, uint64(3<<30), xmx.bytes)
	assert.Equal(t, "JAVA_OPTS", xmx.from)

	f = fixtureFacts(t, fixture{})
	xms, xmx, explicit, opts, _ := hostHeap(f)
	assert.False(t, explicit)
	assert.Equal(t, "-Xms256m -Xmx1024m", opts, "read from the pack's script")
	assert.Equal(t, uint64(256<<20), xms.bytes)
	assert.Equal(t, uint64(1024<<20), xmx.bytes)
}
