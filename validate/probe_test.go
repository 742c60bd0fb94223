package validate

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o755))
	}
}

func TestSystemProbeReadsProcFiles(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/meminfo":   "MemTotal:        8039920 kB\nMemFree:  100 kB\nSwapTotal:       2097148 kB\n",
		"etc/os-release": "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n",
		"proc/net/tcp":   "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:24E3 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0\n   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 100 0 0 10 0\n   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 100 0 0 10 0\n",
		"proc/net/tcp6":  "  sl  local_address remote_address st\n   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4 1\n",
		"proc/mounts":    "/dev/sda1 / ext4 rw 0 0\nnfs.example.com:/export/solr /mnt/solr\\040data nfs4 rw 0 0\n",
	})
	h := SystemProbe{Root: root, ResolveTimeout: time.Second}.Probe(context.Background(), ProbeRequest{Home: root})
	assert.Equal(t, uint64(8039920*1024), h.MemTotalBytes)
	assert.Equal(t, uint64(2097148*1024), h.SwapTotalBytes)
	assert.Equal(t, OSRelease{ID: "ubuntu", VersionID: "22.04", Pretty: "Ubuntu 22.04.4 LTS"}, h.OS)
	assert.Equal(t, []ListeningPort{{Addr: "0.0.0.0", Port: 8080}, {Addr: "::", Port: 8443}, {Addr: "127.0.0.1", Port: 9443}}, h.Listening,
		"LISTEN sockets only (state 0A), sorted by port")
	assert.Equal(t, []Mount{{"/dev/sda1", "/", "ext4"}, {"nfs.example.com:/export/solr", "/mnt/solr data", "nfs4"}}, h.Mounts)
	assert.Equal(t, runtime.NumCPU(), h.CPUCores)
	assert.NotZero(t, h.DiskFreeBytes)
	assert.NotEmpty(t, h.Errors["Java"]+h.Java.VersionErr+h.Java.Version, "java is reported either way")
}

func TestSystemProbeMissingFilesAreErrorsNotZeroes(t *testing.T) {
	h := SystemProbe{Root: t.TempDir()}.Probe(context.Background(), ProbeRequest{})
	assert.Contains(t, h.Errors, "MemTotalBytes")
	assert.Contains(t, h.Errors, "OS")
	assert.Contains(t, h.Errors, "Listening")
	assert.Contains(t, h.Errors, "Mounts")
}

func TestSystemProbeRealHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	home := t.TempDir()
	real := filepath.Join(t.TempDir(), "index")
	require.NoError(t, os.MkdirAll(real, 0o755))
	link := filepath.Join(home, "solr")
	require.NoError(t, os.Symlink(real, link))

	h := SystemProbe{ResolveTimeout: 2 * time.Second}.Probe(context.Background(), ProbeRequest{
		Home: home, Names: []string{"localhost", "10.1.2.3"}, Paths: []string{filepath.Join(link, "data"), home},
	})
	assert.Contains(t, h.Listening, ListeningPort{Addr: "127.0.0.1", Port: port}, "a real listening socket is seen")
	assert.NotZero(t, h.MemTotalBytes)
	assert.NotZero(t, h.OpenFilesSoft)
	assert.Equal(t, os.Geteuid(), h.UID)
	assert.NotEmpty(t, h.ResolvedAddrs["localhost"])
	assert.Equal(t, []string{"10.1.2.3"}, h.ResolvedAddrs["10.1.2.3"], "addresses are not looked up")
	rp := h.RealPaths[filepath.Join(link, "data")]
	realResolved, err := filepath.EvalSymlinks(real)
	require.NoError(t, err)
	assert.True(t, rp.IsSymlink, "a path through a symlink is flagged")
	assert.Equal(t, filepath.Join(realResolved, "data"), rp.Real, "a missing leaf resolves through its parent")
	assert.NotNil(t, rp.Mount)
}

func TestJavaVersion(t *testing.T) {
	for _, tc := range []struct {
		out     string
		version string
		major   int
		vendor  string
	}{
		{"openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment", "17.0.15", 17, ""},
		{"java version \"1.8.0_151\"\nJava(TM) SE Runtime Environment (build 1.8.0_151-b12)", "1.8.0_151", 8, ""},
		{"openjdk version \"21\" 2023-09-19", "21", 21, ""},
		{"java version \"1.8.0_361\"\nIBM J9 VM (build 2.9, JRE 1.8.0 Linux amd64-64)", "1.8.0_361", 8, "IBM"},
	} {
		var jr JavaRuntime
		parseJavaVersion(tc.out, &jr)
		assert.Equal(t, tc.version, jr.Version)
		assert.Equal(t, tc.major, jr.Major)
		assert.Equal(t, tc.vendor, jr.Vendor)
	}
	var jr JavaRuntime
	parseJavaVersion("garbage", &jr)
	assert.NotEmpty(t, jr.VersionErr)
}

func TestJavaVersionRunsTheJDKWithATimeout(t *testing.T) {
	home := t.TempDir()
	writeTree(t, home, map[string]string{"bin/java": "#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n"})
	jr := javaVersion(context.Background(), home, 5*time.Second)
	assert.Equal(t, "11.0.2", jr.Version)
	assert.Equal(t, 11, jr.Major)

	slow := t.TempDir()
	writeTree(t, slow, map[string]string{"bin/java": "#!/bin/sh\nexec sleep 10\n"})
	start := time.Now()
	jr = javaVersion(context.Background(), slow, 200*time.Millisecond)
	assert.Contains(t, jr.VersionErr, "did not answer")
	assert.Less(t, time.Since(start), 5*time.Second)

	jr = javaVersion(context.Background(), "", time.Second)
	assert.Equal(t, "JAVA_HOME is not set", jr.VersionErr)
}

func TestStaticProbe(t *testing.T) {
	h := fakeHost()
	got := StaticProbe{Host: h}.Probe(context.Background(), ProbeRequest{Names: []string{"apim.example.com", "nowhere.example.com"}})
	assert.Equal(t, map[string][]string{"apim.example.com": {"10.0.0.10"}}, got.ResolvedAddrs, "only the requested names")
	assert.Contains(t, got.Errors["ResolvedAddrs:nowhere.example.com"], "no such host")
	got.Env["X"] = "y"
	assert.NotContains(t, h.Env, "X", "the probe hands out copies")
}

// The systemd units install.sh writes name carbonguard and --home <pack> in
// ExecStart; other units, and units for other packs, are not evidence.
func TestCarbonguardUnits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, execStart string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("[Service]\nType=notify\nExecStart="+execStart+"\n"), 0o644))
	}
	write("carbonguard-wso2am.service", "/usr/local/bin/carbonguard --home /opt/wso2am-4.2.0 --state /var/lib/carbonguard/x --log-format json run")
	write("other-pack.service", "/usr/local/bin/carbonguard --home /opt/wso2am-3.2.0 run")
	write("stock.service", "/opt/wso2am-4.2.0/bin/api-manager.sh --home /opt/wso2am-4.2.0")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ExecStart=carbonguard --home /opt/wso2am-4.2.0"), 0o644))
	got := carbonguardUnits([]string{dir, filepath.Join(dir, "missing")}, "/opt/wso2am-4.2.0")
	assert.Equal(t, []string{filepath.Join(dir, "carbonguard-wso2am.service")}, got)
}
