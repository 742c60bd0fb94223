package pack

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScanKeyPositions(t *testing.T) {
	t.Parallel()
	src := `# comment
title = "x" # trailing
[server]
hostname = "localhost"
offset = 1

[transport.https]
properties.port = 9443
"quoted.key" = 1
'literal.key' = 2

[[apim.gateway.environment]]
name = "Default"
list = [
  "a", # comment ] inside
  "b]",
]
[apim.gateway.environment.extra]
x = 1

[[apim.gateway.environment]]
name = "Second"
multi = """
not = a key
"""
inline = { a = 1, b = { c = "}" } }

[ database . apim_db ]
url = 'jdbc:h2:./x'
[[event_listener]]
id = "t"
[event_listener.properties]
'header.X-WSO2-KEY-MANAGER' = "default"
`
	got := scanKeyPositions(src)
	want := map[string]int{
		"title":                                                   2,
		"server":                                                  3,
		"server.hostname":                                         4,
		"server.offset":                                           5,
		"transport.https":                                         7,
		"transport.https.properties":                              8,
		"transport.https.properties.port":                         8,
		"transport.https.'quoted.key'":                            9,
		"transport.https.'literal.key'":                           10,
		"apim.gateway.environment":                                12,
		"apim.gateway.environment.0":                              12,
		"apim.gateway.environment.0.name":                         13,
		"apim.gateway.environment.0.list":                         14,
		"apim.gateway.environment.0.extra":                        18,
		"apim.gateway.environment.0.extra.x":                      19,
		"apim.gateway.environment.1":                              21,
		"apim.gateway.environment.1.name":                         22,
		"apim.gateway.environment.1.multi":                        23,
		"apim.gateway.environment.1.inline":                       26,
		"apim.gateway.environment.1.inline.a":                     26,
		"apim.gateway.environment.1.inline.b":                     26,
		"apim.gateway.environment.1.inline.b.c":                   26,
		"database.apim_db":                                        28,
		"database.apim_db.url":                                    29,
		"event_listener":                                          30,
		"event_listener.0":                                        30,
		"event_listener.0.id":                                     31,
		"event_listener.0.properties":                             32,
		"event_listener.0.properties.'header.X-WSO2-KEY-MANAGER'": 33,
	}
	assert.Equal(t, want, got)
	assert.NotContains(t, got, "not", "keys inside multi-line strings are not keys")
}

func TestSplitJoinKey(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"a.b.c": {"a", "b", "c"},
		"synapse_properties.'inbound.port.offset.enable'": {"synapse_properties", "inbound.port.offset.enable"},
		`a."b.c".d`: {"a", "b.c", "d"},
		" a . b ":   {"a", "b"},
		"a.'":       {"a", ""},
	}
	for in, want := range tests {
		assert.Equal(t, want, splitKey(in), in)
	}
	assert.Equal(t, "synapse_properties.'inbound.port.offset.enable'", joinKey([]string{"synapse_properties", "inbound.port.offset.enable"}))
	assert.Equal(t, `a."it's"`, joinKey([]string{"a", "it's"}))
	assert.Equal(t, "a.b", canonKey(`a."b"`))
}
