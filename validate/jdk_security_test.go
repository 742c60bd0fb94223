package validate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The JDK's policy is read from its own java.security, continuation lines
// included (the layout of OpenJDK 17's file); JDK 8 keeps it under jre/lib.
func TestReadJavaSecurity(t *testing.T) {
	t.Parallel()
	text := "# comment\njdk.tls.disabledAlgorithms=SSLv3, TLSv1, TLSv1.1, DTLSv1.0, RC4, DES, \\\n    MD5withRSA, DH keySize < 1024, EC keySize < 224, 3DES_EDE_CBC, anon, NULL, \\\n    ECDH\n\njdk.tls.legacyAlgorithms=NULL\n"
	for _, rel := range []string{"conf/security/java.security", "jre/lib/security/java.security"} {
		home := t.TempDir()
		path := filepath.Join(home, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		var jr JavaRuntime
		readJavaSecurity(home, &jr)
		assert.True(t, jr.SecurityKnown, rel)
		assert.Equal(t, path, jr.SecurityFile)
		assert.Equal(t, []string{"SSLv3", "TLSv1", "TLSv1.1", "DTLSv1.0"}, jr.DisabledTLS)
		refused, known := jdkRefuses(jr, "TLSv1.1")
		assert.True(t, refused && known)
		refused, _ = jdkRefuses(jr, "TLSv1.2")
		assert.False(t, refused)
	}
	var jr JavaRuntime
	readJavaSecurity(t.TempDir(), &jr)
	assert.False(t, jr.SecurityKnown)
	assert.Contains(t, jr.SecurityErr, "no java.security found")
	// The real JDK of the machine, when there is one.
	if home := os.Getenv("JAVA_HOME"); home != "" {
		var real JavaRuntime
		readJavaSecurity(home, &real)
		t.Logf("%s: %v (%s)", real.SecurityFile, real.DisabledTLS, real.SecurityErr)
	}
}
