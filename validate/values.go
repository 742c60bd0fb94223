package validate

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// Helpers shared by every checks_*.go file: turning pack values into text
// and into pre-filled results. Family-specific helpers live in their own
// file with a family prefix to keep names apart.

// valueText is a value as people read it: strings as they are, arrays
// joined with commas, nil as "".
func valueText(v pack.Value) string { return rawText(v.Raw) }

func rawText(raw any) string {
	switch x := raw.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = rawText(e)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(x, ",")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// valueBool reads a boolean value ("true"/"false" strings included); ok is
// false when the value is unset, externalised or not a boolean.
func valueBool(v pack.Value) (b, ok bool) {
	if !v.Set() || v.Externalised {
		return false, false
	}
	switch x := v.Raw.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

// resultAt starts a result about one value: key, value (masked when the key
// names a secret), source and position filled in.
func resultAt(st Status, v pack.Value, msg string) Result {
	return Result{
		Status:  st,
		Key:     v.Key,
		Value:   maskIfSecret(v.Key, valueText(v)),
		Source:  v.Source,
		Pos:     v.Pos,
		Message: msg,
	}
}

// externalisedResult is the Unknown result for a value whose runtime value
// carbonguard cannot see.
func externalisedResult(v pack.Value, what string) Result {
	r := resultAt(Unknown, v, what+" cannot be judged: the value is externalised")
	r.Reason = fmt.Sprintf("%s is %s, resolved only at run time ($secret{}, $env{}, $sys{} or a template)", v.Key, valueText(v))
	return r
}

// relPath names a file of the pack relative to its home, with forward
// slashes, as positions do.
func relPath(p *pack.Pack, abs string) string {
	if abs == "" {
		return ""
	}
	r, err := filepath.Rel(p.Home, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(r)
}
