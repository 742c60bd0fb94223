// Package durable writes files so that a crash leaves the old content or the
// new, never a torn mix: a temporary file in the same directory, fsync,
// rename over the target, fsync the directory. Every package whose state must
// survive a crash (the snapshot store, the update journal, the boot verdicts,
// reports written with --output) writes through it.
package durable
