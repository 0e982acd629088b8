//! The SQLite data dir: its files, the lock one server holds on it, and the
//! checks that keep a damaged or emptied database from being bootstrapped
//! afresh (used by `sigil server` and `sigil admin`).

use super::Store;
use crate::domain::keys::write_private_file;
use anyhow::Context;

/// The database file in the data dir.
pub const DB_FILE: &str = "sigil.db";
/// The lock file: held (flock) by the server that owns the data dir.
pub const LOCK_FILE: &str = "sigil.lock";
/// Written once the data dir holds a bootstrapped database: from then on, an
/// empty or missing database is a loss, never a first start.
pub const INITIALIZED_FILE: &str = "initialized";

/// Creates `dir` (and parents) and makes it 0700.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        b.mode(0o700);
        b.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    b.create(dir)
}

/// Opens (creating) a file 0600; an existing one is made 0600 too.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    o.open(path)
}

/// An advisory lock (`flock`, through std's `File::try_lock`) on
/// `<data-dir>/sigil.lock`, held for the life of the process. The kernel
/// drops it when the process dies, even by kill -9, so a stale lock never
/// blocks a restart. The file names the holder (pid, start time).
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(dir: &std::path::Path) -> anyhow::Result<Self> {
        use std::io::{Read, Seek, Write};
        let path = dir.join(LOCK_FILE);
        let mut f = private_file(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                let holder = holder.trim();
                anyhow::bail!(
                    "the data dir {} is in use by another sigil server ({}); \
                     one server per SQLite data dir: stop that one, or use another --data-dir \
                     (or PostgreSQL, which replicas may share)",
                    dir.display(),
                    if holder.is_empty() {
                        "holder unknown"
                    } else {
                        holder
                    }
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        let started = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        f.set_len(0)?;
        f.rewind()?;
        writeln!(f, "pid {}, started {started}", std::process::id())?;
        f.sync_all()?;
        Ok(Self { _file: f })
    }
}

/// Before the database is opened: a file that is not SQLite stops the start,
/// and so does an empty or missing one where data was expected. A truly new
/// data dir (no `initialized` marker) goes on to bootstrap.
/// The database file is created 0600 here (SQLite gives `-wal` and `-shm`
/// the mode of the database file); existing ones are made 0600.
pub fn check_sqlite_file(dir: &std::path::Path, db: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Read;
    // Not the master key: a first start that failed after generating it has
    // no data to lose. The marker is written only once bootstrap succeeded.
    let expected = dir.join(INITIALIZED_FILE).exists();
    let len = std::fs::metadata(db).map(|m| m.len()).ok();
    let recover = "restore it from a backup, or start on a new --data-dir; it is never \
                   bootstrapped afresh over data that was there";
    match len {
        None | Some(0) if expected => anyhow::bail!(
            "the database {} is {} but this data dir held a server before; {recover}",
            db.display(),
            if len.is_none() { "missing" } else { "empty" },
        ),
        _ => {}
    }
    let mut f = private_file(db).with_context(|| format!("cannot open {}", db.display()))?;
    for side in ["-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{side}", db.display()));
        if p.exists() {
            private_file(&p).with_context(|| format!("cannot open {}", p.display()))?;
        }
    }
    if len.unwrap_or(0) > 0 {
        let mut head = [0u8; 16];
        let n = f.read(&mut head).unwrap_or(0);
        if n < 16 || &head != b"SQLite format 3\0" {
            anyhow::bail!(
                "the database {} is damaged: it is not a SQLite database (overwritten?); {recover}",
                db.display()
            );
        }
    }
    Ok(())
}

/// After the database is opened: no org where data was expected means the
/// database was emptied (or replaced by a new one).
pub async fn check_not_emptied(store: &Store, dir: &std::path::Path) -> anyhow::Result<()> {
    if !dir.join(INITIALIZED_FILE).exists() {
        return Ok(());
    }
    let mut c = store.pool.acquire().await?;
    if super::count_orgs(&mut c).await? == 0 {
        anyhow::bail!(
            "the database {} holds no data, but this data dir held a server before; \
             restore it from a backup, or start on a new --data-dir",
            dir.join(DB_FILE).display()
        );
    }
    Ok(())
}

/// On either backend: a database whose marker row says a server bootstrapped
/// it, but which holds no org, was emptied — never bootstrap it afresh.
pub async fn check_database_not_emptied(store: &Store) -> anyhow::Result<()> {
    let mut c = store.pool.acquire().await?;
    let Some(at) = super::instance_initialized_at(&mut c).await? else {
        return Ok(());
    };
    if super::count_orgs(&mut c).await? == 0 {
        let when = time::OffsetDateTime::from_unix_timestamp(at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| at.to_string());
        anyhow::bail!(
            "the database {} holds no data, but a server was bootstrapped on it at {when}; \
             restore it from a backup, or start on a new database",
            store.url_redacted
        );
    }
    Ok(())
}

/// Records in the database that a server bootstrapped it (after the
/// bootstrap committed, so a replica that sees the row also sees the org).
pub async fn mark_database_initialized(store: &Store, now: i64) -> anyhow::Result<()> {
    let mut c = store.pool.acquire().await?;
    super::mark_instance_initialized(&mut c, now).await?;
    Ok(())
}

/// Records that the data dir now holds a bootstrapped database.
pub fn mark_initialized(dir: &std::path::Path) -> anyhow::Result<()> {
    let p = dir.join(INITIALIZED_FILE);
    if !p.exists() {
        write_private_file(
            &p,
            b"sigil data dir: an empty database here is a loss, not a first start\n",
        )
        .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        let e = DataDirLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(
            e.contains(&format!("(pid {}, started ", std::process::id())),
            "{e}"
        );
        drop(held);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
