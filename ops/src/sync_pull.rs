//! `hoso sync pull`: the reference national consumer of a province's sync feed
//! (`docs/sync-format.md` §6–7). It pulls the sealed batches after its saved
//! cursor, each a page of items at a time (`items_after`/`next_items_after`),
//! verifies each one completely — canonical statement and digest, the chain
//! from the last acknowledged batch, the director's signature under a key held
//! out of band, the same statement on every page, every document's digest and
//! every item's inclusion proof under the whole batch's root, as its page
//! arrives — writes it as NDJSON (the same bytes whatever the page size),
//! acknowledges it, and only then moves its cursor.
//!
//! The order (file, ack, cursor) makes a crash harmless: killed before the ack,
//! the rerun finds the same batch after the same cursor, checks it is byte for
//! byte the file already written, and acknowledges it with the same receipt
//! (the receipt is derived from the batch, so a retried ack is idempotent on the
//! server); killed after the ack, the rerun acknowledges again with that
//! receipt (changing nothing) and moves on. Nothing unverified is written, acked
//! or followed.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use hoso_ledger::merkle::InclusionProof;
use hoso_sync::{BatchItem, BatchStatement};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// The cursor file in the output directory.
pub const CURSOR_FILE: &str = "cursor.json";

/// Feed page size asked for.
const PAGE: usize = 100;

/// What `hoso sync pull` was asked to do.
pub struct PullArgs {
    /// The server's base URL (`http://host:port`, with or without `/api/v1`).
    pub url: String,
    /// How the consumer authenticates: a token file, or a password it logs in with.
    pub auth: crate::sync_login::Auth,
    /// The output directory (cursor and NDJSON files).
    pub out: PathBuf,
    /// The director's ed25519 public key: 64 hex digits, or a file holding them.
    pub director_key: String,
    /// Continuous mode: the province connection key's public key, which the
    /// batches are verified under (the director's then verifies the month
    /// statements, `crate::sync_pull_months`).
    pub connection_key: Option<String>,
    /// The receipt prefix: the receipt of batch `n` is `<prefix>-<n>-<digest[..16]>`.
    pub receipt_prefix: String,
    /// Test hook: abort the process right after the batch file is written and
    /// before the acknowledgement, as a crash there would.
    pub abort_before_ack: bool,
    /// Items per page asked of the server; `None` takes the server's default.
    pub items_limit: Option<u64>,
}

/// The consumer's position: the last acknowledged batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    /// The last acknowledged batch's sequence.
    sequence: u64,
    /// Its statement digest (hex).
    statement_digest: String,
    /// Its statement's canonical bytes, so the next batch's chain can be checked
    /// with `verify_follows` (sequence, digest and range).
    statement: String,
}

#[derive(Deserialize)]
struct FeedPage {
    batches: Vec<FeedEntry>,
    next: Option<u64>,
}

#[derive(Deserialize)]
struct FeedEntry {
    sequence: u64,
    statement_digest: String,
}

#[derive(Deserialize)]
struct ServedItem {
    dossier: String,
    revision: u64,
    chain_hash: String,
    document_sha256: String,
    document: Box<RawValue>,
    proof: InclusionProof,
}

/// One page of a batch as served.
#[derive(Deserialize)]
struct ServedBatch {
    statement: Box<RawValue>,
    statement_digest: String,
    signature: String,
    key_id: String,
    public_key: Option<String>,
    item_count: u64,
    items_after: Option<u64>,
    next_items_after: Option<u64>,
    items: Vec<ServedItem>,
}

/// A batch that passed every check, ready to be written.
pub(crate) struct Verified {
    pub(crate) statement: BatchStatement,
    pub(crate) digest: String,
    pub(crate) ndjson: Vec<u8>,
}

/// Runs the consumer to the end of the feed, in a session opened with the
/// password if one was given (`crate::sync_login`), ended when done.
pub async fn run(args: &PullArgs) -> Result<()> {
    let session = crate::sync_login::Session::open(&args.auth, &args.url).await?;
    let pulled = pull(args, session.token().to_owned()).await;
    session.close(pulled).await
}

