package validate

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/carbonguard/carbonguard/pack"
)

// Keystores are judged by what they hold, not by their file names: Collect
// opens each configured keystore with its configured password (JKS through
// pavlo-v-chernykh/keystore-go, PKCS#12 through sslmate's go-pkcs12) and
// records every certificate; the checks then look at the key pairs. The
// passwords are used to open the files and never leave this file: the
// facts keep whether a password was empty, not the password.

// KeystoreFacts is one keystore file as configured and as read.
type KeystoreFacts struct {
	Subjects []string // the configuration that names it: "[keystore.primary]", "[keystore.tls]", "carbon.xml KeyStore"
	File     string   // as configured
	Path     string   // absolute path opened
	Type     string   // JKS or PKCS12, as configured (or guessed from the extension)
	Private  bool     // a key store (a truststore otherwise)
	// EmptyPassword is true when the configured store password is "".
	EmptyPassword bool
	// Pos is where the file is configured.
	Pos pack.Position
	Key string // the configuration key of the file name
	// Err says why the content could not be read: missing file, wrong
	// password, an externalised password, an unknown format.
	Err     string      `json:",omitempty"`
	Entries []CertFacts `json:",omitempty"`
}

// CertFacts is one certificate of a keystore.
type CertFacts struct {
	Alias      string
	PrivateKey bool // the entry holds a private key (this is a key pair's certificate)
	Subject    string
	Issuer     string
	NotBefore  time.Time
	NotAfter   time.Time
	KeyAlg     string // RSA, EC, Ed25519, DSA
	KeyBits    int
	SigAlg     string // e.g. SHA256-RSA
	SHA256     string // fingerprint, upper-case hex with colons
	MD5        string // the fingerprint Carbon's config-validation.xml uses
	// WSO2 is set when the certificate is WSO2's shipped one: its MD5
	// fingerprint is the one Carbon's own start-up validator looks for, or
	// its subject is the shipped CN=localhost, O=WSO2 one.
	WSO2 string `json:",omitempty"`
}

// wso2DefaultCertMD5 is the MD5 fingerprint of the certificate under alias
// wso2carbon in the shipped wso2carbon.jks, as Carbon's own start-up
// validator checks it ("Carbon is configured to use the default keystore"):
// repository/conf/etc/config-validation.xml certFingerprint, carbon-kernel
// 4.4.35 and 4.8.1. Newer releases ship regenerated certificates, so the
// subject is checked as well.
const wso2DefaultCertMD5 = "02:FB:AA:5F:20:64:49:4A:27:29:55:71:83:F7:46:CD"

// wso2DefaultSubject tells whether a certificate carries the subject of
// WSO2's shipped certificates: CN=localhost, O=WSO2, ST=CA, C=US, with
// L=Mountain View (older packs) or Santa Clara (newer ones; e.g. IS 7.2's
// "CN=localhost, OU=WSO2, O=WSO2, L=Santa Clara, ST=CA, C=US").
func wso2DefaultSubject(c *x509.Certificate) bool {
	s := c.Subject
	has := func(vals []string, want string) bool {
		for _, v := range vals {
			if strings.EqualFold(strings.TrimSpace(v), want) {
				return true
			}
		}
		return false
	}
	return strings.EqualFold(s.CommonName, "localhost") && has(s.Organization, "WSO2") &&
		(has(s.Locality, "Mountain View") || has(s.Locality, "Santa Clara")) && has(s.Province, "CA") && has(s.Country, "US")
}

func fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func certFacts(alias string, private bool, c *x509.Certificate) CertFacts {
	s256 := sha256.Sum256(c.Raw)
	m5 := md5.Sum(c.Raw)
	cf := CertFacts{Alias: alias, PrivateKey: private, Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SigAlg: c.SignatureAlgorithm.String(),
		SHA256: fingerprint(s256[:]), MD5: fingerprint(m5[:])}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		cf.KeyAlg, cf.KeyBits = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		cf.KeyAlg, cf.KeyBits = "EC", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		cf.KeyAlg, cf.KeyBits = "Ed25519", 256
	default:
		cf.KeyAlg = c.PublicKeyAlgorithm.String()
		if dk, ok := c.PublicKey.(interface{ Size() int }); ok {
			cf.KeyBits = dk.Size() * 8
		}
	}
	switch {
	case cf.MD5 == wso2DefaultCertMD5:
		cf.WSO2 = "its MD5 fingerprint is the one Carbon's config-validation.xml knows as the default keystore's"
	case wso2DefaultSubject(c):
		cf.WSO2 = "it carries the shipped subject " + c.Subject.String()
	}
	return cf
}

