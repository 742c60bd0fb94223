package validate

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"
)

// Keystores for the fixtures are made by the tests themselves: real JKS
// and PKCS#12 files with real key pairs, dated around fixedNow.

var (
	ksKeysMu sync.Mutex
	ksKeys   = map[int]*rsa.PrivateKey{}
)

func ksKey(t testing.TB, bits int) *rsa.PrivateKey {
	ksKeysMu.Lock()
	defer ksKeysMu.Unlock()
	if k, ok := ksKeys[bits]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	ksKeys[bits] = k
	return k
}

// ksCert describes a self-signed certificate.
type ksCert struct {
	subject   pkix.Name
	bits      int // default 2048
	sha1      bool
	notBefore time.Time // default fixedNow - 1 year
	notAfter  time.Time // default fixedNow + 2 years
}

// ksWSO2Subject is the subject of WSO2's shipped certificate.
var ksWSO2Subject = pkix.Name{CommonName: "localhost", Organization: []string{"WSO2"}, Locality: []string{"Mountain View"}, Province: []string{"CA"}, Country: []string{"US"}}

var ksOwnSubject = pkix.Name{CommonName: "apim.example.com", Organization: []string{"Example Corp"}, Country: []string{"DE"}}

func (c ksCert) make(t testing.TB) (*rsa.PrivateKey, []byte) {
	bits := c.bits
	if bits == 0 {
		bits = 2048
	}
	nb, na := c.notBefore, c.notAfter
	if nb.IsZero() {
		nb = fixedNow.AddDate(-1, 0, 0)
	}
	if na.IsZero() {
		na = fixedNow.AddDate(2, 0, 0)
	}
	key := ksKey(t, bits)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: c.subject, Issuer: c.subject, NotBefore: nb, NotAfter: na,
		SignatureAlgorithm: x509.SHA256WithRSA}
	if c.sha1 {
		tmpl.SignatureAlgorithm = x509.SHA1WithRSA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return key, der
}

// ksJKS writes a JKS key store with one key pair under alias wso2carbon.
func ksJKS(t testing.TB, password string, c ksCert) []byte {
	key, der := c.make(t)
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	ks := keystore.New(keystore.WithMinPasswordLen(0))
	require.NoError(t, ks.SetPrivateKeyEntry("wso2carbon", keystore.PrivateKeyEntry{CreationTime: fixedNow, PrivateKey: pk,
		CertificateChain: []keystore.Certificate{{Type: "X509", Content: der}}}, []byte(password)))
	var b bytes.Buffer
	require.NoError(t, ks.Store(&b, []byte(password)))
	return b.Bytes()
}

// ksP12 writes a PKCS#12 key store with one key pair.
func ksP12(t testing.TB, password string, c ksCert) []byte {
	key, der := c.make(t)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	b, err := pkcs12.Modern.Encode(key, cert, nil, password)
	require.NoError(t, err)
	return b
}