async fn pull(args: &PullArgs, token: String) -> Result<()> {
    let key =
        crate::sync_pull_months::batch_key(&args.director_key, args.connection_key.as_deref())?;
    check_prefix(&args.receipt_prefix)?;
    let base = api_base(&args.url);
    prepare_out(&args.out)?;
    let mut cursor = read_cursor(&args.out)?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("cannot build the HTTP client")?;

    let mut pulled = 0u64;
    let mut after = cursor.as_ref().map_or(0, |c| c.sequence);
    loop {
        let page: FeedPage = get_json(
            &http,
            &format!("{base}/sync/batches?after={after}&limit={PAGE}"),
            &token,
        )
        .await?;
        for entry in &page.batches {
            let previous = match &cursor {
                Some(c) => Some(
                    BatchStatement::from_canonical(c.statement.as_bytes())
                        .context("cursor.json holds a malformed statement")?,
                ),
                None => None,
            };
            // A duration, not a date: `Instant` is no wall clock to inject.
            let started = std::time::Instant::now();
            let batch = pull_batch(
                &http,
                &base,
                &token,
                entry.sequence,
                args.items_limit,
                previous.as_ref(),
                &key,
            )
            .await
            .with_context(|| {
                format!(
                    "batch {} refused (nothing acknowledged, cursor unchanged)",
                    entry.sequence
                )
            })?;
            if batch.digest != entry.statement_digest {
                bail!(
                    "batch {} refused: the feed lists statement digest {} but the batch has {}",
                    entry.sequence,
                    entry.statement_digest,
                    batch.digest
                );
            }
            let seq = batch.statement.sequence;
            let file = args.out.join(format!("batch-{seq}.ndjson"));
            write_batch(&args.out, &file, &batch.ndjson)?;
            let took = started.elapsed();
            println!(
                "batch {seq} ({}, {} items, digest {}): pulled and verified in {} ms, written to {}",
                batch.statement.month,
                batch.statement.item_count,
                &batch.digest[..16],
                took.as_millis(),
                file.display()
            );
            if args.abort_before_ack {
                eprintln!("--abort-before-ack: aborting before acknowledging batch {seq}");
                std::process::abort();
            }
            let receipt = format!("{}-{seq}-{}", args.receipt_prefix, &batch.digest[..16]);
            ack(&http, &base, seq, &receipt, &token).await?;
            println!("batch {seq}: acknowledged with receipt {receipt}");
            let next = Cursor {
                sequence: seq,
                statement_digest: batch.digest.clone(),
                statement: String::from_utf8(batch.statement.canonical_bytes()?)?,
            };
            write_atomically(
                &args.out,
                &args.out.join(CURSOR_FILE),
                &serde_json::to_vec_pretty(&next)?,
            )?;
            cursor = Some(next);
            pulled += 1;
        }
        match page.next {
            Some(n) if n > after => after = n,
            Some(_) => bail!("the feed's next cursor does not advance"),
            None => break,
        }
    }
    if args.connection_key.is_some() {
        let director = director_key(&args.director_key)?;
        crate::sync_pull_months::pull(&http, &base, &token, &args.out, &director).await?;
    }
    match (&cursor, pulled) {
        (None, _) => println!("up to date: the province has sealed no batch yet"),
        (Some(c), 0) => println!("up to date: nothing after batch {}", c.sequence),
        (Some(c), n) => println!("pulled {n} batch(es); cursor at batch {}", c.sequence),
    }
    Ok(())
}

/// Fetches batch `sequence` a page at a time and verifies it
/// ([`Assembly`]); errors name the page's URL or the item refused.
async fn pull_batch(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    sequence: u64,
    items_limit: Option<u64>,
    previous: Option<&BatchStatement>,
    key: &[u8; 32],
) -> Result<Verified> {
    let url = |after: Option<u64>| {
        let mut query: Vec<String> = Vec::new();
        if let Some(a) = after {
            query.push(format!("items_after={a}"));
        }
        if let Some(l) = items_limit {
            query.push(format!("items_limit={l}"));
        }
        let url = format!("{base}/sync/batches/{sequence}");
        if query.is_empty() {
            url
        } else {
            format!("{url}?{}", query.join("&"))
        }
    };
    let bytes = get_bytes(http, &url(None), token).await?;
    let (mut batch, mut next) = Assembly::first(&bytes, sequence, previous, key)?;
    while let Some(after) = next {
        let bytes = get_bytes(http, &url(Some(after)), token).await?;
        next = batch.page(&bytes)?;
    }
    batch.finish()
}

