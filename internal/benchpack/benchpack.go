// Package benchpack generates a deterministic tree shaped like a WSO2 pack,
// for the snapshot benchmarks: jars that are real zip archives of class-like
// content, a JDK-like tree of binaries, thousands of small XML and JSON
// files, and a database-like file. Compression ratios come out close to a
// real pack's because the content mixes repetitive structure with noise the
// way class files and binaries do.
package benchpack

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Sizes at scale 1.0: about 750 MB in all.
const (
	jars        = 1000
	jarBytes    = 380 << 10 // compressed size of the average jar
	jdkBytes    = 300 << 20
	smallFiles  = 6000
	dbBytes     = 30 << 20
	classPerJar = 60
)

// Generate writes the tree under dir (created if needed). scale shrinks or
// grows every part (0.1 gives about 75 MB); the output depends only on it.
func Generate(dir string, scale float64) error {
	g := &gen{rnd: rand.New(rand.NewPCG(42, uint64(scale*1000))), root: dir}
	steps := []func(float64) error{g.jars, g.jdk, g.small, g.db}
	for _, step := range steps {
		if err := step(scale); err != nil {
			return err
		}
	}
	return nil
}

type gen struct {
	rnd  *rand.Rand
	root string
}

func (g *gen) create(rel string) (*os.File, error) {
	p := filepath.Join(g.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}

// noise fills b with random bytes.
func (g *gen) noise(b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := g.rnd.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
}

var words = []string{"org/wso2/carbon/", "apimgt/", "impl/", "Ljava/lang/String;", "Ljava/util/Map;", "getInstance",
	"<init>", "toString", "hashCode", "equals", "Code", "LineNumberTable", "LocalVariableTable", "StackMapTable",
	"SourceFile", "RuntimeVisibleAnnotations", "Lorg/osgi/service/component/annotations/Component;", "java/lang/Object"}

// classFile imitates a class file: a constant pool of repeated identifiers,
// then bytecode that is closer to noise.
func (g *gen) classFile(size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, 0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 61)
	for len(b) < size*3/5 {
		w := words[g.rnd.IntN(len(words))]
		b = append(b, 1, 0, byte(len(w)))
		b = append(b, w...)
		if g.rnd.IntN(4) == 0 {
			b = append(b, fmt.Sprintf("Method%d", g.rnd.IntN(500))...)
		}
	}
	code := make([]byte, size-len(b))
	g.noise(code)
	// Bytecode has a skewed alphabet: fold most bytes into a small range.
	for i := range code {
		if code[i] > 96 {
			code[i] = code[i] % 48
		}
	}
	return append(b, code...)
}

