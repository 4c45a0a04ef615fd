//! `hoso bundle export` and `hoso verify-bundle`: a dossier's offline bundle for audit
//! inspectors (format in `docs/bundle-format.md`), written from a data directory
//! opened read-only, and checked with nothing but the file and the province's
//! published ledger public key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use ed25519_dalek::VerifyingKey;
use hoso_bundle::{Authentication, Report, TimelineEntry, timeline};
use hoso_ledger::SqliteStore;
use hoso_ledger::checkpoint::{HEAD_FILE, read_head_file};
use hoso_ledger::tree::{MerkleTree, TREE_FILE};

/// `hoso bundle export`: writes the bundle of `dossier` (its id or its stream name)
/// to `out`, or to standard output.
pub async fn export(data: &Path, dossier: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let head_path = data.join(HEAD_FILE);
    let Some(head) = read_head_file(&head_path)? else {
        bail!(
            "{} has no signed tree head yet ({}): start the node (`hoso serve`) so that it signs one, then export",
            data.display(),
            head_path.display()
        );
    };
    let tree_path = data.join(TREE_FILE);
    if !tree_path.exists() {
        bail!(
            "{} has no Merkle tree ({}): start the node so that it builds one",
            data.display(),
            tree_path.display()
        );
    }
    // Read-only: no lock, no writer, nothing written; works beside a running server.
    crate::data_dir::DataDir::new(data).check_init_finished()?;
    let store = SqliteStore::open_read_only(data)
        .with_context(|| format!("open the log in {}", data.display()))?;
    let tree = MerkleTree::open_or_create(&tree_path)
        .with_context(|| format!("open {}", tree_path.display()))?;
    let stream = if dossier.starts_with(hoso_domain::dossier::STREAM_PREFIX) {
        dossier.to_owned()
    } else {
        hoso_domain::dossier::stream_id(dossier)
    };
    let bundle = hoso_bundle::export(&store, &tree, &head, &stream).await?;
    let bytes = bundle.to_bytes()?;
    match out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("write {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    eprintln!(
        "bundle of {stream}: {} events (revisions 0–{}), {} signer key(s), {} attachment hash(es), against the tree head of size {} signed {} by key {}{}",
        bundle.events.len(),
        bundle.last_revision,
        bundle.signer_keys.len(),
        bundle.attachments.len(),
        head.head.tree_size,
        head.head.signed_at.to_rfc3339(),
        head.head.key_id,
        if bundle.later_events_omitted {
            "; later events of the dossier are not covered by that head and are left out"
        } else {
            ""
        }
    );
    Ok(())
}

/// `hoso verify-bundle`: exit 0 when verified and authenticated, 2 when
/// self-consistent but not authenticated (no key given), 1 on any failure.
pub fn verify(file: &Path, ledger_key: Option<&str>, show: bool) -> ExitCode {
    let key = match ledger_key.map(parse_key).transpose() {
        Ok(key) => key,
        Err(e) => return failed(&format!("{e:#}")),
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return failed(&format!("cannot read {}: {e}", file.display())),
    };
    let report = match hoso_bundle::verify(&bytes, key.as_ref()) {
        Ok(r) => r,
        Err(e) => return failed(&e.to_string()),
    };
    if show {
        print_timeline(&report, &timeline(&report));
    }
    println!("{}", report.verdict());
    if report.later_events_omitted {
        println!(
            "note: the exporter states that the dossier has later events, not covered by this head"
        );
    }
    match report.authentication {
        Authentication::Authenticated { .. } => ExitCode::SUCCESS,
        Authentication::NotAuthenticated => ExitCode::from(2),
    }
}

pub(crate) fn failed(problem: &str) -> ExitCode {
    println!("FAILED: {problem}");
    ExitCode::from(1)
}

/// The key as 64 hex digits, or a file holding them (alone or among other words, as
/// `hoso keys ledger show` prints it): exactly one 64-hex word must be there.
pub(crate) fn parse_key(arg: &str) -> anyhow::Result<VerifyingKey> {
    let text = if is_key_hex(arg) {
        arg.to_owned()
    } else {
        let path = PathBuf::from(arg);
        let content = std::fs::read_to_string(&path).with_context(|| {
            format!("--ledger-key {arg:?} is neither 64 hex digits nor a readable file")
        })?;
        let words: Vec<&str> = content
            .split(|c: char| !c.is_ascii_hexdigit())
            .filter(|w| is_key_hex(w))
            .collect();
        match words.as_slice() {
            [one] => (*one).to_owned(),
            [] => bail!("{} holds no 64-hex-digit public key", path.display()),
            _ => bail!(
                "{} holds {} 64-hex-digit words; give the key itself",
                path.display(),
                words.len()
            ),
        }
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.to_ascii_lowercase(), &mut bytes)
        .context("the ledger key is not hex")?;
    VerifyingKey::from_bytes(&bytes).context("the ledger key is not a valid ed25519 public key")
}

fn is_key_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn print_timeline(report: &Report, entries: &[TimelineEntry]) {
    let h = &report.head.head;
    println!(
        "{} — history as proven in the tree of size {} (root {}, signed {} by key {})",
        report.dossier,
        h.tree_size,
        hex::encode(h.root),
        h.signed_at.to_rfc3339(),
        h.key_id
    );
    for e in entries {
        println!(
            "r{:<3} {}  {}  {}",
            e.revision,
            e.recorded_at.format("%Y-%m-%d %H:%M:%SZ"),
            e.who,
            e.summary
        );
        if let Some(effective) = &e.effective {
            println!("       effective {effective}");
        }
        if let Some(decision) = &e.decision {
            println!("       decision {decision}");
        }
        for c in &e.changes {
            println!(
                "       {}.{}: {} → {}",
                c.section,
                c.field,
                c.before.as_deref().unwrap_or("(none)"),
                c.after.as_deref().unwrap_or("(removed)")
            );
        }
        if let Some(s) = &e.signature {
            println!(
                "       signature {} by {}{} with key {} over revision {}",
                if s.valid { "✓" } else { "✗" },
                s.signer,
                s.delegated_from
                    .as_deref()
                    .map(|d| format!(" (delegated by {d})"))
                    .unwrap_or_default(),
                s.key_id,
                s.signed_revision
            );
        }
    }
    for a in &report.attachments {
        println!(
            "attachment {} cited at revision(s) {:?}",
            hex::encode(a.sha256),
            a.cited_by
        );
    }
}