/// A batch being verified page by page (`docs/sync-format.md` §6 steps
/// 1–5): the first page's statement and signature are checked once, every
/// later page must carry the same ones, and each page's items must follow
/// the previous page's and verify alone against the statement's root. The
/// NDJSON is written as the items arrive, so it is the same bytes whatever
/// the page size.
pub(crate) struct Assembly {
    statement: BatchStatement,
    /// The statement object as served (its canonical bytes).
    statement_raw: String,
    digest: String,
    signature: String,
    ndjson: Vec<u8>,
    items: Vec<BatchItem>,
}

impl Assembly {
    /// The first page of batch `expected`, following `previous` (the last
    /// acknowledged statement): the statement, its digest, the chain and the
    /// signature, then the page's items. Answers the next page's
    /// `items_after`, if any.
    pub(crate) fn first(
        bytes: &[u8],
        expected: u64,
        previous: Option<&BatchStatement>,
        key: &[u8; 32],
    ) -> Result<(Self, Option<u64>)> {
        let b: ServedBatch = serde_json::from_slice(bytes)
            .context("the answer is not a batch page of the documented shape")?;
        // Step 1: the statement object as served is its canonical bytes.
        let statement = BatchStatement::from_canonical(b.statement.get().as_bytes())
            .context("statement (step 1: canonical encoding)")?;
        if statement.sequence != expected {
            bail!(
                "asked for batch {expected}, served batch {}",
                statement.sequence
            );
        }
        let digest = hex::encode(statement.digest()?);
        if b.statement_digest != digest {
            bail!(
                "statement_digest {} is not the statement's digest {digest}",
                b.statement_digest
            );
        }
        // Step 3: the chain from the last acknowledged batch.
        match previous {
            Some(p) => hoso_sync::verify_follows(p, &statement)
                .context("chain: this batch does not follow the last acknowledged one")?,
            None if statement.sequence != 1 => bail!(
                "chain: no batch acknowledged yet, so the first must be batch 1, not {}",
                statement.sequence
            ),
            None => {}
        }
        // Step 2: the director's signature, under the key held out of band only.
        let signature = hex::decode(&b.signature).context("signature is not hex")?;
        hoso_sync::verify_signature(&statement, key, &signature).with_context(|| {
            let served = b.public_key.as_deref().unwrap_or("none");
            format!(
                "signature does not verify under the key given (--director-key, or --connection-key in continuous mode; served key_id {}, public_key {served}, not trusted)",
                b.key_id
            )
        })?;
        if b.items_after.is_some() {
            bail!(
                "asked for the first page, served the page after item {:?}",
                b.items_after
            );
        }
        let mut ndjson = Vec::new();
        let head = format!(
            r#"{{"statement":{},"statement_digest":"{digest}","signature":"{}","key_id":{}}}"#,
            b.statement.get(),
            hex::encode(&signature),
            serde_json::to_string(&b.key_id)?,
        );
        ndjson.extend_from_slice(head.as_bytes());
        ndjson.push(b'\n');
        let mut batch = Self {
            items: Vec::with_capacity(
                usize::try_from(statement.item_count)
                    .unwrap_or(0)
                    .min(1 << 20),
            ),
            statement,
            statement_raw: b.statement.get().to_owned(),
            digest,
            signature: b.signature.clone(),
            ndjson,
        };
        let next = batch.add(&b)?;
        Ok((batch, next))
    }

    /// A later page: the same statement and signature, its items following
    /// the last one received. Answers the next page's `items_after`, if any.
    pub(crate) fn page(&mut self, bytes: &[u8]) -> Result<Option<u64>> {
        let b: ServedBatch = serde_json::from_slice(bytes)
            .context("the answer is not a batch page of the documented shape")?;
        let received = self.items.len() as u64;
        if b.items_after != received.checked_sub(1) {
            bail!(
                "asked for the items after {}, served those after {:?}",
                received.saturating_sub(1),
                b.items_after
            );
        }
        if b.statement.get() != self.statement_raw
            || b.statement_digest != self.digest
            || b.signature != self.signature
        {
            bail!(
                "the page after item {} carries another statement or signature than the batch's first page",
                received.saturating_sub(1)
            );
        }
        self.add(&b)
    }