// ksWrite writes a keystore into the fixture's pack.
func ksWrite(t *testing.T, home, rel string, data []byte) {
	t.Helper()
	path := filepath.Join(home, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

const ksTLS = "repository/resources/security/wso2carbon.jks"

// ksPack makes every keystore of the apim-4.2 fixture one JKS file,
// wso2carbon.jks with password wso2carbon, holding the given key pair.
func ksPack(c ksCert) func(t *testing.T, home string) {
	return func(t *testing.T, home string) { ksWrite(t, home, ksTLS, ksJKS(t, "wso2carbon", c)) }
}

func init() {
	addFixtures(
		// SEC-160 WSO2's shipped key pair, by content
		fixture{ID: "CG-SEC-160", Name: "shipped-subject", Want: Fail, Edit: ksPack(ksCert{subject: ksWSO2Subject})},
		fixture{ID: "CG-SEC-160", Name: "own-key-pair-named-wso2carbon", Want: Pass, Edit: ksPack(ksCert{subject: ksOwnSubject})},
		// A renamed copy of the shipped keystore still holds the shipped pair.
		fixture{ID: "CG-SEC-160", Name: "renamed-shipped-p12", Want: Fail, Files: toml(`[keystore.primary]
file_name = "node1.p12"
type = "PKCS12"
password = "s3cret-pw"
alias = "wso2carbon"
key_password = "s3cret-pw"
`), Edit: func(t *testing.T, home string) {
			ksWrite(t, home, "repository/resources/security/node1.p12", ksP12(t, "s3cret-pw", ksCert{subject: ksWSO2Subject}))
		}},
		fixture{ID: "CG-SEC-160", Name: "placeholder-unreadable", Want: Unknown},
		fixture{ID: "CG-SEC-160", Name: "wrong-password", Want: Unknown, Edit: func(t *testing.T, home string) {
			ksWrite(t, home, ksTLS, ksJKS(t, "other-password", ksCert{subject: ksOwnSubject}))
		}},

		// SEC-161 key size
		fixture{ID: "CG-SEC-161", Name: "rsa-1024", Want: Fail, Edit: ksPack(ksCert{subject: ksOwnSubject, bits: 1024})},
		fixture{ID: "CG-SEC-161", Name: "rsa-2048", Want: Pass, Edit: ksPack(ksCert{subject: ksOwnSubject})},

		// SEC-162 expiry
		fixture{ID: "CG-SEC-162", Name: "expired", Want: Fail, Edit: ksPack(ksCert{subject: ksOwnSubject, notAfter: fixedNow.AddDate(0, -1, 0)})},
		fixture{ID: "CG-SEC-162", Name: "expires-in-10-days", Want: Fail, Edit: ksPack(ksCert{subject: ksOwnSubject, notAfter: fixedNow.AddDate(0, 0, 10)})},
		fixture{ID: "CG-SEC-162", Name: "valid-two-years", Want: Pass, Edit: ksPack(ksCert{subject: ksOwnSubject})},

		// SEC-163 SHA-1 signature
		fixture{ID: "CG-SEC-163", Name: "sha1", Want: Fail, Edit: ksPack(ksCert{subject: ksOwnSubject, sha1: true})},
		fixture{ID: "CG-SEC-163", Name: "sha256", Want: Pass, Edit: ksPack(ksCert{subject: ksOwnSubject})},

		// SEC-070: an empty password fails; a file named wso2carbon.jks
		// holding an own key pair under a changed password passes.
		fixture{ID: "CG-SEC-070", Name: "empty-password", Want: Fail, Files: toml(`[keystore.primary]
file_name = "node1.jks"
type = "JKS"
password = ""
alias = "node1"
key_password = ""
[keystore.tls]
file_name = "node1.jks"
password = ""
[keystore.internal]
file_name = "node1.jks"
password = ""
[truststore]
file_name = "trust.jks"
password = "$secret{truststore}"
`)},
		fixture{ID: "CG-SEC-070", Name: "own-pair-named-wso2carbon", Want: Pass, Files: toml(`[keystore.primary]
file_name = "wso2carbon.jks"
password = "$secret{ks}"
[keystore.tls]
file_name = "tls.jks"
password = "changed-pw"
[keystore.internal]
file_name = "wso2carbon.jks"
password = "$secret{ks}"
[truststore]
file_name = "client-truststore.jks"
password = "$secret{ts}"
`), Edit: func(t *testing.T, home string) {
			ksWrite(t, home, "repository/resources/security/tls.jks", ksJKS(t, "changed-pw", ksCert{subject: ksOwnSubject}))
		}},
	)
}

// Both formats are read, every certificate with its facts; the shipped
// subject is recognised.
func TestReadKeystoreFormats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jks := filepath.Join(dir, "a.jks")
	require.NoError(t, os.WriteFile(jks, ksJKS(t, "pw1234", ksCert{subject: ksWSO2Subject}), 0o600))
	p12 := filepath.Join(dir, "b.p12")
	require.NoError(t, os.WriteFile(p12, ksP12(t, "pw1234", ksCert{subject: ksOwnSubject, bits: 1024}), 0o600))

	got, err := readKeystore(jks, "JKS", "pw1234")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.True(t, got[0].PrivateKey)
	assert.Equal(t, "RSA", got[0].KeyAlg)
	assert.Equal(t, 2048, got[0].KeyBits)
	assert.Equal(t, "SHA256-RSA", got[0].SigAlg)
	assert.Contains(t, got[0].WSO2, "shipped subject")

	// The content decides the reader, not the configured type.
	got, err = readKeystore(p12, "JKS", "pw1234")
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Equal(t, 1024, got[0].KeyBits)
	assert.Empty(t, got[0].WSO2)

	_, err = readKeystore(jks, "JKS", "wrong!")
	assert.Error(t, err)
	_, err = readKeystore(p12, "PKCS12", "wrong!")
	assert.Error(t, err)
}
