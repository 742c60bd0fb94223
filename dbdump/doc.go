// Package dbdump dumps and restores the external databases a WSO2 pack uses,
// with the databases' own tools: pg_dump/pg_restore for PostgreSQL and
// mysqldump/mysql for MySQL and MariaDB, or any dump and restore commands the
// operator gives as argument lists.
//
// Resolve matches a [[snapshot.database]] entry to one of the pack's
// datasources by name ([database.<name>] or [[datasource]] id in
// deployment.toml; the <name> of a Carbon 4.4 master-datasources.xml) and
// derives the connection from its JDBC URL, user and password; the entry may
// override host, port, database, user and the password's file. The defaults
// are pg_dump -Fc (custom format, restored by pg_restore --clean --if-exists
// in one transaction) and mysqldump --single-transaction --routines
// --triggers (restored through mysql).
//
// Passwords never reach argv, logs or errors: a dump or restore runs with a
// private temporary directory holding a pgpass file (PGPASSFILE) and a MySQL
// option file (--defaults-extra-file, first on the command line, mode 0600),
// removed when the command ends. The tools get a small environment: PATH,
// HOME, locale, TMPDIR and their own variables (PG*, MYSQL*, ...), never the
// rest of carbonguard's (a restic password, u2 credentials). A dump is the
// command's standard output; a restore reads the dump on its standard input.
//
// The package knows nothing of snapshots: the caller stores the dump (as a
// snapshot attachment) and hands it back for a restore.
package dbdump
