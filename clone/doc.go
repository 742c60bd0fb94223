// Package clone boots a copy of a pack where it cannot touch the live node,
// judges the boot exactly as a start does, and stops it: the machinery of a
// restore drill, and of an update rehearsal that boots an updated copy
// before it touches the live pack.
//
// Boot takes a copy already laid down (archive.Store.Extract) and:
//
//   - refuses when the copy would use production's data: a datasource of
//     the copy (pack.Datasources) that is not embedded H2 inside the copy
//     and still has the live pack's URL (Override, from [drill] overrides,
//     points them elsewhere first, e.g. at the DR databases);
//   - isolates it: as root, the copy runs in a network namespace of its
//     own with only loopback up (internal/netns), keeps its own port
//     offset (its ports are free there by construction, and URLs such as
//     tcp://localhost:9611 then reach the copy's own services, as they do
//     on the live node), and the verdict's health probes run inside. It
//     reaches nothing outside: not the live node, not the databases,
//     cluster members, Traffic Manager, key manager or notification
//     targets its configuration names. Without root no namespace can be
//     made: Boot refuses unless Options.HostNetwork accepts the host's
//     network, and then runs the copy with -DportOffset set to an offset
//     whose ports are free on this host and are none of the live pack's;
//   - launches the copy's own stock script through the wrapper, with the
//     operator's [start] settings, judges the boot with the wrapper's
//     verdict on the product's documented health endpoints at the copy's
//     ports (never [start.health], which names the live node), keeps the
//     boot's own log lines and console as evidence, stops the copy, and
//     kills anything of it still left (every process in its namespace, or
//     every process running from the copy's directory).
//
// It never reads or writes the live pack's PID file, logs, state or
// verdicts: the copy's verdict is returned, not saved. A boot that is not
// up is a Result with that verdict, not an error; errors mean the boot was
// refused (*RefusedError) or could not be attempted.
package clone
