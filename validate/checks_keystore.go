package validate

import (
	"fmt"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/pack"
)

// Keystore content checks (CG-SEC-160 to 163): what the key pairs of the
// configured keystores are, read from the files (Facts.Keystores), not what
// the files are called.

func init() {
	register(
		Check{
			ID: "CG-SEC-160", Title: "WSO2's shipped key pair is in use", Category: "security", Severity: High,
			Rationale: "Every pack ships the same key pair (alias wso2carbon in wso2carbon.jks / wso2carbon.p12, subject CN=localhost, " +
				"O=WSO2, L=Mountain View or Santa Clara, ST=CA, C=US): its private key signs tokens, encrypts secrets and serves TLS, " +
				"and anyone can download it. The keystores are opened with their configured passwords and judged by content, " +
				"whatever their file names: a renamed copy of the shipped keystore still fails, an own keystore called " +
				"wso2carbon.jks passes. The certificate is recognised by the MD5 fingerprint Carbon's own start-up validator " +
				"looks for (config-validation.xml), else by its subject.",
			Remediation: "Create a key pair of your own (keytool -genkeypair -keyalg RSA -keysize 2048 -sigalg SHA256withRSA, or a " +
				"CA-signed certificate for the node's host name), put it in a new keystore, and point [keystore.primary], " +
				"[keystore.tls] and [keystore.internal] (Carbon 4.4: carbon.xml <Security> and the 9443 connector) at it. Keep the " +
				"same primary keystore on every node of a deployment.",
			Run: checkShippedKeyPair,
		},
		Check{
			ID: "CG-SEC-161", Title: "Key pair weaker than 2048 bits", Category: "security", Severity: High,
			Rationale: "RSA and DSA keys under 2048 bits (EC under 224) are below what NIST SP 800-57 and the JDK's own " +
				"jdk.certpath.disabledAlgorithms accept for new keys; WSO2's keystore guide asks for 2048-bit RSA keys.",
			Remediation: "Generate a new key pair of at least 2048 bits (RSA) or 256 bits (EC) and replace the keystore entry.",
			Run:         checkWeakKeys,
		},
		Check{
			ID: "CG-SEC-162", Title: "Certificate expired or expiring within 30 days", Category: "security", Severity: High,
			Rationale: "An expired certificate on a key pair makes TLS clients refuse the node, and tokens signed with it fail " +
				"validation on the other nodes. WSO2's newer packs ship certificates that expire (IS 7.2's expired in January " +
				"2026), and renewals are easy to miss without a warning well ahead.",
			Remediation: "Renew the certificate (a new one for the same key, or a new key pair) and import it into the keystore and " +
				"the other nodes' truststores before it expires.",
			Run: checkCertExpiry,
		},
		Check{
			ID: "CG-SEC-163", Title: "Certificate signed with SHA-1 or MD5", Category: "security", Severity: Medium,
			Rationale: "SHA-1 and MD5 signatures can be forged (SHA-1 chosen-prefix collisions, 2020); browsers and current JDKs " +
				"reject such certificates on TLS, and a forged certificate could impersonate the node.",
			Remediation: "Issue the certificate again with a SHA-256 (or stronger) signature: keytool -sigalg SHA256withRSA, or ask " +
				"the CA for a SHA-256 certificate.",
			Run: checkSHA1Certs,
		},
	)
}

func ksSubject(k KeystoreFacts) string {
	return strings.Join(k.Subjects, ", ") + " " + k.File
}

func ksBase(k KeystoreFacts) Result {
	return Result{Subject: ksSubject(k), Key: k.Key, Value: k.File, Source: pack.SourceFile, Pos: k.Pos}
}

// ksUnreadable is the Unknown result for a key store whose content could
// not be read; nil for one that was read.
func ksUnreadable(k KeystoreFacts, what string) *Result {
	if k.Err == "" {
		return nil
	}
	r := ksBase(k)
	r.Status, r.Message, r.Reason = Unknown, what+" cannot be judged: the keystore could not be read", k.Err
	return &r
}

// ksPrivate lists the key stores (not the truststore).
func ksPrivate(f *Facts) []KeystoreFacts {
	var out []KeystoreFacts
	for _, k := range f.Keystores {
		if k.Private {
			out = append(out, k)
		}
	}
	return out
}

func ksNone() []Result {
	return []Result{{Status: NotApplicable, Message: "no keystore is configured for this product"}}
}

