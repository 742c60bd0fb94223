//go:build !(linux || darwin || freebsd)

package validate

import (
	"errors"
	"runtime"
)

var errUnsupported = errors.New("not supported on " + runtime.GOOS)

func diskFree(string) (uint64, error)                { return 0, errUnsupported }
func openFilesLimit() (soft, hard uint64, err error) { return 0, 0, errUnsupported }
