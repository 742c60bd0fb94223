package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The JDK's own TLS policy: jdk.tls.disabledAlgorithms in the JDK's
// java.security ($JAVA_HOME/conf/security/java.security from JDK 9,
// $JAVA_HOME/jre/lib/security/java.security for JDK 8). A protocol named
// there is refused by every JSSE socket of the JVM whatever the product's
// configuration enables (OpenJDK java.security, "jdk.tls.disabledAlgorithms":
// "Algorithm restrictions for Secure Socket Layer/Transport Layer Security
// (SSL/TLS/DTLS) processing"; TLSv1 and TLSv1.1 are listed by default from
// 8u291, 11.0.11 and 16). A -Djava.security.properties file may append to or
// replace the policy; carbonguard reads only the JDK's file and says so.

// JavaSecurityFiles are where a JDK keeps java.security, newest layout first.
var JavaSecurityFiles = []string{"conf/security/java.security", "jre/lib/security/java.security", "lib/security/java.security"}

// readJavaSecurity reads jdk.tls.disabledAlgorithms from the JDK at home
// into jr (DisabledTLS, SecurityFile, SecurityErr).
func readJavaSecurity(home string, jr *JavaRuntime) {
	if home == "" {
		jr.SecurityErr = "JAVA_HOME is not set"
		return
	}
	var tried []string
	for _, rel := range JavaSecurityFiles {
		path := filepath.Join(home, filepath.FromSlash(rel))
		b, err := os.ReadFile(path)
		if err != nil {
			tried = append(tried, path)
			continue
		}
		jr.SecurityFile = path
		v, ok := javaProperty(string(b), "jdk.tls.disabledAlgorithms")
		if !ok {
			jr.SecurityErr = path + " sets no jdk.tls.disabledAlgorithms"
			return
		}
		jr.DisabledTLS = disabledProtocols(v)
		jr.SecurityKnown = true
		return
	}
	jr.SecurityErr = "no java.security found (tried " + strings.Join(tried, ", ") + ")"
}

// javaProperty reads one property of a java.security text, following
// backslash line continuations.
func javaProperty(text, key string) (string, bool) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		v = strings.TrimSpace(v)
		for strings.HasSuffix(v, `\`) && i+1 < len(lines) {
			i++
			v = strings.TrimSuffix(v, `\`) + strings.TrimSpace(lines[i])
		}
		return v, true
	}
	return "", false
}

// disabledProtocols keeps the protocol names of a disabledAlgorithms list
// ("SSLv3, TLSv1, TLSv1.1, RC4, DH keySize < 1024" -> SSLv3, TLSv1, TLSv1.1).
func disabledProtocols(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		switch e {
		case "SSLv2", "SSLv2Hello", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "DTLSv1.0", "DTLSv1.2":
			out = append(out, e)
		}
	}
	return out
}

// jdkRefuses tells whether the JDK's policy disables a protocol; known is
// false when the policy could not be read.
func jdkRefuses(j JavaRuntime, proto string) (refused, known bool) {
	if !j.SecurityKnown {
		return false, false
	}
	for _, d := range j.DisabledTLS {
		if strings.EqualFold(d, proto) {
			return true, true
		}
	}
	return false, true
}

func jdkPolicyText(j JavaRuntime) string {
	if !j.SecurityKnown {
		return fmt.Sprintf("the JDK's jdk.tls.disabledAlgorithms could not be read (%s)", nonEmpty(j.SecurityErr, "no JDK"))
	}
	return fmt.Sprintf("%s: jdk.tls.disabledAlgorithms disables %s", j.SecurityFile, nonEmpty(strings.Join(j.DisabledTLS, ", "), "no protocol"))
}
