//! The Merkle tree over `$all`, persisted in its own SQLite file (`ledger-tree.db`).
//!
//! Like the stream index, the file is *derived*: leaf `i` is the hash of the event at
//! position `i`, so the whole file can be rebuilt from the log ([`MerkleTree::reset`]
//! then [`MerkleTree::append`]), and losing it loses nothing.
//!
//! **Layout.** Storing every node of a tree of n leaves takes 2n rows; a proof only
//! ever needs the roots of *perfect* subtrees (see [`crate::merkle`]), and the small
//! ones are cheap to recompute. So the file holds:
//!
//! - `chunks`: the event hashes, 64 to a row (`CHUNK`, a 2 KiB blob), keyed by
//!   chunk number; the last row may be partial and grows in place;
//! - `nodes`: the roots of the complete perfect subtrees of 64 leaves and more,
//!   keyed by (level, index) with level ≥ 6, about n/32 rows;
//! - `tree_meta`: the format, the number of leaves flushed, the root over them and an
//!   optional store id.
//!
//! A perfect subtree below the chunk level is hashed from its chunk row (≤ 127
//! hashes), any other from one `nodes` row; a right-edge subtree is the fold of its
//! perfect pieces. An inclusion or consistency proof, or a root, thus costs a chunk
//! read or two and O(log n) point lookups, whatever the size: at 10 M leaves that is
//! about 470 k rows on disk (156 k chunks, 312 k nodes), not 20 M.
//!
//! **Memory and durability.** [`MerkleTree::append`] extends an in-memory part (the
//! event hashes past the flushed ones, the node roots they complete, and the
//! [`Frontier`]); [`MerkleTree::flush`] writes it in one durable transaction
//! (`synchronous = FULL`). Reads see everything appended, flushed or not. After a
//! crash only flushed leaves remain; the owner appends the rest again from the log.
//!
//! **Concurrency.** Every method takes `&self`; share the tree in an `Arc`. Readers
//! (`len`, `leaf`, `root`, the proofs) may run on any thread at any time: each answer
//! holds the in-memory lock for its duration (well under a millisecond) and reads the
//! file through its own read-only connection, so it sees one consistent tree even
//! while a flush commits. `append`, `flush` and `reset` are the owner's (the sealer's):
//! they are safe to call from several threads, but the order leaves go in is theirs
//! to keep. A flush writes without holding the in-memory lock, so appends and reads
//! go on while it commits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::envelope::Hash;
use crate::merkle::{
    ConsistencyProof, Frontier, InclusionProof, RangeError, consistency_path_with,
    inclusion_path_with, perfect_root, root_with,
};

/// Name of the tree file inside a data directory.
pub const TREE_FILE: &str = "ledger-tree.db";
/// Format recorded in the file; another value is refused.
const FORMAT: &str = "hoso-merkle-tree/1";
/// Level of a chunk: 2^6 = 64 leaves per row.
const CHUNK_LEVEL: u32 = 6;
/// Leaves per chunk row.
const CHUNK: u64 = 1 << CHUNK_LEVEL;
/// Idle reader connections kept open.
const READERS_IDLE_MAX: usize = 8;

