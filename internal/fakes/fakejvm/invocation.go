package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// invocation is one launch as recorded in repository/logs/fakejvm-invocation.json
// (a JSON array, one element per launch, oldest first). internal/testpack
// decodes the same field names.
type invocation struct {
	Time            time.Time         `json:"time"`
	PID             int               `json:"pid"`
	PPID            int               `json:"ppid"`
	UID             int               `json:"uid"`
	GID             int               `json:"gid"`
	Cwd             string            `json:"cwd"`
	Argv            []string          `json:"argv"`
	JVMOptions      []string          `json:"jvm_options"`
	JVMProperties   map[string]string `json:"jvm_properties"`
	MainClass       string            `json:"main_class"`
	ProgramArgs     []string          `json:"program_args"`
	Properties      map[string]string `json:"properties"`
	Env             map[string]string `json:"env"`
	JavaHome        string            `json:"java_home"`
	JavaVersion     string            `json:"java_version"`
	CarbonHome      string            `json:"carbon_home"`
	Product         string            `json:"product"`
	ServerName      string            `json:"server_name"`
	Behaviour       string            `json:"behaviour"`
	BehaviourSource string            `json:"behaviour_source"`
	Offset          int               `json:"offset"`
	Ports           map[string]int    `json:"ports,omitempty"`
}

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

// appendInvocation adds rec to the array under an flock, rewriting the file
// through a synced temp file and a rename so readers never see it torn.
func appendInvocation(path string, rec invocation) error {
	dir := filepath.Dir(path)
	lock, err := os.OpenFile(filepath.Join(dir, ".fakejvm-invocation.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	var all []json.RawMessage
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case len(strings.TrimSpace(string(b))) > 0:
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("%s is not a JSON array: %w", path, err)
		}
	}
	one, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	all = append(all, one)
	out, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, append(out, '\n'), 0o644)
}
