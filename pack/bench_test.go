package pack

import "testing"

// BenchmarkOpen measures reading a stock APIM 4.2 pack: product detection,
// TOML parse, key positions, defaults, port table.
func BenchmarkOpen(b *testing.B) {
	for b.Loop() {
		if _, err := Open(fixture("apim-4.2")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenLegacy measures reading the Carbon 4.4 XML layout.
func BenchmarkOpenLegacy(b *testing.B) {
	for b.Loop() {
		if _, err := Open(fixture("carbon-4.4")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValue(b *testing.B) {
	p, err := Open(fixture("apim-4.2-hardened"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = p.Value("keystore.internal.password")
	}
}
