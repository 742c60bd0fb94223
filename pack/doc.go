// Package pack reads a WSO2 Carbon product home ("the pack") without changing it.
//
// Open tells which product, version, distribution and role a home holds, its
// update level (updates/config.json), its stock startup script, log and PID
// files, and its configuration: deployment.toml (BurntSushi/toml) or the
// Carbon 4.4 legacy XML files (etree). Every configuration key has an
// effective value: the explicit one, else the product's default, with $ref{}
// resolved and $secret{}, $env{}, $sys{} and Helm {{ }} reported as
// externalised rather than replaced. The effective port table adds the port
// offset ([server] offset, or -DportOffset, which wins) to every listener.
// Every value carries the file and line it came from so that later messages
// can cite it.
//
// Bad input (invalid TOML or XML, a directory that is not a pack, an
// unreadable file) comes back as a typed error naming the file and line.
// The package never writes to the pack and never panics on input.
package pack