// readKeystore opens a keystore file with its password.
func readKeystore(path, typ, password string) ([]CertFacts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := strings.ToUpper(strings.TrimSpace(typ))
	if t == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".p12", ".pfx":
			t = "PKCS12"
		default:
			t = "JKS"
		}
	}
	// A JKS file starts with FEEDFEED (JCEKS: CECECECE); whatever the
	// configured type says, the content decides the reader.
	if bytes.HasPrefix(data, []byte{0xFE, 0xED, 0xFE, 0xED}) || bytes.HasPrefix(data, []byte{0xCE, 0xCE, 0xCE, 0xCE}) {
		return readJKS(data, password)
	}
	if t == "JKS" && len(data) > 0 && data[0] != 0x30 {
		return nil, errors.New("not a JKS or PKCS#12 keystore")
	}
	return readPKCS12(data, password)
}

func readJKS(data []byte, password string) ([]CertFacts, error) {
	ks := keystore.New(keystore.WithMinPasswordLen(0))
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return nil, fmt.Errorf("JKS: %w", err)
	}
	var out []CertFacts
	for _, alias := range ks.Aliases() {
		switch {
		case ks.IsPrivateKeyEntry(alias):
			chain, err := ks.GetPrivateKeyEntryCertificateChain(alias)
			if err != nil || len(chain) == 0 {
				continue
			}
			for i, c := range chain {
				xc, err := x509.ParseCertificate(c.Content)
				if err != nil {
					return nil, fmt.Errorf("JKS entry %s: %w", alias, err)
				}
				a := alias
				if i > 0 {
					a = fmt.Sprintf("%s (chain %d)", alias, i)
				}
				out = append(out, certFacts(a, i == 0, xc))
			}
		case ks.IsTrustedCertificateEntry(alias):
			e, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				continue
			}
			xc, err := x509.ParseCertificate(e.Certificate.Content)
			if err != nil {
				return nil, fmt.Errorf("JKS entry %s: %w", alias, err)
			}
			out = append(out, certFacts(alias, false, xc))
		}
	}
	return out, nil
}

func readPKCS12(data []byte, password string) ([]CertFacts, error) {
	if _, cert, cas, err := pkcs12.DecodeChain(data, password); err == nil {
		out := []CertFacts{certFacts("(key)", true, cert)}
		for i, c := range cas {
			out = append(out, certFacts(fmt.Sprintf("(chain %d)", i+1), false, c))
		}
		return out, nil
	} else if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	if certs, err := pkcs12.DecodeTrustStore(data, password); err == nil {
		var out []CertFacts
		for i, c := range certs {
			out = append(out, certFacts(fmt.Sprintf("(certificate %d)", i+1), false, c))
		}
		return out, nil
	}
	// Several key entries: the PEM view keeps them all.
	blocks, err := pkcs12.ToPEM(data, password) //nolint:staticcheck // the only reader of multi-key files
	if err != nil {
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	keys := 0
	for _, b := range blocks {
		if strings.Contains(b.Type, "PRIVATE KEY") {
			keys++
		}
	}
	var out []CertFacts
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#12: %w", err)
		}
		out = append(out, certFacts(pemAlias(b, i), keys > 0 && !c.IsCA, c))
	}
	return out, nil
}

func pemAlias(b *pem.Block, i int) string {
	if n := b.Headers["friendlyName"]; n != "" {
		return n
	}
	return fmt.Sprintf("(certificate %d)", i+1)
}

// keystoreRef is one keystore the configuration names.
type keystoreRef struct {
	subject  string
	file     pack.Value
	typ      pack.Value
	password pack.Value
	private  bool
}

