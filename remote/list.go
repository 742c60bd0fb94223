package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Snapshot is one carbonguard snapshot in the repository.
type Snapshot struct {
	Meta
	ResticID string    `json:"restic_id"`
	Time     time.Time `json:"time"` // when it was pushed
	Host     string    `json:"host"` // the host that pushed it
	File     string    `json:"file"` // the stream's name inside the restic snapshot
	Bytes    int64     `json:"bytes,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	// Complete is false for a push that did not finish: never pulled.
	Complete bool `json:"complete"`
}

type resticSnapshot struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	Paths    []string  `json:"paths"`
	Tags     []string  `json:"tags"`
}

func parseSnapshot(rs resticSnapshot) (Snapshot, bool) {
	s := Snapshot{ResticID: rs.ID, Time: rs.Time, Host: rs.Hostname}
	marked := false
	for _, t := range rs.Tags {
		switch {
		case t == tagMarker:
			marked = true
		case strings.HasPrefix(t, tagPack):
			s.Pack = t[len(tagPack):]
		case strings.HasPrefix(t, tagHome):
			s.Home = t[len(tagHome):]
		case strings.HasPrefix(t, tagID):
			s.ID = t[len(tagID):]
		case strings.HasPrefix(t, tagReason):
			s.Reason = t[len(tagReason):]
		case strings.HasPrefix(t, tagLevel):
			s.Level = t[len(tagLevel):]
		case strings.HasPrefix(t, tagProd):
			s.Product = t[len(tagProd):]
		case strings.HasPrefix(t, tagSHA):
			s.SHA256 = t[len(tagSHA):]
		case strings.HasPrefix(t, tagBytes):
			s.Bytes, _ = strconv.ParseInt(t[len(tagBytes):], 10, 64)
		}
	}
	if len(rs.Paths) == 1 {
		s.File = rs.Paths[0]
	}
	s.Complete = s.SHA256 != "" && s.File != ""
	return s, marked && s.ID != "" && s.Pack != ""
}

// List returns carbonguard's snapshots in the repository, oldest first;
// pack filters by pack name when not empty.
func (r *Repo) List(ctx context.Context, pack string) ([]Snapshot, error) {
	args := []string{"--json", "--tag", tagMarker}
	if pack != "" {
		args = []string{"--json", "--tag", tagMarker + "," + tagPack + tagValue(pack)}
	}
	out, err := r.run(ctx, "snapshots", args...)
	if err != nil {
		return nil, err
	}
	var raw []resticSnapshot
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, &ResticError{Op: "snapshots", Repo: r.redacted, Kind: KindOther, Err: fmt.Errorf("reading restic's JSON: %w", err)}
	}
	var list []Snapshot
	for _, rs := range raw {
		if s, ok := parseSnapshot(rs); ok {
			list = append(list, s)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Time.Before(list[j].Time) })
	return list, nil
}

// find returns the repository's copies of one snapshot, complete ones first.
func (r *Repo) find(ctx context.Context, pack, id string) ([]Snapshot, error) {
	all, err := r.List(ctx, pack)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, s := range all {
		if s.ID == id {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Complete && !out[j].Complete })
	return out, nil
}

// Find returns the newest complete copy of snapshot id; pack may be empty
// when only one pack pushed that ID.
func (r *Repo) Find(ctx context.Context, pack, id string) (Snapshot, error) {
	all, err := r.List(ctx, pack)
	if err != nil {
		return Snapshot{}, err
	}
	var found *Snapshot
	packs := map[string]bool{}
	incomplete := false
	for i := range all {
		s := all[i]
		if s.ID != id {
			continue
		}
		if !s.Complete {
			incomplete = true
			continue
		}
		packs[s.Pack] = true
		if found == nil || s.Time.After(found.Time) {
			found = &all[i]
		}
	}
	if len(packs) > 1 {
		names := make([]string, 0, len(packs))
		for p := range packs {
			names = append(names, p)
		}
		sort.Strings(names)
		return Snapshot{}, &AmbiguousError{ID: id, Packs: names}
	}
	if found == nil {
		return Snapshot{}, &NotFoundError{ID: id, Incomplete: incomplete}
	}
	return *found, nil
}
