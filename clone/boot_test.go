package clone

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/copytree"
	"github.com/carbonguard/carbonguard/internal/netns"
	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// needRoot: namespaces need root; CI runs the tests as root, so there a
// missing privilege fails.
func needRoot(t *testing.T) {
	t.Helper()
	if ok, why := netns.Supported(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the tests as root: %s", why)
		}
		t.Skipf("needs root: %s", why)
	}
}

func serverOptions(t *testing.T, tp *testpack.Pack) wrapper.Options {
	return wrapper.Options{
		AllowRoot:     true, // CI runs the tests as root
		Environ:       tp.Env(),
		Timeout:       20 * time.Second,
		Stability:     300 * time.Millisecond,
		StopTimeout:   5 * time.Second,
		Poll:          25 * time.Millisecond,
		ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout:  2 * time.Second,
		Logger:        zerolog.New(zerolog.NewTestWriter(t)),
	}
}

// live starts the fixture pack's server as the live node, with its verdict
// saved in its own state directory.
type liveNode struct {
	tp    *testpack.Pack
	p     *pack.Pack
	state string
	pid   int
}

func startLive(t *testing.T, tp *testpack.Pack) *liveNode {
	t.Helper()
	o := serverOptions(t, tp)
	o.StateDir = filepath.Join(t.TempDir(), "state")
	p, err := pack.Open(tp.Home)
	require.NoError(t, err)
	s, err := wrapper.New(p, o)
	require.NoError(t, err)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	require.Equal(t, wrapper.Up, v.State)
	t.Cleanup(func() { _, _ = s.Stop(context.Background()) })
	return &liveNode{tp: tp, p: p, state: o.StateDir, pid: v.PID}
}

// untouched asserts that the live node runs on as it was: same JVM, its
// port answering from the host, its verdict and PID file its own.
func (l *liveNode) untouched(t *testing.T, lastVerdict []byte) {
	t.Helper()
	pid, alive := l.tp.PID()
	assert.True(t, alive, "the live server still runs")
	assert.Equal(t, l.pid, pid, "the live server is the same process")
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/services/Version", l.tp.Port(9763)))
	require.NoError(t, err, "the live server still answers on its port")
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	now, err := os.ReadFile(filepath.Join(l.state, "verdicts", "last.json"))
	require.NoError(t, err)
	assert.Equal(t, string(lastVerdict), string(now), "the live verdict is not the copy's")
}

func copyOf(t *testing.T, tp *testpack.Pack) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, copytree.Copy(tp.Home, dst, copytree.Options{}))
	t.Cleanup(func() { killLeftovers(dst, 0) })
	return dst
}