const TREE_DDL: &str = "
CREATE TABLE IF NOT EXISTS tree_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS chunks (
    idx    INTEGER PRIMARY KEY,
    leaves BLOB    NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
";

/// What the tree refuses or fails with.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A leaf index or size pair the tree cannot answer for (see [`RangeError`]).
    #[error(transparent)]
    Range(#[from] RangeError),
    /// A tree size larger than the tree.
    #[error("the tree has {len} leaves; no tree of {size} leaves to answer for")]
    SizeBeyondTree {
        /// The size asked for.
        size: u64,
        /// Leaves in the tree.
        len: u64,
    },
    /// The file is damaged or does not describe a tree: remove it (see
    /// [`MerkleTree::discard`]) and rebuild from the log.
    #[error("{}: the Merkle tree file is damaged: {detail}", path.display())]
    Corrupt {
        /// The tree file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The file holds a tree in another format.
    #[error("{}: Merkle tree format {found:?}, this build reads {FORMAT:?}", path.display())]
    Format {
        /// The tree file.
        path: PathBuf,
        /// The format recorded.
        found: String,
    },
    /// SQLite failed.
    #[error("merkle tree: {action}")]
    Sqlite {
        /// What was attempted.
        action: &'static str,
        /// Underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file-system operation failed.
    #[error("{}: {action}", path.display())]
    Io {
        /// What was attempted.
        action: &'static str,
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn sql(action: &'static str) -> impl Fn(rusqlite::Error) -> TreeError {
    move |source| TreeError::Sqlite { action, source }
}

/// What has been appended and not yet flushed, and the shape of the whole tree.
#[derive(Default)]
struct Mem {
    /// Leaves in the file.
    flushed: u64,
    /// Event hashes of leaves `flushed..`.
    pending: Vec<Hash>,
    /// Roots of perfect subtrees at level ≥ `CHUNK_LEVEL` that end past `flushed`.
    pending_nodes: HashMap<(u32, u64), Hash>,
    /// The right edge of the whole tree (`flushed + pending.len()` leaves).
    frontier: Frontier,
}

impl Mem {
    fn len(&self) -> u64 {
        self.flushed + self.pending.len() as u64
    }
}

/// The Merkle tree of one ledger, in its file. See the module doc.
pub struct MerkleTree {
    path: PathBuf,
    writer: Mutex<Connection>,
    mem: Mutex<Mem>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("path", &self.path)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MerkleTree {
    /// Opens the tree file at `path`, creating an empty tree if there is none. The
    /// file is checked on the way: its format, that its chunk rows cover exactly the
    /// leaves it records, and that its stored nodes give the root it records.
    pub fn open_or_create(path: &Path) -> Result<Self, TreeError> {
        let conn = Connection::open(path).map_err(|e| open_failed(path, e))?;
        // FULL: a flush is durable when it returns (a signed tree head may follow).
        // 16 KiB pages hold seven 2 KiB chunk rows; 4 KiB pages would hold one each
        // and leave the file half empty (page_size only takes on a new file).
        conn.execute_batch(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA cache_size = -32768;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(|e| open_failed(path, e))?;
        conn.execute_batch(TREE_DDL)
            .map_err(|e| open_failed(path, e))?;
        let format = meta(&conn, "format")?;
        match format.as_deref() {
            None => {
                conn.execute(
                    "INSERT INTO tree_meta (key, value) VALUES ('format', ?1)",
                    [FORMAT],
                )
                .map_err(sql("record the tree format"))?;
            }
            Some(FORMAT) => {}
            Some(other) => {
                return Err(TreeError::Format {
                    path: path.to_owned(),
                    found: other.to_owned(),
                });
            }
        }
        let corrupt = |detail: String| TreeError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        let flushed = match meta(&conn, "leaves")? {
            None => 0,
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| corrupt(format!("leaf count {v:?} is not a number")))?,
        };
        check_chunk_rows(&conn, flushed).map_err(corrupt)?;
        let mut mem = Mem {
            flushed,
            ..Mem::default()
        };
        let roots = frontier_roots(&conn, &mem, path)?;
        mem.frontier = Frontier::from_roots(flushed, roots)?;
        let recorded = meta(&conn, "root")?;
        let root = hex::encode(mem.frontier.root());
        if flushed > 0 && recorded.as_deref() != Some(root.as_str()) {
            return Err(corrupt(format!(
                "its {flushed} leaves hash to root {root}, but the file records {recorded:?}"
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(conn),
            mem: Mutex::new(mem),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Removes the tree file at `path` and its WAL companions (to rebuild a damaged
    /// tree from the log). Missing files are not an error.
    pub fn discard(path: &Path) -> Result<(), TreeError> {
        for suffix in ["", "-wal", "-shm"] {
            let f = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(TreeError::Io {
                        action: "remove the Merkle tree file",
                        path: f,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// The file this tree lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves in the tree, flushed or not.
    pub fn len(&self) -> u64 {
        lock(&self.mem).len()
    }

    /// True when the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Leaves in the file (what survives a crash).
    pub fn flushed_len(&self) -> u64 {
        lock(&self.mem).flushed
    }

    /// The root of the whole tree, flushed or not, in O(1) storage reads.
    pub fn current_root(&self) -> Hash {
        lock(&self.mem).frontier.root()
    }

    /// Appends leaves (event hashes, in log order) in memory; [`Self::flush`] makes
    /// them durable.
    pub fn append(&self, event_hashes: &[Hash]) {
        let mut guard = lock(&self.mem);
        let mem = &mut *guard;
        mem.pending.reserve(event_hashes.len());
        for h in event_hashes {
            let pending_nodes = &mut mem.pending_nodes;
            mem.frontier.push_observed(h, |level, index, root| {
                if level >= CHUNK_LEVEL {
                    pending_nodes.insert((level, index), *root);
                }
            });
            mem.pending.push(*h);
        }
    }

    /// Writes what was appended since the last flush in one durable transaction;
    /// returns the number of leaves written. On failure nothing is lost from memory
    /// and the next flush tries again.
    pub fn flush(&self) -> Result<u64, TreeError> {
        let mut conn = lock(&self.writer);
        let (from, leaves, nodes, root) = {
            let mem = lock(&self.mem);
            if mem.pending.is_empty() {
                return Ok(0);
            }
            let nodes: Vec<((u32, u64), Hash)> =
                mem.pending_nodes.iter().map(|(k, v)| (*k, *v)).collect();
            (mem.flushed, mem.pending.clone(), nodes, mem.frontier.root())
        };
        let to = from + leaves.len() as u64;
        write_flush(&mut conn, &self.path, from, &leaves, &nodes, &root)?;
        let mut mem = lock(&self.mem);
        mem.pending.drain(..leaves.len());
        for (key, _) in &nodes {
            mem.pending_nodes.remove(key);
        }
        mem.flushed = to;
        Ok(to - from)
    }

    /// Empties the tree, file and memory, in one transaction (to rebuild it from the
    /// log).
    pub fn reset(&self) -> Result<(), TreeError> {
        let conn = lock(&self.writer);
        // Readers hold this lock while they read the file, so none sees the rows go.
        let mut mem = lock(&self.mem);
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             DELETE FROM chunks;
             DELETE FROM nodes;
             DELETE FROM tree_meta WHERE key IN ('leaves', 'root');
             COMMIT;",
        )
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            sql("empty the tree")(e)
        })?;
        *mem = Mem::default();
        Ok(())
    }

    /// The store id recorded in the file, if one was.
    pub fn store_id(&self) -> Result<Option<String>, TreeError> {
        meta(&lock(&self.writer), "store_id")
    }

    /// Records the id of the store whose log this tree is of, so a file copied next
    /// to another log can be recognised.
    pub fn set_store_id(&self, store_id: &str) -> Result<(), TreeError> {
        lock(&self.writer)
            .execute(
                "INSERT OR REPLACE INTO tree_meta (key, value) VALUES ('store_id', ?1)",
                [store_id],
            )
            .map_err(sql("record the store id"))?;
        Ok(())
    }

    /// The event hash at leaf `index`.
    pub fn leaf(&self, index: u64) -> Result<Hash, TreeError> {
        self.read(|view| {
            let len = view.mem.len();
            if index >= len {
                return Err(RangeError::LeafOutOfRange { index, size: len }.into());
            }
            let found = view
                .chunk(index / CHUNK)?
                .get((index % CHUNK) as usize)
                .copied();
            found.ok_or_else(|| view.corrupt(format!("chunk {} lacks leaf {index}", index / CHUNK)))
        })
    }

    /// The root of the tree of the first `size` leaves (`size ≤ len`).
    pub fn root(&self, size: u64) -> Result<Hash, TreeError> {
        self.read(|view| {
            view.check_size(size)?;
            root_with(size, |level, index| view.perfect(level, index))
        })
    }

    /// The proof that leaf `index` is in the tree of the first `size` leaves
    /// (`index < size ≤ len`).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, TreeError> {
        self.read(|view| {
            view.check_size(size)?;
            inclusion_path_with(index, size, |level, i| view.perfect(level, i))
        })
    }

    /// The proof that the tree of the first `from_size` leaves is a prefix of the tree
    /// of the first `to_size` (`from_size ≤ to_size ≤ len`).
    pub fn consistency_proof(
        &self,
        from_size: u64,
        to_size: u64,
    ) -> Result<ConsistencyProof, TreeError> {
        self.read(|view| {
            view.check_size(to_size)?;
            consistency_path_with(from_size, to_size, |level, i| view.perfect(level, i))
        })
    }

    /// Runs `f` on a consistent view: memory locked, a reader connection to the file.
    fn read<T>(
        &self,
        f: impl FnOnce(&mut View<'_>) -> Result<T, TreeError>,
    ) -> Result<T, TreeError> {
        let conn = lock(&self.readers).pop();
        let conn = match conn {
            Some(c) => c,
            None => open_reader(&self.path)?,
        };
        let result = {
            let mem = lock(&self.mem);
            let mut view = View {
                conn: &conn,
                mem: &mem,
                path: &self.path,
                chunk: None,
            };
            f(&mut view)
        };
        let mut pool = lock(&self.readers);
        if pool.len() < READERS_IDLE_MAX {
            pool.push(conn);
        }
        result
    }
}

/// One consistent look at the tree: the file below `mem.flushed`, memory above it.
struct View<'a> {
    conn: &'a Connection,
    mem: &'a Mem,
    path: &'a Path,
    /// The last chunk read, as proofs ask for several subtrees of one chunk.
    chunk: Option<(u64, Vec<Hash>)>,
}

impl View<'_> {
    fn corrupt(&self, detail: String) -> TreeError {
        TreeError::Corrupt {
            path: self.path.to_owned(),
            detail,
        }
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        let len = self.mem.len();
        if size > len {
            return Err(TreeError::SizeBeyondTree { size, len });
        }
        Ok(())
    }

    /// The event hashes of chunk `chunk` that the tree holds.
    fn chunk(&mut self, chunk: u64) -> Result<&[Hash], TreeError> {
        if self.chunk.as_ref().is_none_or(|(c, _)| *c != chunk) {
            let leaves = chunk_leaves(self.conn, self.mem, chunk, self.path)?;
            self.chunk = Some((chunk, leaves));
        }
        Ok(self.chunk.as_ref().map_or(&[], |(_, l)| l.as_slice()))
    }

    /// The root of perfect subtree (level, index), which the tree must hold whole.
    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, TreeError> {
        let width = 1u64.checked_shl(level).ok_or(RangeError::Overflow)?;
        let start = index.checked_mul(width).ok_or(RangeError::Overflow)?;
        let end = start.checked_add(width).ok_or(RangeError::Overflow)?;
        if end > self.mem.len() {
            return Err(self.corrupt(format!(
                "subtree ({level}, {index}) asked of a tree of {} leaves",
                self.mem.len()
            )));
        }
        if level < CHUNK_LEVEL {
            let offset = (start % CHUNK) as usize;
            let leaves = self.chunk(start / CHUNK)?;
            let Some(part) = leaves.get(offset..offset + width as usize) else {
                let detail = format!("chunk {} lacks leaves {start}..{end}", start / CHUNK);
                return Err(self.corrupt(detail));
            };
            return Ok(perfect_root(part)?);
        }
        if end > self.mem.flushed {
            return self
                .mem
                .pending_nodes
                .get(&(level, index))
                .copied()
                .ok_or_else(|| self.corrupt(format!("unflushed node ({level}, {index}) missing")));
        }
        match node_row(self.conn, level, index)? {
            None => Err(self.corrupt(format!("node ({level}, {index}) missing"))),
            Some(b) => Hash::try_from(b.as_slice()).map_err(|_| {
                self.corrupt(format!("node ({level}, {index}) holds {} bytes", b.len()))
            }),
        }
    }
}

/// Reads the row of node (level, index).
fn node_row(conn: &Connection, level: u32, index: u64) -> Result<Option<Vec<u8>>, TreeError> {
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2")
        .map_err(sql("read a tree node"))?;
    stmt.query_row(params![level, to_i64(index)], |r| r.get(0))
        .optional()
        .map_err(sql("read a tree node"))
}

/// The leaves of chunk `chunk` up to the tree's length: from the file below
/// `mem.flushed`, from memory above.
fn chunk_leaves(
    conn: &Connection,
    mem: &Mem,
    chunk: u64,
    path: &Path,
) -> Result<Vec<Hash>, TreeError> {
    let start = chunk * CHUNK;
    let end = (start + CHUNK).min(mem.len());
    let mut out = Vec::with_capacity(CHUNK as usize);
    if start < mem.flushed {
        let want = (end.min(mem.flushed) - start) as usize;
        let blob = chunk_row(conn, chunk)?;
        let stored = blob.as_deref().map_or(0, |b| b.len() / 32);
        let Some(blob) = blob.filter(|b| b.len() % 32 == 0 && stored >= want) else {
            return Err(TreeError::Corrupt {
                path: path.to_owned(),
                detail: format!("chunk {chunk} holds {stored} leaves where {want} are needed"),
            });
        };
        out.extend(
            blob.chunks_exact(32)
                .take(want)
                .filter_map(|c| Hash::try_from(c).ok()),
        );
    }
    if end > mem.flushed {
        let from = (start.max(mem.flushed) - mem.flushed) as usize;
        let to = (end - mem.flushed) as usize;
        out.extend_from_slice(mem.pending.get(from..to).unwrap_or(&[]));
    }
    Ok(out)
}

fn chunk_row(conn: &Connection, chunk: u64) -> Result<Option<Vec<u8>>, TreeError> {
    let mut stmt = conn
        .prepare_cached("SELECT leaves FROM chunks WHERE idx = ?1")
        .map_err(sql("read a leaf chunk"))?;
    stmt.query_row([to_i64(chunk)], |r| r.get(0))
        .optional()
        .map_err(sql("read a leaf chunk"))
}

/// The roots of the perfect subtrees making up the first `mem.flushed` leaves,
/// largest first, from the file.
fn frontier_roots(conn: &Connection, mem: &Mem, path: &Path) -> Result<Vec<Hash>, TreeError> {
    let mut view = View {
        conn,
        mem,
        path,
        chunk: None,
    };
    let size = mem.flushed;
    let mut roots = Vec::new();
    let mut at = 0u64;
    for level in (0..64).rev() {
        if (size >> level) & 1 == 1 {
            roots.push(view.perfect(level, at >> level)?);
            at += 1 << level;
        }
    }
    Ok(roots)
}

/// Checks that the chunk rows end where `leaves` leaves end: the last row is the
/// last chunk and holds the rest of the leaves. (A row missing below it is found
/// when it is read; counting every row would read the whole file.)
fn check_chunk_rows(conn: &Connection, leaves: u64) -> Result<(), String> {
    let last_row: Option<i64> = conn
        .query_row("SELECT max(idx) FROM chunks", [], |r| r.get(0))
        .map_err(|e| format!("cannot read the last chunk row: {e}"))?;
    let last = leaves.div_ceil(CHUNK).checked_sub(1);
    if last_row != last.map(to_i64) {
        return Err(format!(
            "the last chunk row is {last_row:?} for {leaves} leaves (expected {last:?})"
        ));
    }
    if let Some(last) = last {
        let blob = chunk_row(conn, last)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let expected = (leaves - last * CHUNK) as usize * 32;
        if blob.len() != expected {
            return Err(format!(
                "last chunk holds {} bytes, {expected} expected",
                blob.len()
            ));
        }
    }
    Ok(())
}

/// The flush transaction: leaves `from..` into their chunk rows (completing the
/// partial one), the new nodes, the new count and root.
fn write_flush(
    conn: &mut Connection,
    path: &Path,
    from: u64,
    leaves: &[Hash],
    nodes: &[((u32, u64), Hash)],
    root: &Hash,
) -> Result<(), TreeError> {
    let fail = sql("flush the tree");
    let tx = conn.transaction().map_err(&fail)?;
    {
        let first = from / CHUNK;
        let mut blob: Vec<u8> = Vec::with_capacity(CHUNK as usize * 32);
        let kept = (from % CHUNK) as usize;
        if kept > 0 {
            let stored = chunk_row(&tx, first)?.unwrap_or_default();
            if stored.len() != kept * 32 {
                return Err(TreeError::Corrupt {
                    path: path.to_owned(),
                    detail: format!(
                        "chunk {first} holds {} bytes where {} were flushed",
                        stored.len(),
                        kept * 32
                    ),
                });
            }
            blob = stored;
        }
        let mut put = tx
            .prepare_cached("INSERT OR REPLACE INTO chunks (idx, leaves) VALUES (?1, ?2)")
            .map_err(&fail)?;
        let mut chunk = first;
        let mut rest = leaves;
        while !rest.is_empty() {
            let room = CHUNK as usize - blob.len() / 32;
            let (now, later) = rest.split_at(room.min(rest.len()));
            for h in now {
                blob.extend_from_slice(h);
            }
            put.execute(params![to_i64(chunk), blob]).map_err(&fail)?;
            blob.clear();
            chunk += 1;
            rest = later;
        }
        let mut node = tx
            .prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(&fail)?;
        for ((level, index), hash) in nodes {
            node.execute(params![level, to_i64(*index), hash.as_slice()])
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => TreeError::Corrupt {
                        path: path.to_owned(),
                        detail: format!("node ({level}, {index}) is already in the file"),
                    },
                    _ => fail(e),
                })?;
        }
        let mut meta = tx
            .prepare_cached("INSERT OR REPLACE INTO tree_meta (key, value) VALUES (?1, ?2)")
            .map_err(&fail)?;
        let to = from + leaves.len() as u64;
        meta.execute(params!["leaves", to.to_string()])
            .map_err(&fail)?;
        meta.execute(params!["root", hex::encode(root)])
            .map_err(&fail)?;
    }
    tx.commit().map_err(&fail)?;
    Ok(())
}

fn meta(conn: &Connection, key: &str) -> Result<Option<String>, TreeError> {
    conn.query_row("SELECT value FROM tree_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql("read the tree meta"))
}

fn open_failed(path: &Path, e: rusqlite::Error) -> TreeError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            TreeError::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        }
        _ => TreeError::Sqlite {
            action: "open the tree file",
            source: e,
        },
    }
}

fn open_reader(path: &Path) -> Result<Connection, TreeError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql("open a tree reader"))?;
    conn.execute_batch(
        "PRAGMA query_only = ON;
         PRAGMA mmap_size = 1073741824;
         PRAGMA cache_size = -16384;",
    )
    .map_err(sql("configure a tree reader"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql("configure a tree reader"))?;
    Ok(conn)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{inclusion_proof, root_of, verify_inclusion};

    fn leaves(n: u64) -> Vec<Hash> {
        use sha2::Digest;
        (0..n)
            .map(|i| sha2::Sha256::digest(i.to_le_bytes()).into())
            .collect()
    }

    #[test]
    fn unflushed_and_flushed_leaves_answer_alike() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(TREE_FILE);
        let tree = MerkleTree::open_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let d = leaves(200);
        tree.append(&d[..70]);
        assert_eq!(tree.flush().unwrap_or_else(|e| panic!("{e}")), 70);
        tree.append(&d[70..]);
        assert_eq!((tree.len(), tree.flushed_len()), (200, 70));
        for i in [0, 63, 64, 69, 70, 127, 128, 199] {
            assert_eq!(
                tree.leaf(i).unwrap_or_else(|e| panic!("{e}")),
                d[i as usize]
            );
            let p = tree
                .inclusion_proof(i, 200)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(Ok(p.clone()), inclusion_proof(&d, i));
            assert_eq!(verify_inclusion(&d[i as usize], &p, &root_of(&d)), Ok(()));
        }
        assert_eq!(tree.current_root(), root_of(&d));
    }

    #[test]
    fn a_file_whose_root_disagrees_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(TREE_FILE);
        {
            let tree = MerkleTree::open_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
            tree.append(&leaves(130));
            tree.flush().unwrap_or_else(|e| panic!("{e}"));
        }
        let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute(
            "UPDATE nodes SET hash = zeroblob(32) WHERE level = 7 AND idx = 0",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        assert!(matches!(
            MerkleTree::open_or_create(&path),
            Err(TreeError::Corrupt { .. })
        ));
        MerkleTree::discard(&path).unwrap_or_else(|e| panic!("{e}"));
        let fresh = MerkleTree::open_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fresh.len(), 0);
    }
}
