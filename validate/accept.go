package validate

import (
	"fmt"
	"strings"
	"time"
)

// Acceptance is an accepted risk: failures of one check (optionally only
// those about one key or subject) that a person reviewed and accepted, with
// the reason, until an optional expiry.
type Acceptance struct {
	ID     string // check ID
	Key    string // optional: only results whose Key or Subject is this
	Reason string // required
	// Expires is the last day the acceptance holds (it lapses at the end of
	// that day, UTC); zero = no expiry.
	Expires time.Time
	// Where names the declaration for messages, e.g.
	// "carbonguard.toml [[check.accept]] #2".
	Where string
}

// ParseAcceptance builds an Acceptance from carbonguard.toml's strings;
// expires is "" or YYYY-MM-DD. Unknown IDs are caught by Run (they depend on
// the registry in use).
func ParseAcceptance(id, key, reason, expires, where string) (Acceptance, error) {
	a := Acceptance{ID: strings.ToUpper(strings.TrimSpace(id)), Key: strings.TrimSpace(key), Reason: strings.TrimSpace(reason), Where: where}
	if expires = strings.TrimSpace(expires); expires != "" {
		t, err := time.Parse("2006-01-02", expires)
		if err != nil {
			return a, &OptionsError{Where: where, What: fmt.Sprintf("expires %q is not a date: use YYYY-MM-DD", expires)}
		}
		a.Expires = t
	}
	if err := a.validate(nil); err != nil {
		return a, &OptionsError{Where: where, What: err.Error()}
	}
	return a, nil
}

// validate checks the acceptance; known == nil skips the ID lookup.
func (a Acceptance) validate(known map[string]bool) error {
	id := strings.ToUpper(strings.TrimSpace(a.ID))
	switch {
	case id == "":
		return fmt.Errorf("acceptance without id: name the check ID, e.g. id = \"CG-SEC-060\"")
	case known != nil && !known[id]:
		return fmt.Errorf("acceptance names unknown check ID %q", a.ID)
	case strings.TrimSpace(a.Reason) == "":
		return fmt.Errorf("acceptance of %s has no reason: say why the risk is accepted (reason = \"...\")", id)
	}
	return nil
}

func (a Acceptance) expired(now time.Time) bool {
	return !a.Expires.IsZero() && !now.Before(a.Expires.AddDate(0, 0, 1))
}

func (a Acceptance) expiresString() string {
	if a.Expires.IsZero() {
		return ""
	}
	return a.Expires.Format("2006-01-02")
}

func (a Acceptance) keySuffix() string {
	if a.Key == "" {
		return ""
	}
	return " (" + a.Key + ")"
}

// matches reports whether the acceptance covers a failed finding.
func (a Acceptance) matches(fd Finding) bool {
	if !strings.EqualFold(strings.TrimSpace(a.ID), fd.CheckID) {
		return false
	}
	return a.Key == "" || a.Key == fd.Key || a.Key == fd.Subject
}

// usableAcceptances returns the indexes of the acceptances in force at now,
// adding a warning for each expired one.
func usableAcceptances(accept []Acceptance, now time.Time, noAccept bool, warnings *[]string) []int {
	if noAccept {
		return nil
	}
	var out []int
	for i, a := range accept {
		if a.expired(now) {
			*warnings = append(*warnings, fmt.Sprintf("%s: acceptance of %s%s expired on %s and no longer applies; review it", a.whereOr(i), strings.ToUpper(a.ID), a.keySuffix(), a.expiresString()))
			continue
		}
		out = append(out, i)
	}
	return out
}

func (a Acceptance) whereOr(i int) string {
	if a.Where != "" {
		return a.Where
	}
	return fmt.Sprintf("[[check.accept]] #%d", i+1)
}
