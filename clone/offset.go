package clone

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"

	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// Offsets tried for a copy on the host's network: every effective port
// stays below Linux's ephemeral range (32768+, where outgoing connections
// take their ports) for the largest default base ports (11111 JMX, 10389
// LDAP).
const (
	minOffset = 1000
	maxOffset = 20000
	attempts  = 300
)

// freeOffset picks a port offset at which every listener of the copy is
// free on this host (a bind on all addresses succeeds) and is none of the
// live pack's ports (its server may start while the copy runs). A port
// taken between this test and the copy's own bind makes the copy's boot
// fail with "Address already in use", which the verdict says.
func freeOffset(cp, live *pack.Pack, so wrapper.Options) (int, error) {
	// The copy's ports at offset 1 tell which follow the offset (Port.Offset
	// is 1) and which stay where they are.
	probe := maps(so.Properties)
	probe["portOffset"] = "1"
	so.Properties = probe
	args, err := wrapper.ScriptArgs(so)
	if err != nil {
		return 0, err
	}
	at1, err := pack.OpenWith(cp.Home, pack.Options{SysProps: pack.ScriptArgProps(args)})
	if err != nil {
		return 0, err
	}
	taken := map[int]bool{}
	if live != nil {
		for _, pt := range live.Ports {
			taken[pt.Port] = true
		}
	}
	portsAt := func(off int) []int {
		var out []int
		for _, pt := range at1.Ports {
			if !pt.Enabled {
				continue
			}
			if pt.Offset == 1 {
				out = append(out, pt.Base+off)
			} else {
				out = append(out, pt.Port)
			}
		}
		return out
	}
	for range attempts {
		off := minOffset + rand.IntN(maxOffset-minOffset)
		if free(portsAt(off), taken) {
			return off, nil
		}
	}
	return 0, errors.New("no port offset between " + strconv.Itoa(minOffset) + " and " + strconv.Itoa(maxOffset) +
		" leaves all the copy's ports free on this host")
}

func free(ports []int, taken map[int]bool) bool {
	for _, p := range ports {
		if p <= 0 || p > 65535 || taken[p] {
			return false
		}
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
