package benchpack

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// UpdateReport says what Update changed.
type UpdateReport struct {
	Jars      int   // jars replaced by a new version
	XML       int   // XML files edited
	JarBytes  int64 // size of the new jars
	XMLBefore int64 // size of the edited XML files before
}

// Update applies an update-sized change to a tree Generate wrote, the way a
// u2 update does: 30 jars are replaced by new versions (the old file
// removed, the new one with a bumped version in its name and new content)
// and 5 XML files are edited. The change depends only on seed.
func Update(dir string, seed uint64) (UpdateReport, error) {
	var rep UpdateReport
	g := &gen{rnd: rand.New(rand.NewPCG(seed, 7)), root: dir}
	jars, err := filepath.Glob(filepath.Join(dir, "repository/components/*/org.wso2.carbon.bench.module*.jar"))
	if err != nil {
		return rep, err
	}
	sort.Strings(jars)
	if len(jars) < 30 {
		return rep, fmt.Errorf("%s has %d bench jars; an update replaces 30", dir, len(jars))
	}
	step := len(jars) / 30
	for i := 0; i < 30; i++ {
		old := jars[i*step]
		st, err := os.Stat(old)
		if err != nil {
			return rep, err
		}
		if err := os.Remove(old); err != nil {
			return rep, err
		}
		newPath := strings.TrimSuffix(old, ".jar") + fmt.Sprintf(".%d.jar", seed)
		n, err := g.jar(newPath, st.Size())
		if err != nil {
			return rep, err
		}
		rep.Jars++
		rep.JarBytes += n
	}
	xmls, err := filepath.Glob(filepath.Join(dir, "repository/deployment/server/synapse-configs/default/api/*.xml"))
	if err != nil {
		return rep, err
	}
	sort.Strings(xmls)
	if len(xmls) < 5 {
		return rep, fmt.Errorf("%s has %d API XML files; an update edits 5", dir, len(xmls))
	}
	step = len(xmls) / 5
	for i := 0; i < 5; i++ {
		p := xmls[i*step]
		b, err := os.ReadFile(p)
		if err != nil {
			return rep, err
		}
		rep.XMLBefore += int64(len(b))
		edited := strings.Replace(string(b), "</api>", fmt.Sprintf("  <resource methods=\"GET\" uri-template=\"/update/%d\"><inSequence><send/></inSequence></resource>\n</api>", seed), 1)
		if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
			return rep, err
		}
		rep.XML++
	}
	return rep, nil
}

// jar writes a jar of about size bytes at path.
func (g *gen) jar(path string, size int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	classSize := jarBytes * 2 / classPerJar
	for c := 0; ; c++ {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		if st.Size() >= size-int64(classSize) {
			break
		}
		w, err := zw.Create(fmt.Sprintf("org/wso2/carbon/bench/updated/Class%d.class", c))
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(g.classFile(classSize/2 + g.rnd.IntN(classSize))); err != nil {
			return 0, err
		}
		if err := zw.Flush(); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}