func (g *gen) jars(scale float64) error {
	n := max(1, int(jars*scale))
	for i := range n {
		dir := "repository/components/plugins"
		if i%4 == 0 {
			dir = "repository/components/lib"
		}
		f, err := g.create(fmt.Sprintf("%s/org.wso2.carbon.bench.module%04d_4.2.%d.jar", dir, i, i%7))
		if err != nil {
			return err
		}
		zw := zip.NewWriter(f)
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(w, flate.BestSpeed)
		})
		// Vary jar sizes around the average (a few large, many small).
		classes := classPerJar/2 + g.rnd.IntN(classPerJar)
		classSize := jarBytes * 2 / classPerJar
		for c := range classes {
			w, err := zw.Create(fmt.Sprintf("org/wso2/carbon/bench/m%d/Class%d.class", i, c))
			if err != nil {
				return err
			}
			if _, err := w.Write(g.classFile(classSize/2 + g.rnd.IntN(classSize))); err != nil {
				return err
			}
		}
		w, _ := zw.Create("META-INF/MANIFEST.MF")
		fmt.Fprintf(w, "Manifest-Version: 1.0\nBundle-SymbolicName: org.wso2.carbon.bench.module%d\nBundle-Version: 4.2.%d\n", i, i%7)
		if err := zw.Close(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// jdk imitates a JDK: one large runtime image, shared libraries, small
// launchers. Machine code compresses about 2:1.
func (g *gen) jdk(scale float64) error {
	total := int(float64(jdkBytes) * scale)
	parts := []struct {
		rel   string
		share float64
	}{{"jdk/lib/modules", 0.45}, {"jdk/lib/server/libjvm.so", 0.08}, {"jdk/lib/src.zip", 0.18}}
	for i := range 40 {
		parts = append(parts, struct {
			rel   string
			share float64
		}{fmt.Sprintf("jdk/lib/lib%02d.so", i), 0.006})
	}
	for i := range 30 {
		parts = append(parts, struct {
			rel   string
			share float64
		}{fmt.Sprintf("jdk/bin/tool%02d", i), 0.001})
	}
	rest := 1.0
	for _, p := range parts {
		rest -= p.share
	}
	parts = append(parts, struct {
		rel   string
		share float64
	}{"jdk/lib/ct.sym", rest})
	buf := make([]byte, 1<<20)
	for _, p := range parts {
		f, err := g.create(p.rel)
		if err != nil {
			return err
		}
		for left := int(float64(total) * p.share); left > 0; left -= len(buf) {
			chunk := buf[:min(left, len(buf))]
			g.noise(chunk)
			for i := 0; i < len(chunk); i++ {
				// Runs of zeros and a skewed alphabet, as in machine code.
				switch {
				case chunk[i] < 40:
					end := min(len(chunk), i+int(chunk[i]))
					clear(chunk[i:end])
					i = end
				case chunk[i] > 160:
					chunk[i] &= 0x3f
				}
			}
			if _, err := f.Write(chunk); err != nil {
				return err
			}
		}
		if err := f.Chmod(0o755); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) small(scale float64) error {
	n := max(1, int(smallFiles*scale))
	for i := range n {
		var rel, body string
		switch i % 3 {
		case 0:
			rel = fmt.Sprintf("repository/deployment/server/synapse-configs/default/api/api%04d.xml", i)
			body = fmt.Sprintf("<?xml version=\"1.0\"?>\n<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"api%d\" context=\"/api%d/v%d\">\n", i, i, i%5)
			for r := range 10 + g.rnd.IntN(40) {
				body += fmt.Sprintf("  <resource methods=\"GET POST\" uri-template=\"/items/%d/{id}\"><inSequence><property name=\"p%d\" value=\"%x\"/><send/></inSequence></resource>\n", r, r, g.rnd.Uint32())
			}
			body += "</api>\n"
		case 1:
			rel = fmt.Sprintf("repository/resources/api_files/meta%04d.json", i)
			body = fmt.Sprintf("{\"id\": %d, \"name\": \"api%d\", \"version\": \"1.0.%d\", \"hash\": \"%016x\", \"scopes\": [", i, i, i%9, g.rnd.Uint64())
			for s := range 5 + g.rnd.IntN(30) {
				body += fmt.Sprintf("{\"key\": \"scope_%d\", \"roles\": \"admin,role%d\"},", s, g.rnd.IntN(100))
			}
			body += "{}]}\n"
		default:
			rel = fmt.Sprintf("repository/conf/templates/tpl%04d.xml.j2", i)
			body = "<config>\n"
			for r := range 20 + g.rnd.IntN(30) {
				body += fmt.Sprintf("  {%% if item%d.enabled %%}<Item%d>{{item%d.value}}</Item%d>{%% endif %%}\n", r, r, r, r)
			}
			body += "</config>\n"
		}
		f, err := g.create(rel)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, body); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// db imitates an H2 MVStore file: 4 KiB pages, partly filled with records.
func (g *gen) db(scale float64) error {
	f, err := g.create("repository/database/WSO2AM_DB.mv.db")
	if err != nil {
		return err
	}
	page := make([]byte, 4096)
	for left := int(float64(dbBytes) * scale); left > 0; left -= len(page) {
		clear(page)
		used := g.rnd.IntN(len(page))
		for o := 0; o+64 < used; o += 64 {
			copy(page[o:], fmt.Sprintf("row:%08d|AM_API|api%05d|PUBLISHED|%x", g.rnd.IntN(1e6), g.rnd.IntN(1e4), g.rnd.Uint32()))
		}
		if _, err := f.Write(page); err != nil {
			return err
		}
	}
	return f.Close()
}

// GenerateEntries writes a tree of about n entries under dir (created if
// needed), for the memory benchmarks: directories of 100 small files each,
// the way a pack with many deployed artefacts or tenants looks, with a
// symlink in every directory. Contents are a few hundred bytes, so the
// entry count, not the byte count, dominates.
func GenerateEntries(dir string, n int) error {
	const perDir = 100
	g := &gen{rnd: rand.New(rand.NewPCG(7, uint64(n))), root: dir}
	body := make([]byte, 0, 1024)
	for i, made := 0, 0; made < n; i++ {
		d := filepath.Join(dir, fmt.Sprintf("repository/tenants/%03d/artifacts%04d", i/100, i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		made++
		for k := 0; k < perDir-1 && made < n; k++ {
			body = body[:0]
			body = fmt.Appendf(body, "<artifact id=\"%d-%d\" version=\"1.0.%d\">\n", i, k, g.rnd.IntN(9))
			for r := range 2 + g.rnd.IntN(6) {
				body = fmt.Appendf(body, "  <property name=\"p%d\" value=\"%x\"/>\n", r, g.rnd.Uint64())
			}
			body = append(body, "</artifact>\n"...)
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("artifact-%03d.xml", k)), body, 0o644); err != nil {
				return err
			}
			made++
		}
		if made < n {
			if err := os.Symlink("artifact-000.xml", filepath.Join(d, "current.xml")); err != nil {
				return err
			}
			made++
		}
	}
	return nil
}
