// Package pack reads a WSO2 Carbon product home ("the pack") without changing it.
//
// Open tells which product, version, distribution and role a home holds
// (updates/product.txt, the bin/*.sh script names, bin/version.txt,
// [server] server_role), its update level (updates/config.json) and update
// tool, its stock startup script, log and PID files, and its configuration:
// deployment.toml (BurntSushi/toml) or the Carbon 4.4 legacy XML files
// (etree, with element line numbers from an encoding/xml pass).
//
// Every configuration key has an effective value: the one written in the
// file (under its own name or a user key WSO2 maps onto it), else what
// infer.json derives from a written key (a role switching indexing off),
// else the product default. The defaults are WSO2's own default.json,
// infer.json and key-mappings.json files, embedded under defaults/ and
// stacked kernel, feature, product, as the product build merges them.
// $ref{} is followed with cycle detection; $secret{}, $env{}, $sys{} and
// Helm {{ }} are reported as externalised, never replaced by a default;
// ${carbon.home}-style Carbon variables are kept literal and listed. On a
// Carbon 4.4 pack the common TOML keys (server.hostname, keystore.*,
// database.*, monitoring.jmx.*, ...) are answered from the XML file that
// holds the same setting. The effective port table adds the port offset
// ([server] offset or carbon.xml Ports/Offset; -DportOffset wins) to every
// listener. Every value carries the file and line it came from.
//
// The startup script's launch command is part of the model: Launch gives
// its words and lines, SplitWords splits such a line (or JAVA_OPTS) into
// words, and ParseSysProp is the one parser of -Dkey[=value] words, with
// the rule of the program that reads them (a bare -Dkey is "" to the JVM,
// "true" to Carbon's Main).
//
// Datasources lists the JDBC datasources ([database.*], [[datasource]],
// Carbon 4.4 repository/conf/datasources/*.xml) and says where each one's
// data lives: embedded H2 inside the home, an external database (or an H2
// file outside the home), or unknown until run time.
//
// Bad input (invalid TOML or XML, a non-integer offset, a directory that is
// not a pack, an unreadable file) comes back as a typed error naming the
// file and line. The package never writes to the pack and never panics on
// input; RunningPID is the one method that looks at the live system.
package pack