// keystoreRefs lists the keystores of a pack: [keystore.primary|tls|internal]
// and [truststore] (primary's values fill absent tables), MI's own, and in
// Carbon 4.4 carbon.xml's KeyStore/InternalKeyStore/TrustStore and the 9443
// connector's keystoreFile.
func keystoreRefs(p *pack.Pack) []keystoreRef {
	var out []keystoreRef
	if p.Layout == pack.LayoutLegacy {
		for _, ks := range []string{"KeyStore", "InternalKeyStore", "TrustStore"} {
			base := "carbon.xml:/Server/Security/" + ks + "/"
			out = append(out, keystoreRef{subject: "carbon.xml " + ks, file: p.Value(base + "Location"), typ: p.Value(base + "Type"),
				password: p.Value(base + "Password"), private: ks != "TrustStore"})
		}
		c := "tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@"
		out = append(out, keystoreRef{subject: "catalina-server.xml 9443 connector keystore", file: p.Value(c + "keystoreFile"),
			typ: p.Value(c + "keystoreType"), password: p.Value(c + "keystorePass"), private: true})
	} else {
		for _, ks := range []string{"primary", "tls", "internal"} {
			out = append(out, keystoreRef{subject: "[keystore." + ks + "]", file: p.Value("keystore." + ks + ".file_name"),
				typ: p.Value("keystore." + ks + ".type"), password: p.Value("keystore." + ks + ".password"), private: true})
		}
		out = append(out, keystoreRef{subject: "[truststore]", file: p.Value("truststore.file_name"), typ: p.Value("truststore.type"),
			password: p.Value("truststore.password")})
	}
	kept := out[:0]
	for _, r := range out {
		if r.file.Set() {
			kept = append(kept, r)
		}
	}
	return kept
}

// keystorePath resolves a configured keystore file: Carbon variables
// (${carbon.home}), paths relative to the home (MI writes
// "repository/resources/security/wso2carbon.jks") and bare names, which
// Carbon looks up in repository/resources/security.
func keystorePath(p *pack.Pack, file string) string {
	f := strings.ReplaceAll(strings.TrimSpace(file), "${carbon.home}", p.Home)
	f = strings.ReplaceAll(f, "${CARBON_HOME}", p.Home)
	switch {
	case filepath.IsAbs(f):
		return filepath.Clean(f)
	case strings.ContainsAny(f, `/\`):
		return filepath.Join(p.Home, filepath.FromSlash(f))
	}
	return filepath.Join(p.Home, "repository", "resources", "security", f)
}

// collectKeystores opens every configured keystore once (the primary, TLS
// and internal keystores are often the same file).
func collectKeystores(p *pack.Pack) []KeystoreFacts {
	var out []KeystoreFacts
	index := map[string]int{}
	for _, r := range keystoreRefs(p) {
		if r.file.Externalised {
			out = append(out, KeystoreFacts{Subjects: []string{r.subject}, File: valueText(r.file), Private: r.private, Pos: r.file.Pos, Key: r.file.Key,
				Err: "the keystore's file name is externalised (" + valueText(r.file) + ")"})
			continue
		}
		path := keystorePath(p, r.file.String())
		pw := r.password.String()
		id := path + "\x00" + pw
		if i, ok := index[id]; ok {
			out[i].Subjects = append(out[i].Subjects, r.subject)
			out[i].Private = out[i].Private || r.private
			continue
		}
		k := KeystoreFacts{Subjects: []string{r.subject}, File: r.file.String(), Path: path, Type: r.typ.String(), Private: r.private,
			Pos: r.file.Pos, Key: r.file.Key}
		switch {
		case r.password.Externalised:
			k.Err = "the password is externalised (" + valueText(r.password) + "): carbonguard cannot open the keystore"
		case !r.password.Set():
			k.Err = "no password is configured"
		default:
			k.EmptyPassword = pw == ""
			certs, err := readKeystore(path, k.Type, pw)
			if err != nil {
				k.Err = err.Error()
			}
			sort.SliceStable(certs, func(i, j int) bool { return certs[i].Alias < certs[j].Alias })
			k.Entries = certs
		}
		index[id] = len(out)
		out = append(out, k)
	}
	return out
}
