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

// maxLinkHops matches Linux's limit on symlinks followed in one lookup.
const maxLinkHops = 40

// checkLinks refuses symlinks whose target leaves the root, resolving
// through the other symlinks of the same tree (a lexical check alone would
// pass "a -> ." plus "b -> a/.."). It needs the whole set, so it runs after
// the last entry; nothing is ever written through a symlink meanwhile, so a
// refused tree has written nothing outside its staging directory.
func checkLinks(links map[string]string) *UnsafeEntryError {
	for p, target := range links {
		if reason := escapes(links, p, target); reason != "" {
			return &UnsafeEntryError{Path: p, Reason: "symlink to " + target + " " + reason}
		}
	}
	return nil
}

// escapes resolves target as seen from the symlink at p and says why it
// leaves the root, or "" when it stays inside.
func escapes(links map[string]string, p, target string) string {
	if strings.HasPrefix(target, "/") {
		return "is absolute (it must stay inside the tree)"
	}
	var stack []string
	if dir := parentOf(p); dir != "." {
		stack = strings.Split(dir, "/")
	}
	queue := strings.Split(target, "/")
	hops := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return "leaves the tree"
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c)
		t, ok := links[strings.Join(stack, "/")]
		if !ok {
			continue
		}
		if hops++; hops > maxLinkHops {
			return "resolves through too many symlinks"
		}
		if strings.HasPrefix(t, "/") {
			return "leads through an absolute symlink " + strings.Join(stack, "/") + " -> " + t
		}
		stack = stack[:len(stack)-1]
		queue = append(strings.Split(t, "/"), queue...)
	}
	return ""
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

func quote(s string) string { return `"` + s + `"` }
