package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// updateSpec is <server>/<product-code>/<level>/update.toml:
//
//	description = "Security fixes for the gateway"
//	remove = ["repository/components/plugins/old_1.0.0.jar"]
//	self_update = false    # not used per level; see tool.toml
//	fail_halfway = false   # apply half of this level's changes, then exit 1
//	exit_code = 0          # 4: fail and roll the whole run back, exit 4 ("Reverted")
//
//	[[rename]]             # a component version bump: _4.8.1.jar -> _4.8.1.1.jar
//	from = "repository/components/plugins/org.wso2.carbon.core_4.8.1.jar"
//	to   = "repository/components/plugins/org.wso2.carbon.core_4.8.1.1.jar"
//
//	[[jar]]                # a jar built at apply time (no binaries in git)
//	path = "repository/components/plugins/org.wso2.fake.broken_1.0.0.jar"
//	[jar.entries]
//	"META-INF/MANIFEST.MF" = "Manifest-Version: 1.0\n"
//	"META-INF/fake-carbon.properties" = "behaviour=fail-config\n"
//
//	[[merge]]              # a text file merged three ways
//	path     = "repository/conf/log4j2.properties"
//	original = "merge/log4j2.properties.original"  # the previous level's copy
//	new      = "merge/log4j2.properties.new"       # this level's copy
//
// Files under <level>/files/ are copied over the pack (added or updated).
type updateSpec struct {
	Description string      `toml:"description"`
	Remove      []string    `toml:"remove"`
	FailHalfway bool        `toml:"fail_halfway"`
	ExitCode    int         `toml:"exit_code"`
	Rename      []renameOp  `toml:"rename"`
	Jar         []jarOp     `toml:"jar"`
	Merge       []mergeSpec `toml:"merge"`

	level int
	dir   string
}

type renameOp struct {
	From string `toml:"from"`
	To   string `toml:"to"`
}

type jarOp struct {
	Path    string            `toml:"path"`
	Entries map[string]string `toml:"entries"`
}

type mergeSpec struct {
	Path     string `toml:"path"`
	Original string `toml:"original"`
	New      string `toml:"new"`
}

// toolSpec is <server>/tool.toml.
type toolSpec struct {
	Version    string `toml:"version"`
	SelfUpdate bool   `toml:"self_update"`
}

type credentialSpec struct {
	Username string `toml:"username"`
	Password string `toml:"password"`
}

type updateServer struct {
	root string
}

func openServer() (*updateServer, error) {
	root := os.Getenv("FAKE_U2_SERVER")
	if root == "" {
		return nil, errors.New("unable to reach the update server: FAKE_U2_SERVER is not set (the fake u2 reads updates from that directory)")
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("unable to reach the update server: %s is not a directory", root)
	}
	return &updateServer{root: root}, nil
}

func (s *updateServer) tool() (toolSpec, error) {
	var t toolSpec
	_, err := toml.DecodeFile(filepath.Join(s.root, "tool.toml"), &t)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("update server tool.toml: %w", err)
	}
	return t, nil
}

func (s *updateServer) credentials() (*credentialSpec, error) {
	var c credentialSpec
	_, err := toml.DecodeFile(filepath.Join(s.root, "credentials.toml"), &c)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update server credentials.toml: %w", err)
	}
	return &c, nil
}

// levels lists the update levels the server has for the product.
func (s *updateServer) levels(code string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, code))
	if err != nil {
		return nil, errUnknownProduct
	}
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

func (s *updateServer) update(code string, level int) (*updateSpec, error) {
	dir := filepath.Join(s.root, code, strconv.Itoa(level))
	u := &updateSpec{level: level, dir: dir}
	md, err := toml.DecodeFile(filepath.Join(dir, "update.toml"), u)
	if err != nil {
		return nil, fmt.Errorf("update level %d: %w", level, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("update level %d: unknown keys in update.toml: %s", level, strings.Join(keys, ", "))
	}
	for _, p := range append(append([]string{}, u.Remove...), u.pathsForCheck()...) {
		if !safeRel(p) {
			return nil, fmt.Errorf("update level %d: unsafe path %q", level, p)
		}
	}
	return u, nil
}

func (u *updateSpec) pathsForCheck() []string {
	var ps []string
	for _, r := range u.Rename {
		ps = append(ps, r.From, r.To)
	}
	for _, j := range u.Jar {
		ps = append(ps, j.Path)
	}
	for _, m := range u.Merge {
		ps = append(ps, m.Path, m.Original, m.New)
	}
	return ps
}

func safeRel(p string) bool {
	if p == "" || filepath.IsAbs(p) {
		return false
	}
	c := filepath.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../")
}