// TestBootInNamespace: the copy of an H2 pack boots up in its own network
// namespace on the live node's very ports, while the live server runs on;
// inside, only loopback exists, the host's listeners are out of reach, and
// the live node's port number reaches the copy.
func TestBootInNamespace(t *testing.T) {
	needRoot(t)
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	live := startLive(t, tp)
	lastVerdict, err := os.ReadFile(filepath.Join(live.state, "verdicts", "last.json"))
	require.NoError(t, err)
	liveLog := tp.Log()
	home := copyOf(t, tp)

	host, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer host.Close()

	evidence := filepath.Join(t.TempDir(), "evidence")
	var inside struct {
		hostErr   error
		copyBody  string
		jvmNS     uint64
		hostLive  string
		ifaces    []string
		whileUpOK bool
	}
	res, err := Boot(context.Background(), home, Options{
		Server: serverOptions(t, tp), Live: live.p, Evidence: evidence, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		WhileUp: func(ctx context.Context, r *Result, dial wrapper.DialFunc) {
			inside.whileUpOK = true
			_, inside.hostErr = dial(ctx, "tcp", host.Addr().String())
			client := &http.Client{Transport: &http.Transport{DialContext: dial}}
			url := fmt.Sprintf("http://127.0.0.1:%d/services/Version", tp.Port(9763))
			if resp, err := client.Get(url); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				inside.copyBody = string(b)
			}
			inside.jvmNS, _ = netns.InodeOf(r.Verdict.PID)
			if resp, err := http.Get(url); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				inside.hostLive = string(b)
			}
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", r.Verdict.PID))
			for _, l := range strings.Split(string(b), "\n")[2:] {
				if name, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
					inside.ifaces = append(inside.ifaces, name)
				}
			}
		},
	})
	require.NoError(t, err)
	if !res.Up() {
		b, _ := json.MarshalIndent(res.Verdict, "", "  ")
		t.Fatalf("the copy's boot is not up:\n%s", b)
	}
	assert.Equal(t, "namespace", res.Network)
	assert.NotZero(t, res.NamespaceID)
	assert.Empty(t, res.NoIsolation)
	assert.Equal(t, tp.Offset, res.Offset, "inside its namespace the copy keeps its own ports")
	assert.Equal(t, "clone", res.Verdict.Command)
	assert.Equal(t, home, res.Verdict.Home)
	assert.Positive(t, res.BootMS)
	assert.Positive(t, res.ServingMS)
	require.NotNil(t, res.Stop)
	assert.True(t, res.Stop.WasRunning)
	assert.False(t, res.Stop.Killed)
	assert.Empty(t, res.Killed, "the stop left nothing behind")
	for _, d := range res.Datasources {
		assert.Equal(t, pack.DataInPack, d.Data, d.Name)
	}

	require.True(t, inside.whileUpOK)
	require.Error(t, inside.hostErr, "the host's 127.0.0.1 is out of reach from inside")
	assert.Contains(t, inside.hostErr.Error(), "connection refused")
	assert.Equal(t, []string{"lo"}, inside.ifaces, "only loopback inside")
	assert.Equal(t, res.NamespaceID, inside.jvmNS, "the copy's JVM runs inside")
	liveNS, err := netns.InodeOf(live.pid)
	require.NoError(t, err)
	assert.NotEqual(t, res.NamespaceID, liveNS)
	assert.NotEmpty(t, inside.copyBody, "the copy answers on its port inside")
	assert.NotEmpty(t, inside.hostLive, "the same port on the host is the live server")

	assert.ElementsMatch(t, []string{"console.log", "wso2carbon.log"}, res.Evidence)
	boot, err := os.ReadFile(filepath.Join(evidence, "wso2carbon.log"))
	require.NoError(t, err)
	assert.Contains(t, string(boot), "WSO2 Carbon started in")
	assert.NotContains(t, string(boot), liveLog[:min(len(liveLog), 200)], "only the copy's own boot lines")

	live.untouched(t, lastVerdict)
	assert.Equal(t, liveLog, tp.Log(), "the live log is not written by the copy")
	assert.Empty(t, copyProcesses(home, 0), "nothing of the copy runs")
	_, err = os.Stat(filepath.Join(home, "wso2carbon.pid"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the copy's PID file is gone with its server")
}

// TestBootFailedKeepsEvidence: a copy whose boot fails (a broken bundle in
// it) is judged failed, stopped, and its log lines kept.
func TestBootFailedKeepsEvidence(t *testing.T) {
	needRoot(t)
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	home := copyOf(t, tp)
	testpack.WriteBehaviourJar(t, home, "fail-config")
	evidence := filepath.Join(t.TempDir(), "evidence")
	res, err := Boot(context.Background(), home, Options{Server: serverOptions(t, tp), Evidence: evidence, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	require.NoError(t, err)
	require.NotNil(t, res.Verdict)
	assert.Equal(t, wrapper.Failed, res.Verdict.State, res.Verdict.Reason)
	assert.False(t, res.Up())
	boot, err := os.ReadFile(filepath.Join(evidence, "wso2carbon.log"))
	require.NoError(t, err)
	assert.Contains(t, string(boot), "Error while performing configuration changes")
	assert.Empty(t, copyProcesses(home, 0))
}

// TestBootOnHostNetwork: on the host's network the copy runs at an offset
// whose ports are free and none of the live node's.
func TestBootOnHostNetwork(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	live := startLive(t, tp)
	lastVerdict, err := os.ReadFile(filepath.Join(live.state, "verdicts", "last.json"))
	require.NoError(t, err)
	home := copyOf(t, tp)
	var answered bool
	res, err := Boot(context.Background(), home, Options{
		Server: serverOptions(t, tp), Live: live.p, Network: Host, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		WhileUp: func(ctx context.Context, r *Result, dial wrapper.DialFunc) {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(9443+r.Offset))
			if err == nil {
				answered = true
				c.Close()
			}
		},
	})
	require.NoError(t, err)
	require.True(t, res.Up(), "%+v", res.Verdict)
	assert.Equal(t, "host", res.Network)
	assert.Contains(t, res.NoIsolation, "the host's network was asked for")
	assert.NotEqual(t, tp.Offset, res.Offset)
	assert.Contains(t, res.Verdict.ScriptArgs, "-DportOffset="+strconv.Itoa(res.Offset))
	assert.True(t, answered, "the copy answered on the host at its own offset")
	livePorts := map[int]bool{}
	for _, pt := range live.p.Ports {
		livePorts[pt.Port] = true
	}
	for _, pt := range res.Ports {
		assert.False(t, livePorts[pt.Port], "%s %d is a live port", pt.Name, pt.Port)
	}
	live.untouched(t, lastVerdict)
	assert.Empty(t, copyProcesses(home, 0))
}

// TestBootRefusals: production databases, no namespace without root, a copy
// inside the live pack.
func TestBootRefusals(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	live, err := pack.Open(tp.Home)
	require.NoError(t, err)
	external := func(t *testing.T) string {
		home := copyOf(t, tp)
		conf := filepath.Join(home, "repository", "conf", "deployment.toml")
		b, err := os.ReadFile(conf)
		require.NoError(t, err)
		s := strings.Replace(string(b), `url = "jdbc:h2:./repository/database/WSO2AM_DB;AUTO_SERVER=TRUE;DB_CLOSE_ON_EXIT=FALSE"`,
			`url = "jdbc:mysql://db.prod.example:3306/apim_db"`, 1)
		require.NotEqual(t, string(b), s)
		require.NoError(t, os.WriteFile(conf, []byte(s), 0o644))
		return home
	}

	t.Run("external databases", func(t *testing.T) {
		home := external(t)
		_, err := Boot(context.Background(), home, Options{Server: serverOptions(t, tp), Live: live})
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		require.Len(t, re.Datasources, 1)
		assert.Equal(t, "apim_db", re.Datasources[0].Name)
		assert.Contains(t, err.Error(), "[database.apim_db] (repository/conf/deployment.toml:")
		assert.Contains(t, err.Error(), "mysql server")
		assert.NotContains(t, err.Error(), "db.prod.example", "URLs are not repeated")
		assert.Empty(t, copyProcesses(home, 0), "nothing was launched")
		_, err = os.Stat(filepath.Join(home, "repository", "logs", "fakejvm-invocation.json"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("overridden to in-pack H2, then allowed", func(t *testing.T) {
		home := external(t)
		keys, err := Override(home, map[string]any{"database": map[string]any{"apim_db": map[string]any{
			"url": "jdbc:h2:./repository/database/WSO2AM_DR;DB_CLOSE_ON_EXIT=FALSE"}}})
		require.NoError(t, err)
		assert.Equal(t, []string{"database.apim_db.url"}, keys)
		o := Options{Live: live, Overridden: keys}
		cp, err := pack.Open(home)
		require.NoError(t, err)
		uses, err := o.checkData(cp)
		require.NoError(t, err)
		assert.NotEmpty(t, uses)
	})
	t.Run("overridden to the DR database, then allowed", func(t *testing.T) {
		home := external(t)
		keys, err := Override(home, map[string]any{"database": map[string]any{"apim_db": map[string]any{
			"url": "jdbc:mysql://db.dr.example:3306/apim_db"}}})
		require.NoError(t, err)
		cp, err := pack.Open(home)
		require.NoError(t, err)
		uses, err := (&Options{Live: live, Overridden: keys}).checkData(cp)
		require.NoError(t, err)
		for _, u := range uses {
			if u.Name == "apim_db" {
				assert.True(t, u.Overridden)
				assert.Equal(t, pack.DataExternal, u.Data)
			}
		}
	})
	t.Run("no namespace without root", func(t *testing.T) {
		home := copyOf(t, tp)
		notRoot := func() (bool, string) { return false, "carbonguard is not running as root" }
		_, err := Boot(context.Background(), home, Options{Server: serverOptions(t, tp), Live: live, supported: notRoot})
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		assert.True(t, re.NoIsolation)
		assert.Contains(t, err.Error(), "not running as root")
		assert.Contains(t, err.Error(), "cluster members, Traffic Manager")
	})
	t.Run("inside the live pack", func(t *testing.T) {
		_, err := Boot(context.Background(), filepath.Join(tp.Home, "tmp", "copy"), Options{Live: live})
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		assert.Contains(t, err.Error(), "inside the live pack")
		_, err = Boot(context.Background(), tp.Home, Options{Live: live})
		require.ErrorAs(t, err, &re)
		assert.Contains(t, err.Error(), "is the live pack")
	})
}

func TestOverride(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	conf := filepath.Join(home, "repository", "conf", "deployment.toml")
	require.NoError(t, os.MkdirAll(filepath.Dir(conf), 0o755))
	require.NoError(t, os.WriteFile(conf, []byte(`# stock comment
[server]
hostname = "apim.prod.example"
offset = 3

[database.apim_db]
type = "mysql"
url = "jdbc:mysql://prod/apim"
password = "prod-secret"

[[apim.gateway.environment]]
name = "Default"
`), 0o640))
	keys, err := Override(home, map[string]any{
		"database":           map[string]any{"apim_db": map[string]any{"url": "jdbc:mysql://dr/apim", "password": "dr-secret"}},
		"apim":               map[string]any{"throttling": map[string]any{"enable_data_publishing": false}},
		"synapse_properties": map[string]any{"'inbound.port.offset.enable'": false},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"apim.throttling.enable_data_publishing", "database.apim_db.password", "database.apim_db.url",
		`synapse_properties."'inbound.port.offset.enable'"`}, keys)
	st, err := os.Stat(conf)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	p, err := pack.Open(home)
	require.NoError(t, err)
	assert.Equal(t, "jdbc:mysql://dr/apim", p.Value("database.apim_db.url").String())
	assert.Equal(t, "mysql", p.Value("database.apim_db.type").String(), "untouched keys stay")
	assert.Equal(t, "apim.prod.example", p.Value("server.hostname").String())
	assert.Equal(t, "Default", p.Value("apim.gateway.environment.0.name").String(), "arrays of tables stay")

	_, err = Override(home, map[string]any{"server": "x"})
	var oe *OverrideError
	require.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "server is a table")
	_, err = Override(t.TempDir(), map[string]any{"a": 1})
	require.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "Carbon 4.4")
	keys, err = Override(home, nil)
	require.NoError(t, err)
	assert.Empty(t, keys)
}
