package archive

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Prune removes snapshots that no retention rule keeps. A snapshot is kept
// when it is among the KeepLast newest, younger than KeepWithin, protected
// (an open update depends on it), or the newest one whose last verification
// passed; and whatever the rules say, while a running process reads it (a
// live lease, see Lease). Incomplete snapshots are removed unless protected
// or in use. Then the content no remaining snapshot needs is removed from
// the store's packs (see sweep): content a kept snapshot needs never is,
// and a pack holding content a snapshot in use needs stays as it is.
// Leases whose process is gone are removed (not on a dry run).
func (s *Store) Prune(o PruneOptions) (*PruneReport, error) {
	if o.KeepLast <= 0 && o.KeepWithin <= 0 {
		return nil, &UsageError{What: "retention", Value: "none", Why: "set keep-last or keep-within (or both): pruning without a rule would remove everything"}
	}
	if o.KeepLast < 0 || o.KeepWithin < 0 {
		return nil, &UsageError{What: "retention", Value: fmt.Sprint(o.KeepLast, o.KeepWithin), Why: "must not be negative"}
	}
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	inUse, stale, err := s.readLeases()
	if err != nil {
		return nil, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	rep := pruneDecide(list, o, now(), inUse)
	if o.DryRun {
		return rep, nil
	}
	rep.StaleLeases = s.cleanStaleLeases(stale)
	removed := rep.Removed
	rep.Removed = []PruneDecision{}
	for _, d := range removed {
		err := s.Delete(d.ID)
		var iu *InUseError
		if errors.As(err, &iu) {
			// A reader took it since the decision: kept.
			rep.Kept = append(rep.Kept, PruneDecision{ID: d.ID, Reason: "in use by " + describeLeases(iu.Leases), InUse: iu.Leases})
			s.log.Info().Str("id", d.ID).Str("by", describeLeases(iu.Leases)).Msg("snapshot in use: kept")
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("pruning: %w", err)
		}
		rep.Removed = append(rep.Removed, d)
		testHook("prune:deleted", d.ID)
		s.log.Info().Str("id", d.ID).Str("why", d.Reason).Msg("snapshot pruned")
	}
	sw, err := s.sweep()
	if err != nil {
		return rep, fmt.Errorf("pruning the store's content: %w", err)
	}
	rep.Swept = sw
	if sw.BytesFreed > 0 {
		s.log.Info().Int("packs_removed", sw.PacksRemoved).Int("packs_repacked", sw.PacksRepacked).Int64("bytes_freed", sw.BytesFreed).Msg("content no snapshot needs removed")
	}
	return rep, nil
}

// pruneDecide applies the rules to a list (oldest first, as List returns).
// A snapshot in use that no rule keeps is kept for that.
func pruneDecide(list []Info, o PruneOptions, now time.Time, inUse map[string][]LeaseInfo) *PruneReport {
	rep := &PruneReport{Kept: []PruneDecision{}, Removed: []PruneDecision{}, DryRun: o.DryRun}
	newestVerified := ""
	for i := len(list) - 1; i >= 0; i-- {
		if in := list[i]; !in.Incomplete && in.Verified != nil && in.Verified.OK {
			newestVerified = in.ID
			break
		}
	}
	rank := 0
	for i := len(list) - 1; i >= 0; i-- {
		in := list[i]
		keep := func(why string) { rep.Kept = append(rep.Kept, PruneDecision{ID: in.ID, Reason: why}) }
		drop := func(why string) {
			if ls := inUse[in.ID]; len(ls) > 0 {
				rep.Kept = append(rep.Kept, PruneDecision{ID: in.ID, Reason: "in use by " + describeLeases(ls), InUse: ls})
				return
			}
			rep.Removed = append(rep.Removed, PruneDecision{ID: in.ID, Reason: why})
		}
		switch {
		case slices.Contains(o.Protect, in.ID):
			keep("protected: an open update depends on it")
		case in.Incomplete:
			drop("incomplete")
			continue
		case in.ID == newestVerified:
			keep("newest verified")
		case o.KeepLast > 0 && rank < o.KeepLast:
			keep(fmt.Sprintf("among the newest %d", o.KeepLast))
		case o.KeepWithin > 0 && now.Sub(in.Created) < o.KeepWithin:
			keep(fmt.Sprintf("younger than %s", o.KeepWithin))
		default:
			drop(dropReason(o))
		}
		if !in.Incomplete {
			rank++
		}
	}
	return rep
}

func dropReason(o PruneOptions) string {
	switch {
	case o.KeepLast > 0 && o.KeepWithin > 0:
		return fmt.Sprintf("not among the newest %d and older than %s", o.KeepLast, o.KeepWithin)
	case o.KeepLast > 0:
		return fmt.Sprintf("not among the newest %d", o.KeepLast)
	default:
		return fmt.Sprintf("older than %s", o.KeepWithin)
	}
}
