package main

import "os"

// recordedEnv lists the variables worth asserting on. Nothing else is copied,
// so secrets a wrapper passes through the environment never land on disk.
var recordedEnv = []string{"JAVA_HOME", "JAVA_OPTS", "JVM_MEM_OPTS", "CARBON_HOME", "HOME",
	"FAKE_CARBON_BEHAVIOUR", "FAKE_CARBON_DELAY", "FAKE_CARBON_CRASH_AFTER", "FAKE_CARBON_OSGI_INTERVAL"}

func captureEnv() map[string]string {
	env := map[string]string{}
	for _, k := range recordedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return env
}