func checkShippedKeyPair(f *Facts) []Result {
	var out []Result
	for _, k := range ksPrivate(f) {
		if u := ksUnreadable(k, "whether the shipped key pair is in use"); u != nil {
			out = append(out, *u)
			continue
		}
		r := ksBase(k)
		var shipped []string
		for _, c := range k.Entries {
			if c.PrivateKey && c.WSO2 != "" {
				shipped = append(shipped, fmt.Sprintf("%s (%s)", c.Alias, c.WSO2))
			}
		}
		if len(shipped) > 0 {
			r.Status = Fail
			r.Message = "holds WSO2's shipped key pair: " + strings.Join(shipped, "; ")
		} else {
			r.Status = Pass
			r.Message = fmt.Sprintf("%d key pair(s), none of them WSO2's shipped one", ksKeyPairs(k))
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return ksNone()
	}
	return out
}

func ksKeyPairs(k KeystoreFacts) int {
	n := 0
	for _, c := range k.Entries {
		if c.PrivateKey {
			n++
		}
	}
	return n
}

// ksMinBits is the smallest acceptable key per algorithm.
var ksMinBits = map[string]int{"RSA": 2048, "DSA": 2048, "EC": 224}

func checkWeakKeys(f *Facts) []Result {
	var out []Result
	for _, k := range ksPrivate(f) {
		if u := ksUnreadable(k, "the key sizes"); u != nil {
			out = append(out, *u)
			continue
		}
		r := ksBase(k)
		var weak []string
		for _, c := range k.Entries {
			if min, ok := ksMinBits[c.KeyAlg]; ok && c.PrivateKey && c.KeyBits < min {
				weak = append(weak, fmt.Sprintf("%s: %s %d bits (minimum %d)", c.Alias, c.KeyAlg, c.KeyBits, min))
			}
		}
		if len(weak) > 0 {
			r.Status, r.Message = Fail, "weak key pair: "+strings.Join(weak, "; ")
		} else {
			r.Status, r.Message = Pass, "every key pair is at least 2048-bit RSA/DSA or 224-bit EC"
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return ksNone()
	}
	return out
}

// ksExpiryWindow is how far ahead an expiry is reported.
const ksExpiryWindow = 30 * 24 * time.Hour

func checkCertExpiry(f *Facts) []Result {
	var out []Result
	now := f.Now
	for _, k := range ksPrivate(f) {
		if u := ksUnreadable(k, "certificate expiry"); u != nil {
			out = append(out, *u)
			continue
		}
		r := ksBase(k)
		var bad []string
		for _, c := range k.Entries {
			if !c.PrivateKey {
				continue
			}
			switch {
			case !c.NotAfter.After(now):
				bad = append(bad, fmt.Sprintf("%s expired on %s", c.Alias, c.NotAfter.Format("2006-01-02")))
			case c.NotAfter.Sub(now) < ksExpiryWindow:
				bad = append(bad, fmt.Sprintf("%s expires on %s, in %d days", c.Alias, c.NotAfter.Format("2006-01-02"), int(c.NotAfter.Sub(now).Hours()/24)))
			case c.NotBefore.After(now):
				bad = append(bad, fmt.Sprintf("%s is not valid before %s", c.Alias, c.NotBefore.Format("2006-01-02")))
			}
		}
		if len(bad) > 0 {
			r.Status, r.Message = Fail, strings.Join(bad, "; ")
		} else {
			r.Status, r.Message = Pass, "every key pair's certificate is valid for more than 30 days"
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return ksNone()
	}
	return out
}

func checkSHA1Certs(f *Facts) []Result {
	var out []Result
	for _, k := range ksPrivate(f) {
		if u := ksUnreadable(k, "the certificate signatures"); u != nil {
			out = append(out, *u)
			continue
		}
		r := ksBase(k)
		var bad []string
		for _, c := range k.Entries {
			// Self-signed roots' own signatures are not checked by clients;
			// the key pair's certificate and its chain are judged.
			if c.Subject == c.Issuer && !c.PrivateKey {
				continue
			}
			s := strings.ToUpper(c.SigAlg)
			if strings.Contains(s, "SHA1") || strings.Contains(s, "MD5") || strings.Contains(s, "MD2") {
				bad = append(bad, fmt.Sprintf("%s: %s", c.Alias, c.SigAlg))
			}
		}
		if len(bad) > 0 {
			r.Status, r.Message = Fail, "weak signature: "+strings.Join(bad, "; ")
		} else {
			r.Status, r.Message = Pass, "every certificate of the key pairs is signed with SHA-256 or stronger"
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return ksNone()
	}
	return out
}
