package archive

import (
	"path"
	"strings"
)

// checkRel refuses an entry path that is not a clean relative path inside
// the root: absolute, "..", empty or "." components, NUL bytes. The root
// itself is ".".
func checkRel(p string) *UnsafeEntryError {
	switch {
	case p == ".":
		return nil
	case p == "":
		return &UnsafeEntryError{Path: p, Reason: "empty path"}
	case strings.HasPrefix(p, "/"):
		return &UnsafeEntryError{Path: p, Reason: "absolute path"}
	case strings.ContainsRune(p, 0):
		return &UnsafeEntryError{Path: p, Reason: "NUL byte in path"}
	}
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "..":
			return &UnsafeEntryError{Path: p, Reason: `".." in path`}
		case "", ".":
			return &UnsafeEntryError{Path: p, Reason: "path is not clean"}
		}
	}
	return nil
}

// parentOf is the parent of a relative path; "." for top-level entries.
func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// under reports whether p is prefix or below it (both relative, clean).
func under(p, prefix string) bool {
	return prefix == "." || p == prefix || strings.HasPrefix(p, prefix+"/")
}

// cleanRelList validates and cleans caller-given relative paths (excludes,
// restore subsets, kept paths).
func cleanRelList(what string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		c := path.Clean(strings.TrimPrefix(strings.ReplaceAll(p, "\\", "/"), "./"))
		if c == "." || checkRel(c) != nil {
			return nil, &UsageError{What: what, Value: p, Why: "must be a path inside the tree, relative to its root, without .."}
		}
		out = append(out, c)
	}
	return out, nil
}

// UsageError is a bad argument from the caller (an exclude, a restore path).
type UsageError struct {
	What, Value, Why string
}

func (e *UsageError) Error() string { return e.What + " " + quote(e.Value) + ": " + e.Why }
