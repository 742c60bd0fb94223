package wrapper

import (
	"path/filepath"
	"testing"

	"github.com/carbonguard/carbonguard/pack"
)

// testPack is a hand-made pack model for tests that need no configuration.
func testPack(t *testing.T, home string) *pack.Pack {
	t.Helper()
	return &pack.Pack{
		Home:    home,
		Product: pack.APIM,
		Version: "4.2.0",
		Script:  filepath.Join(home, "bin", "api-manager.sh"),
		LogFile: filepath.Join(home, "repository", "logs", "wso2carbon.log"),
		PIDFile: filepath.Join(home, "wso2carbon.pid"),
	}
}
