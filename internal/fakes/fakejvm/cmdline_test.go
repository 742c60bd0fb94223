package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommandLine(t *testing.T) {
	argv := []string{"-Xbootclasspath/a:", "-Xms256m", "-XX:+HeapDumpOnOutOfMemoryError", "-Da=1",
		"-classpath", "/x/bin/a.jar", "--add-opens", "java.rmi/sun.rmi.transport=ALL-UNNAMED",
		"--add-opens=java.base/java.net=ALL-UNNAMED", "-Da=2", "-Dempty", "-Dq=x=y",
		"org.wso2.carbon.bootstrap.Bootstrap", "-DportOffset=3", "-Dsetup", "--cleanRegistry"}
	cl, err := parseCommandLine(argv)
	require.NoError(t, err)
	assert.Equal(t, "org.wso2.carbon.bootstrap.Bootstrap", cl.MainClass)
	assert.Equal(t, "/x/bin/a.jar", cl.ClassPath)
	assert.Equal(t, "2", cl.JVMProps["a"], "last -D wins")
	assert.Equal(t, "", cl.JVMProps["empty"])
	assert.Equal(t, "x=y", cl.JVMProps["q"])
	assert.Equal(t, []string{"-DportOffset=3", "-Dsetup", "--cleanRegistry"}, cl.ProgramArgs)
	assert.Contains(t, cl.Options, "java.rmi/sun.rmi.transport=ALL-UNNAMED")

	props, _ := carbonArgs(cl.ProgramArgs)
	assert.Equal(t, map[string]string{"portOffset": "3", "setup": "true"}, props)
}

func TestParseCommandLineErrors(t *testing.T) {
	for _, argv := range [][]string{
		{"--bogus", "Main"}, {"-XX:Bad", "Main"}, {"-D", "Main"}, {"-classpath"},
	} {
		_, err := parseCommandLine(argv)
		assert.Error(t, err, strings.Join(argv, " "))
	}
	cl, err := parseCommandLine([]string{"-Xmx1g", "-version", "ignored"})
	require.NoError(t, err)
	assert.Equal(t, versionStderr, cl.Version)
}

func TestResolveSettings(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	m := &marker{jar: "/p/x.jar", props: map[string]string{"behaviour": "hang-osgi", "osgiInterval": "20ms"}}

	s, err := resolveSettings(map[string]string{}, getenv, nil)
	require.NoError(t, err)
	assert.Equal(t, settings{Behaviour: "up", BehaviourSource: "default", Delay: 300 * time.Millisecond,
		CrashAfter: time.Second, OSGiInterval: time.Second}, s)

	s, err = resolveSettings(map[string]string{}, getenv, m)
	require.NoError(t, err)
	assert.Equal(t, "hang-osgi", s.Behaviour)
	assert.Equal(t, 20*time.Millisecond, s.OSGiInterval)

	env["FAKE_CARBON_BEHAVIOUR"] = "slow"
	s, err = resolveSettings(map[string]string{}, getenv, m)
	require.NoError(t, err)
	assert.Equal(t, "slow", s.Behaviour)
	assert.Equal(t, 5*time.Second, s.Delay, "slow's own default")

	s, err = resolveSettings(map[string]string{"fake.carbon.behaviour": "oom", "fake.carbon.delay": "75"}, getenv, m)
	require.NoError(t, err)
	assert.Equal(t, "oom", s.Behaviour)
	assert.Equal(t, 75*time.Millisecond, s.Delay, "bare numbers are milliseconds")

	_, err = resolveSettings(map[string]string{"fake.carbon.crashAfter": "soon"}, getenv, nil)
	assert.ErrorContains(t, err, "fake.carbon.crashAfter")
	_, err = resolveSettings(map[string]string{"fake.carbon.behaviour": "nope"}, getenv, nil)
	assert.ErrorContains(t, err, "unknown fake behaviour")
}

func TestIntValue(t *testing.T) {
	n, err := intValue(int64(3))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = intValue(" 12 ")
	require.NoError(t, err)
	assert.Equal(t, 12, n)
	_, err = intValue("ten")
	assert.Error(t, err)
	_, err = intValue(1.5)
	assert.Error(t, err)
}
