// Package testpack materialises a fixture pack from testdata/packs into a
// test's temporary directory, ready to run for real: the stock-like startup
// script in bin/, a fake JDK (bin/java is the fakejvm binary, release holds
// the version), bin/wso2update_linux as the fake u2, an isolated HOME for
// u2's tool home, and a port offset whose ports are free on 127.0.0.1.
//
// Fakes builds the two fake binaries once per test process (cached across
// processes by a hash of their sources). Every process a pack starts is
// killed when the test ends, so tests never leak servers.
//
// It is a test helper: it takes a testing.TB and fails the test on error
// instead of returning errors.
package testpack
