package archive

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// File names on Linux are bytes: anything but NUL, and "/" between
// components. JSON strings are Unicode, and encoding/json replaces every
// byte that is not UTF-8 with U+FFFD, so a Latin-1 name ("caf\xe9.txt")
// would come back as another name. The manifest therefore writes a name
// that is valid UTF-8 as a JSON string and any other as an object holding
// its bytes in base64: {"base64":"Y2Fm6S50eHQ="}. Control bytes in a valid
// name are escaped by JSON itself (\u0001) and round-trip.

// appendName appends s as a manifest name (see above).
func appendName(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		return appendJSONString(b, s)
	}
	b = append(b, `{"base64":"`...)
	b = base64.StdEncoding.AppendEncode(b, []byte(s))
	return append(b, `"}`...)
}

// parseName reads a manifest name written by appendName.
func parseName(data []byte) (string, error) {
	if len(data) > 0 && data[0] == '{' {
		var o struct {
			B64 *string `json:"base64"`
		}
		if err := json.Unmarshal(data, &o); err != nil {
			return "", err
		}
		if o.B64 == nil {
			return "", errors.New(`a name object needs "base64"`)
		}
		raw, err := base64.StdEncoding.DecodeString(*o.B64)
		if err != nil {
			return "", err
		}
		return string(raw), nil
	}
	var s string
	err := json.Unmarshal(data, &s)
	return s, err
}

// name is a string that reads and writes as a manifest name.
type name string

func (n name) MarshalJSON() ([]byte, error) { return appendName(nil, string(n)), nil }

func (n *name) UnmarshalJSON(data []byte) error {
	s, err := parseName(data)
	*n = name(s)
	return err
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s, which must be valid UTF-8, as a JSON string:
// quotes, backslashes and control characters escaped, the rest as is (what
// encoding/json writes, without its HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	// U+2028 and U+2029 are valid JSON inside strings; left as they are.
	return append(b, '"')
}

// quote quotes a name for a message: control bytes, NULs and bytes that are
// not UTF-8 are escaped, never printed raw.
func quote(s string) string { return strconv.Quote(s) }
