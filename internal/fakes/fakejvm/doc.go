// Command fakejvm stands in for `java` in carbonguard's tests. Installed as
// <jdk>/bin/java next to a <jdk>/release file, it accepts the command line the
// stock WSO2 startup scripts build and then behaves like a Carbon server from
// the outside: it writes wso2carbon.pid, appends log4j2-style lines to
// repository/logs/wso2carbon.log, renders nothing but parses deployment.toml
// (or carbon.xml for the old layout) for the port offset, listens on the
// product's key ports on 127.0.0.1, answers the health endpoints, and stops
// on SIGTERM with the shutdown lines and exit status 143.
//
// `java -version` prints a JDK-like banner to stderr with the version read
// from <jdk>/release, found from this executable's own path, so a test picks
// the JDK version by writing that file.
//
// Every launch appends one record (argv, resolved system properties, the
// relevant environment, uid, cwd, product, offset, ports, behaviour) to the
// JSON array repository/logs/fakejvm-invocation.json, rewritten atomically
// under a lock; the record is internal/fakes/invocation, through which
// internal/testpack reads it back.
//
// What the "server" does is chosen by a behaviour, from (first wins) the
// system property fake.carbon.behaviour (JVM -D or a -D program argument),
// the environment variable FAKE_CARBON_BEHAVIOUR, a
// META-INF/fake-carbon.properties entry (behaviour=...) inside any jar in the
// plugin and dropin folders, else "up". See behaviour.go for the list and the
// speed knobs.
package main
