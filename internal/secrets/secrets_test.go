package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScrubDropsOnlyCarbonguardsSecrets(t *testing.T) {
	env := []string{"PATH=/bin", "UPDATE_TOOL_USERNAME=ops", "UPDATE_TOOL_PASSWORD=pw", "RESTIC_PASSWORD=r",
		"PGPASSWORD=p", "MYSQL_PWD=m", "APIM_DB_PASSWORD=keep-me", "JAVA_HOME=/jdk", "UPDATE_TOOL_PASSWORDX=other"}
	assert.Equal(t, []string{"PATH=/bin", "APIM_DB_PASSWORD=keep-me", "JAVA_HOME=/jdk", "UPDATE_TOOL_PASSWORDX=other"}, Scrub(env))
	assert.Equal(t, []string{"PATH=/bin", "UPDATE_TOOL_USERNAME=ops", "UPDATE_TOOL_PASSWORD=pw", "APIM_DB_PASSWORD=keep-me", "JAVA_HOME=/jdk", "UPDATE_TOOL_PASSWORDX=other"},
		Scrub(env, "UPDATE_TOOL_USERNAME", "UPDATE_TOOL_PASSWORD"))
	assert.Equal(t, []string{"ops", "pw", "r", "p", "m"}, Values(env))
}

func TestMaskerMasksEveryDerivedForm(t *testing.T) {
	const user, pass = "ops@example.com", "s3cr$t pa/ss+wörd"
	m := NewMasker(nil, [2]string{user, pass})
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	inJSON := base64.StdEncoding.EncodeToString([]byte(`{"user":"x","password":"` + pass + `","n":1}`))
	for name, line := range map[string]string{
		"raw":               "logging in with " + pass,
		"base64":            "pw=" + base64.StdEncoding.EncodeToString([]byte(pass)),
		"base64url":         "pw=" + base64.RawURLEncoding.EncodeToString([]byte(pass)),
		"basic auth header": "Authorization: Basic " + basic,
		"base64 inside":     "body: " + inJSON,
		"query":             "GET https://api.updates.wso2.com/login?password=" + url.QueryEscape(pass) + "&x=1",
		"path":              "GET https://api.updates.wso2.com/u/" + url.PathEscape(pass),
		"lower-case escape": "pw=" + strings.ToLower(url.QueryEscape(pass)),
		"hex":               "debug: " + hex.EncodeToString([]byte(pass)),
		"HEX":               "debug: " + strings.ToUpper(hex.EncodeToString([]byte(pass))),
		"json":              `{"password":"` + strings.ReplaceAll(pass, "/", "/") + `"}`,
	} {
		got := m.String(line)
		assert.Contains(t, got, Mask, name)
		assert.NotContains(t, got, pass, name)
		for _, leak := range []string{base64.RawStdEncoding.EncodeToString([]byte(pass))[2:14], url.QueryEscape(pass), hex.EncodeToString([]byte(pass))[2:20]} {
			assert.NotContains(t, got, leak, "%s: %s", name, got)
		}
	}
	assert.NotContains(t, m.String("Authorization: Basic "+basic), basic[8:], "the Basic header is masked whole or nearly")
	assert.Equal(t, "nothing secret here", m.String("nothing secret here"))
}

// Each byte alignment of the secret inside base64 text is caught.
func TestMaskerBase64AtEveryAlignment(t *testing.T) {
	const pass = "correct-horse-battery"
	m := NewMasker([]string{pass})
	for k := 0; k < 6; k++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", k) + pass + "tail"))
		got := m.String(enc)
		assert.Contains(t, got, Mask, "offset %d: %s", k, got)
		assert.Less(t, len(strings.ReplaceAll(got, Mask, "")), len(enc)-len(pass), fmt.Sprintf("offset %d: most of the secret's characters are gone", k))
	}
}