    /// Steps 4–5 for a page's items, then where the next page starts.
    fn add(&mut self, b: &ServedBatch) -> Result<Option<u64>> {
        let statement = &self.statement;
        if b.item_count != statement.item_count {
            bail!(
                "the page says {} items, the statement {}",
                b.item_count,
                statement.item_count
            );
        }
        for served in &b.items {
            let i = self.items.len() as u64;
            let named = || format!("item {i} (dossier {})", served.dossier);
            if i >= statement.item_count {
                bail!(
                    "{}: more items served than the statement's {}",
                    named(),
                    statement.item_count
                );
            }
            let item = check_item(statement, i, served).with_context(named)?;
            let mut line = String::new();
            write!(
                line,
                r#"{{"index":{i},"dossier":{},"revision":{},"chain_hash":"{}","document_sha256":"{}","document":{}}}"#,
                serde_json::to_string(&item.dossier)?,
                item.revision,
                hex::encode(item.chain_hash),
                hex::encode(item.document_sha256),
                served.document.get(),
            )?;
            self.ndjson.extend_from_slice(line.as_bytes());
            self.ndjson.push(b'\n');
            self.items.push(item);
        }
        let received = self.items.len() as u64;
        match b.next_items_after {
            None => Ok(None),
            Some(n) if b.items.is_empty() || Some(n) != received.checked_sub(1) => {
                bail!("next_items_after {n} does not follow the {received} items received")
            }
            Some(n) => Ok(Some(n)),
        }
    }

    /// The batch, once the last page is in: every item received, and
    /// (belt and braces: each proof checked one leaf) the whole list gives
    /// the root too.
    pub(crate) fn finish(self) -> Result<Verified> {
        if self.items.len() as u64 != self.statement.item_count {
            bail!(
                "{} items served, the statement says {}",
                self.items.len(),
                self.statement.item_count
            );
        }
        if hoso_sync::merkle_root(&self.items)? != self.statement.merkle_root {
            bail!("the items in order do not give the statement's merkle_root");
        }
        Ok(Verified {
            statement: self.statement,
            digest: self.digest,
            ndjson: self.ndjson,
        })
    }
}

/// Steps 4 and 5 for one item: its document's digest and its inclusion proof.
fn check_item(statement: &BatchStatement, index: u64, served: &ServedItem) -> Result<BatchItem> {
    let document = served.document.get().as_bytes();
    // One record per line: a raw line feed would split it (JSON escapes those
    // inside strings, so a canonical document has none).
    if document.contains(&b'\n') {
        bail!("the document holds a line feed, so it is not canonical");
    }
    let sha: [u8; 32] = Sha256::digest(document).into();
    if hex::encode(sha) != served.document_sha256 {
        bail!(
            "the document's SHA-256 {} is not document_sha256 {} (step 5)",
            hex::encode(sha),
            served.document_sha256
        );
    }
    if served.proof.leaf_index != index {
        bail!(
            "its proof is for leaf {}, not {index}",
            served.proof.leaf_index
        );
    }
    let chain_hash: [u8; 32] = hex::decode(&served.chain_hash)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| anyhow!("chain_hash is not 64 hex digits"))?;
    let item = BatchItem {
        dossier: served.dossier.clone(),
        revision: served.revision,
        chain_hash,
        document_sha256: sha,
    };
    // The item's canonical bytes must round-trip (one spelling per value).
    BatchItem::from_canonical(&item.canonical_bytes()?)?;
    hoso_sync::verify_item(statement, &item, &served.proof)
        .context("not included under the statement's merkle_root (step 4)")?;
    Ok(item)
}

/// Writes the batch file, or, when a crash left one, checks it is the same
/// bytes: the same sequence must always be the same batch.
fn write_batch(dir: &Path, file: &Path, bytes: &[u8]) -> Result<()> {
    match fs::read(file) {
        Ok(existing) if existing == bytes => Ok(()),
        Ok(_) => bail!(
            "{} already holds a different batch under this sequence; the province served another batch than before (refused, nothing acknowledged)",
            file.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_atomically(dir, file, bytes),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

/// tmp + fsync + rename + directory fsync: the file is there whole or not at all.
pub(crate) fn write_atomically(dir: &Path, file: &Path, bytes: &[u8]) -> Result<()> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} has no file name", file.display()))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, file).with_context(|| format!("cannot rename to {}", file.display()))?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn prepare_out(out: &Path) -> Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    fs::set_permissions(out, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", out.display()))?;
    Ok(())
}

