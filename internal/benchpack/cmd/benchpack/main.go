// Command benchpack writes the benchmark pack: benchpack DIR [SCALE], or a
// tree of N small entries for the memory benchmark: benchpack -entries N DIR;
// and applies an update-sized change to a pack: benchpack -update DIR [SEED].
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/internal/benchpack"
)

func main() {
	args := os.Args[1:]
	if len(args) == 3 && args[0] == "-entries" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 || strings.HasPrefix(args[2], "-") {
			usage()
		}
		if err := benchpack.GenerateEntries(args[2], n); err != nil {
			fmt.Fprintln(os.Stderr, "benchpack:", err)
			os.Exit(1)
		}
		return
	}
	if len(args) >= 2 && len(args) <= 3 && args[0] == "-update" {
		if strings.HasPrefix(args[1], "-") {
			usage()
		}
		seed := uint64(1)
		if len(args) == 3 {
			v, err := strconv.ParseUint(args[2], 10, 64)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchpack: bad seed %q\n", args[2])
				os.Exit(2)
			}
			seed = v
		}
		rep, err := benchpack.Update(args[1], seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchpack:", err)
			os.Exit(1)
		}
		fmt.Printf("replaced %d jars (%d bytes new), edited %d XML files\n", rep.Jars, rep.JarBytes, rep.XML)
		return
	}
	// A flag is never a directory: "benchpack --help" must not write 750 MB
	// into ./--help.
	if len(args) < 1 || len(args) > 2 || strings.HasPrefix(args[0], "-") {
		usage()
	}
	scale := 1.0
	if len(args) == 2 {
		v, err := strconv.ParseFloat(args[1], 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "benchpack: bad scale %q\n", args[1])
			os.Exit(2)
		}
		scale = v
	}
	if err := benchpack.Generate(args[0], scale); err != nil {
		fmt.Fprintln(os.Stderr, "benchpack:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchpack DIR [SCALE]   (SCALE 1.0 = about 750 MB)\n"+
		"       benchpack -entries N DIR   (N small files and links, for memory benchmarks)\n"+
		"       benchpack -update DIR [SEED]   (an update: 30 jars replaced by new versions, 5 XML files edited)")
	os.Exit(2)
}
