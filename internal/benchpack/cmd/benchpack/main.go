// Command benchpack writes the benchmark pack: benchpack DIR [SCALE].
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/internal/benchpack"
)

func main() {
	// A flag is never a directory: "benchpack --help" must not write 750 MB
	// into ./--help.
	if len(os.Args) < 2 || len(os.Args) > 3 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: benchpack DIR [SCALE]   (SCALE 1.0 = about 750 MB)")
		os.Exit(2)
	}
	scale := 1.0
	if len(os.Args) == 3 {
		v, err := strconv.ParseFloat(os.Args[2], 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "benchpack: bad scale %q\n", os.Args[2])
			os.Exit(2)
		}
		scale = v
	}
	if err := benchpack.Generate(os.Args[1], scale); err != nil {
		fmt.Fprintln(os.Stderr, "benchpack:", err)
		os.Exit(1)
	}
}