fn read_cursor(out: &Path) -> Result<Option<Cursor>> {
    let path = out.join(CURSOR_FILE);
    match fs::read(&path) {
        Ok(bytes) => {
            let c: Cursor = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is malformed", path.display()))?;
            let s = BatchStatement::from_canonical(c.statement.as_bytes())
                .with_context(|| format!("{}: its statement is malformed", path.display()))?;
            if s.sequence != c.sequence || hex::encode(s.digest()?) != c.statement_digest {
                bail!(
                    "{}: sequence or digest does not match its statement",
                    path.display()
                );
            }
            Ok(Some(c))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The bearer token, from a file only its owner can read; never printed.
pub(crate) fn read_token(path: &Path) -> Result<String> {
    let text = read_owner_only(path)?;
    let token = text.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("{} does not hold one bearer token", path.display());
    }
    Ok(token.to_owned())
}

/// A secret file's text, refused (without its content) when others can read it.
pub(crate) fn read_owner_only(path: &Path) -> Result<String> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} can be read by others (mode {:o}); `chmod 600` it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The director's key: 64 hex digits, or a file holding them.
fn director_key(given: &str) -> Result<[u8; 32]> {
    let parse = |s: &str| -> Option<[u8; 32]> { hex::decode(s.trim()).ok()?.try_into().ok() };
    if let Some(k) = parse(given) {
        return Ok(k);
    }
    let text = fs::read_to_string(given).with_context(|| {
        format!("--director-key {given:?} is neither 64 hex digits nor a readable file")
    })?;
    parse(&text).ok_or_else(|| anyhow!("{given}: not a 32-byte public key in hex"))
}

fn check_prefix(prefix: &str) -> Result<()> {
    let ok = (1..=64).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok {
        bail!("--receipt-prefix must be 1–64 characters of [0-9A-Za-z._-]");
    }
    Ok(())
}

/// `http://host:port` or `…/api/v1` → `…/api/v1`.
pub(crate) fn api_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/api/v1") {
        url.to_owned()
    } else {
        format!("{url}/api/v1")
    }
}

pub(crate) async fn get_bytes(http: &reqwest::Client, url: &str, token: &str) -> Result<Vec<u8>> {
    let resp = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let bytes = resp.bytes().await.with_context(|| format!("GET {url}"))?;
    if !status.is_success() {
        bail!("GET {url}: {status}: {}", problem_text(&bytes));
    }
    Ok(bytes.to_vec())
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<T> {
    let bytes = get_bytes(http, url, token).await?;
    serde_json::from_slice(&bytes).with_context(|| format!("GET {url}: unexpected answer"))
}

async fn ack(
    http: &reqwest::Client,
    base: &str,
    seq: u64,
    receipt: &str,
    token: &str,
) -> Result<()> {
    let url = format!("{base}/sync/batches/{seq}/ack");
    let resp = http
        .post(&url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "receipt": receipt }))
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    if !status.is_success() {
        let bytes = resp.bytes().await.unwrap_or_default();
        bail!(
            "POST {url}: {status}: {} (batch {seq} is written but not acknowledged; the cursor did not move)",
            problem_text(&bytes)
        );
    }
    Ok(())
}

/// A problem answer's `type` and `detail`, or its first bytes.
pub(crate) fn problem_text(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => format!(
            "{} {}",
            v["type"].as_str().unwrap_or_default(),
            v["detail"].as_str().unwrap_or_default()
        ),
        Err(_) => String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_base_is_found_with_or_without_its_path() {
        assert_eq!(api_base("http://h:1"), "http://h:1/api/v1");
        assert_eq!(api_base("http://h:1/api/v1/"), "http://h:1/api/v1");
    }

    #[test]
    fn a_receipt_prefix_is_a_plain_name() {
        assert!(check_prefix("csdlqg").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("a b").is_err());
        assert!(check_prefix(&"x".repeat(65)).is_err());
    }

    #[test]
    fn a_director_key_is_hex_or_a_file() {
        let hexkey = "ab".repeat(32);
        assert_eq!(director_key(&hexkey).unwrap(), [0xab; 32]);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        fs::write(&f, format!("{hexkey}\n")).unwrap();
        assert_eq!(director_key(f.to_str().unwrap()).unwrap(), [0xab; 32]);
        fs::write(&f, "nope").unwrap();
        assert!(director_key(f.to_str().unwrap()).is_err());
    }

    #[test]
    fn a_token_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t");
        fs::write(&f, "secret-token\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_token(&f).unwrap_err().to_string();
        assert!(!e.contains("secret-token"), "{e}");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token(&f).unwrap(), "secret-token");
    }
}
