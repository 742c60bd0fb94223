package pack

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSysPropBareKeyDependsOnTheReader(t *testing.T) {
	for _, tc := range []struct {
		word   string
		reader PropReader
		want   SysProp
		ok     bool
	}{
		{"-DportOffset=2", ReadByJVM, SysProp{Key: "portOffset", Value: "2"}, true},
		{"-DportOffset=2", ReadByCarbonMain, SysProp{Key: "portOffset", Value: "2"}, true},
		{"-Da=b=c", ReadByJVM, SysProp{Key: "a", Value: "b=c"}, true},
		{"-Dempty=", ReadByCarbonMain, SysProp{Key: "empty", Value: ""}, true},
		// java -Dsetup: the launcher sets "" ...
		{"-Dsetup", ReadByJVM, SysProp{Key: "setup", Value: "", Bare: true}, true},
		// ... Carbon's Main, reading a script argument, sets "true".
		{"-Dsetup", ReadByCarbonMain, SysProp{Key: "setup", Value: "true", Bare: true}, true},
		{"-D", ReadByJVM, SysProp{}, false},
		{"-D=x", ReadByCarbonMain, SysProp{}, false},
		{"-Xmx1g", ReadByJVM, SysProp{}, false},
		{"portOffset=2", ReadByJVM, SysProp{}, false},
	} {
		got, ok := ParseSysProp(tc.word, tc.reader)
		assert.Equal(t, tc.ok, ok, tc.word)
		assert.Equal(t, tc.want, got, tc.word)
	}
}

func TestScriptArgPropsLastWins(t *testing.T) {
	got := ScriptArgProps([]string{"-DportOffset=1", "start", "-Dsetup", "-DportOffset=3", "-Xmx1g", "-D", "-Da=b=c"})
	assert.Equal(t, map[string]string{"portOffset": "3", "setup": "true", "a": "b=c"}, got)
}

func TestSplitWords(t *testing.T) {
	assert.Equal(t, []string{"-Xms256m", "-Dx=a b", "-Dy=it's", `\`}, SplitWords(`  -Xms256m "-Dx=a b"	-Dy="it's" \\ `))
	assert.Nil(t, SplitWords("   "))
}

func TestScriptLaunchFindsTheJavaLine(t *testing.T) {
	script := `#!/bin/sh
java_version=$("$JAVACMD" -version 2>&1 | awk -F '"' '/version/ {print $2}')
while [ "$status" = "$START_EXIT_STATUS" ]
do
    $JAVACMD \
    $JVM_MEM_OPTS \
    $JAVA_OPTS \
    -Dhttpclient.hostnameVerifier="DefaultAndLocalhost" \
    -Dconf.location="$CARBON_HOME/repository/conf"\
    org.wso2.carbon.bootstrap.Bootstrap $*
    status=$?
done
`
	words := ParseLaunch(script)
	require.NotEmpty(t, words)
	assert.Equal(t, "$JAVACMD", words[0].Word)
	assert.Equal(t, 5, words[0].Line)
	var found bool
	for _, w := range words {
		if w.Word == "-Dhttpclient.hostnameVerifier=DefaultAndLocalhost" {
			found = true
			assert.Equal(t, 8, w.Line)
		}
		assert.NotEqual(t, "$*", w.Word, "stops at the main class")
	}
	assert.True(t, found)
}
