// Package invocation is the record the fake JVM (internal/fakes/fakejvm)
// keeps of every launch, repository/logs/fakejvm-invocation.json: a JSON
// array, one element per launch, oldest first. The fake writes it;
// internal/testpack reads it for the tests' assertions.
package invocation

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

// File is the record's name in the pack's repository/logs.
const File = "fakejvm-invocation.json"

// Invocation is one launch of the fake JVM.
type Invocation struct {
	Time            time.Time         `json:"time"`
	PID             int               `json:"pid"`
	PPID            int               `json:"ppid"`
	UID             int               `json:"uid"`
	GID             int               `json:"gid"`
	Cwd             string            `json:"cwd"`
	Argv            []string          `json:"argv"`
	JVMOptions      []string          `json:"jvm_options"`    // non -D launcher options, in order
	JVMProperties   map[string]string `json:"jvm_properties"` // -D before the main class, last wins
	MainClass       string            `json:"main_class"`
	ProgramArgs     []string          `json:"program_args"`
	Properties      map[string]string `json:"properties"` // effective: JVM -D, then -D program args
	Env             map[string]string `json:"env"`        // JAVA_HOME, JAVA_OPTS, JVM_MEM_OPTS, CARBON_HOME, HOME, FAKE_CARBON_* when set
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

// Read returns every launch recorded at path, oldest first; none when the
// file does not exist.
func Read(path string) ([]Invocation, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Invocation
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Append adds rec to the record at path under an flock, rewriting the file
// through durable (a synced temp file and a rename) so readers never see it
// torn.
func Append(path string, rec Invocation) error {
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
