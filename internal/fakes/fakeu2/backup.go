package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/internal/copytree"
	"github.com/carbonguard/carbonguard/internal/durable"
)

// backupMeta is <backup>/<product-code>/backup.json, written after the copy.
type backupMeta struct {
	Product string    `json:"product"`
	Level   int       `json:"level"`
	Created time.Time `json:"created"`
	Digest  string    `json:"digest"`
}

// backupRoot picks the backup directory: --backup (remembered in
// config.json), else the remembered one, else ~/.wso2-updates/backup.
func backupRoot(p *pack, cfg *configJSON, flag string) (string, error) {
	dir := flag
	if dir == "" {
		dir = cfg.getString("backup-dir")
	}
	if dir == "" {
		th, err := toolHome()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(th, "backup")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	home, _ := filepath.Abs(p.home)
	if abs == home || strings.HasPrefix(abs, home+string(filepath.Separator)) {
		return "", fmt.Errorf("Backup directory %s cannot be inside the product directory %s", abs, home)
	}
	if flag != "" {
		cfg.setString("backup-dir", abs)
	}
	return abs, nil
}

func takeBackup(p *pack, root string, level int) error {
	dst := filepath.Join(root, p.code)
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := copytree.Copy(p.home, filepath.Join(dst, "pack"), copytree.Options{}); err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	digest, err := treeDigest(filepath.Join(dst, "pack"))
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(backupMeta{Product: p.code, Level: level, Created: time.Now().UTC(), Digest: digest}, "", "  ")
	return durable.WriteFile(filepath.Join(dst, "backup.json"), b, 0o644)
}

var errNoBackup = errors.New("Unable to revert as backups could not be found")

// restoreBackup puts the pack back as the backup holds it.
func restoreBackup(p *pack, root string) (int, error) {
	dst := filepath.Join(root, p.code)
	b, err := os.ReadFile(filepath.Join(dst, "backup.json"))
	if err != nil {
		return 0, errNoBackup
	}
	var meta backupMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dst, "backup.json"), err)
	}
	digest, err := treeDigest(filepath.Join(dst, "pack"))
	if err != nil || digest != meta.Digest {
		return 0, errors.New("Cannot revert because the backup directory has been modified")
	}
	entries, err := os.ReadDir(p.home)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(p.home, e.Name())); err != nil {
			return 0, err
		}
	}
	if err := copytree.Copy(filepath.Join(dst, "pack"), p.home, copytree.Options{}); err != nil {
		return 0, fmt.Errorf("restoring %s: %w", p.home, err)
	}
	return meta.Level, nil
}

func treeDigest(root string) (string, error) {
	h := sha256.New()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		st, err := os.Lstat(f)
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(f)
			fmt.Fprintf(h, "link:%s\x00", l)
			continue
		}
		in, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
