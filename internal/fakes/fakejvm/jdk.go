package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// defaultJavaVersion is used when <jdk>/release is missing: a real JDK does
// not need that file, so its absence must not break the fake either.
const defaultJavaVersion = "17.0.15"

type jdkInfo struct {
	Home    string
	Version string
	Date    string
	Vendor  string
}

// findJDK derives the JDK home from this executable's path (<jdk>/bin/java),
// the way the real launcher finds its own installation, and reads release.
func findJDK() jdkInfo {
	info := jdkInfo{Version: defaultJavaVersion, Vendor: "Eclipse Adoptium"}
	exe, err := os.Executable()
	if err != nil {
		return info
	}
	info.Home = filepath.Dir(filepath.Dir(exe))
	f, err := os.Open(filepath.Join(info.Home, "release"))
	if err != nil {
		return info
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.TrimSpace(k) {
		case "JAVA_VERSION":
			if v != "" {
				info.Version = v
			}
		case "JAVA_VERSION_DATE":
			info.Date = v
		case "IMPLEMENTOR":
			info.Vendor = v
		}
	}
	return info
}

// printVersion writes a banner shaped like OpenJDK's. Scripts only look at
// the quoted string on the line containing "version".
func (j jdkInfo) printVersion(w io.Writer, long bool) {
	if strings.HasPrefix(j.Version, "1.") {
		build := strings.TrimPrefix(j.Version, "1.8.0_")
		fmt.Fprintf(w, "openjdk version \"%s\"\n", j.Version)
		fmt.Fprintf(w, "OpenJDK Runtime Environment (build %s-b08)\n", j.Version)
		fmt.Fprintf(w, "OpenJDK 64-Bit Server VM (build 25.%s-b08, mixed mode)\n", build)
		return
	}
	date := j.Date
	if date == "" {
		date = "2025-04-15"
	}
	if long {
		fmt.Fprintf(w, "openjdk %s %s LTS\n", j.Version, date)
	} else {
		fmt.Fprintf(w, "openjdk version \"%s\" %s LTS\n", j.Version, date)
	}
	fmt.Fprintf(w, "OpenJDK Runtime Environment (build %s+6-LTS)\n", j.Version)
	fmt.Fprintf(w, "OpenJDK 64-Bit Server VM (build %s+6-LTS, mixed mode, sharing)\n", j.Version)
}
