package clone

import (
	"fmt"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// RefusedError says why a copy was not booted: it would use production's
// data, it could not be isolated and the host's network was not accepted,
// or it lies where it must not.
type RefusedError struct {
	Why string
	// Datasources are the copy's datasources that still point where the
	// live node's do, when that is why.
	Datasources []pack.Datasource
	// NoIsolation is set when the refusal is for want of a network
	// namespace.
	NoIsolation bool
}

func (e *RefusedError) Error() string {
	if len(e.Datasources) == 0 {
		return "refusing to boot the copy: " + e.Why
	}
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to boot the copy: %s:", e.Why)
	for _, d := range e.Datasources {
		fmt.Fprintf(&b, "\n  %s", d.What)
		if d.URL.Pos.File != "" {
			fmt.Fprintf(&b, " (%s)", d.URL.Pos)
		}
		fmt.Fprintf(&b, ": %s", d.Why)
	}
	return b.String()
}

// OverrideError is a [drill] overrides fragment that cannot be merged into
// the copy's configuration.
type OverrideError struct {
	File string
	Why  string
}

func (e *OverrideError) Error() string {
	return fmt.Sprintf("overrides for the copy's %s: %s", e.File, e.Why)
}
