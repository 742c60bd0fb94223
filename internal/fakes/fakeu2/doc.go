// Command fakeu2 stands in for WSO2's update tool (u2, bin/wso2update_linux)
// in carbonguard's tests. It keeps the real command line
// (`wso2update_linux [--help|help] [<options>] <command> [<args>]`, long
// flags), the real exit codes (0 ok, 1 error, 2 self-updated, 3 conflicts,
// 4 reverted) and the real footprint on the pack: renamed jars, a bumped
// updates/config.json "update-level", updates/changelog-<from>-<to>.md,
// updates/logs/, conflict files (file.original, file.new, resolved through
// file.final and --continue), a backup under ~/.wso2-updates used by
// --revert, and a self-update that rewrites bin/wso2update_linux.
//
// Update content comes from the directory in $FAKE_U2_SERVER:
//
//	<server>/tool.toml                        optional: version, self_update
//	<server>/credentials.toml                 optional: username, password required
//	<server>/<product-code>/<level>/update.toml
//	<server>/<product-code>/<level>/files/... copied over the pack
//	<server>/<product-code>/<level>/...       merge inputs named in update.toml
//
// See update.go for the update.toml format. Nothing here talks to a network;
// $FAKE_U2_DELAY (a Go duration) makes an update run sleep that long before
// it changes the pack, as a real run spends its time downloading.
// With FAKE_U2_ECHO_AUTH set it prints the credentials it was given as a
// verbose HTTP client would leak them: percent-encoded in a URL, in a Basic
// authorization header, base64 inside a JSON body, hex.
package main
