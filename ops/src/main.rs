//! `hoso`: the one binary operators run — create a data directory, verify it,
//! rebuild its read model, run the demo province, and measure.

// Standard output is this binary's interface; libraries log through `tracing` instead.
#![allow(clippy::print_stdout)]

mod backup;
mod bench;
mod bundle;
mod data_dir;
mod demo;
mod import;
mod init;
mod keyfile;
mod ledger_keys;
mod progress;
mod proof;
mod rebuild;
mod restore;
mod serve;
mod sync_continuous;
mod sync_login;
mod sync_pull;
mod sync_pull_months;
mod synth;
mod trust;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Reading the log allocates and frees millions of small strings across threads;
/// glibc's allocator spends a fifth of a full read on that, mimalloc a fraction.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hoso",
    version,
    about = "Tamper-evident ledger of public-servant personnel dossiers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new, empty data directory.
    Init {
        /// Data directory to create (must not already hold a ledger).
        #[arg(long)]
        data: PathBuf,
        /// Province profile: deadlines, approval windows and authority rules
        /// (kon-tum, dak-lak, binh-thuan, dong-thap, hung-yen, national).
        #[arg(long, default_value = "national")]
        profile: String,
        /// Login name of the Sở Nội vụ system administrator to create. Its
        /// one-time password is printed once (or taken from HOSO_ADMIN_PASSWORD).
        #[arg(long, default_value = "snv.admin")]
        admin: String,
        /// Unit code of Sở Nội vụ, to which the administrator belongs.
        #[arg(long, default_value = "000.00.00.SNV")]
        admin_unit: String,
        /// Create no administrator: an empty ledger for `hoso demo` or an import.
        #[arg(long)]
        no_admin: bool,
        /// Where the log is: `sqlite` (a file in the data directory), `postgres`
        /// (a database N nodes share) or `kurrentdb` (a cluster). Written to hoso.toml.
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: data_dir::Backend,
        /// The database's URL for `postgres` or `kurrentdb`, without a password
        /// (that comes from HOSO_DATABASE_PASSWORD or HOSO_DATABASE_PASSWORD_FILE).
        #[arg(long, required_if_eq_any([("backend", "postgres"), ("backend", "kurrentdb")]))]
        url: Option<String>,
    },
    /// Field-encryption keys: rotate the key-encryption key (re-wraps every
    /// per-dossier data key; the log is not touched). `keys ledger`: the keys
    /// that sign tree heads.
    Keys {
        #[command(subcommand)]
        which: KeysCommand,
    },
    /// Serve the JSON API over HTTP (Ctrl-C or SIGTERM stops it gracefully).
    Serve {
        /// Data directory (from `hoso init` or `hoso demo --data`).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// How much of the log to verify before serving: what is new since the last
        /// run (a background pass then re-verifies the rest), or all of it first.
        #[arg(long, value_enum, default_value = "incremental")]
        verify: trust::Verify,
        /// Continuous sync mode: seconds between the rounds that seal the
        /// approvals recorded since the last batch with the province connection
        /// key (1–3600; well inside `[sync] lag`).
        #[arg(long, default_value = "300", value_parser = sync_continuous::parse_interval)]
        sync_interval: std::time::Duration,
        #[command(flatten)]
        readiness: serve::ReadinessFlags,
        #[command(flatten)]
        web: serve::WebFlags,
    },
    /// Verify every event's hash chain (and that every payload decodes). Exit 0 when
    /// intact, 1 when tampered or damaged (naming the first bad position), 2 on other errors.
    Verify {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Drop and rebuild every projection (the read model) from position 0,
    /// verifying every hash chain as it reads. Disaster recovery is a copy
    /// of the log plus this command.
    Rebuild {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Memory the rebuild caches in, MiB, whatever the size of the log
        /// (SQLite's page cache and the folded state of the dossiers applied
        /// last, half each).
        #[arg(long, default_value_t = hoso_projections::DEFAULT_REBUILD_CACHE_MIB)]
        cache_mib: usize,
    },
    /// Build a synthetic province through the real command handlers, then
    /// verify it and print its annual and SLA reports.
    Demo {
        /// Keep the result in this (new) directory instead of a temporary one.
        #[arg(long)]
        data: Option<PathBuf>,
        /// People in the synthetic province.
        #[arg(long, default_value_t = 2_000)]
        people: usize,
        /// Seed of the synthetic data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Then serve the province's API here and print the demo logins
        /// (Ctrl-C stops it; a temporary directory is removed then).
        #[arg(long, num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
        serve: Option<std::net::SocketAddr>,
    },
    /// Offline dossier bundles for audit inspectors (format: docs/bundle-format.md).
    Bundle {
        #[command(subcommand)]
        which: BundleCommand,
    },
    /// Verify a dossier bundle offline. Exit 0 when verified and authenticated by the
    /// ledger key, 2 when self-consistent but not authenticated (no key given), 1 on
    /// any failure (naming what failed and where).
    VerifyBundle {
        /// The bundle file.
        file: PathBuf,
        /// The province's published ledger public key: 64 hex digits, or a file
        /// holding them (what `hoso keys ledger show` prints).
        #[arg(long)]
        ledger_key: Option<String>,
        /// Print the dossier's history as a timeline.
        #[arg(long)]
        show: bool,
    },
    /// Check a ledger proof (from `/api/v1/ledger/proofs/…`) against signed tree heads,
    /// offline. Exit 0 when it holds and the heads are authenticated by the ledger key,
    /// 2 when it holds but no key was given, 1 on any failure.
    VerifyProof {
        #[command(subcommand)]
        kind: proof::ProofKind,
    },
    /// Import the province's existing records from the CSV or XLSX its HR
    /// software exports (docs/import-format.md). Exit 0 when every row is
    /// imported or unchanged, 1 when the file has problems (nothing is
    /// imported), 3 when rows were left out as conflicts.
    Import {
        /// The CSV or XLSX file.
        file: PathBuf,
        /// Data directory (not while `hoso serve` runs on it: use the API's
        /// `POST /api/v1/dossiers/imports/bulk` then).
        #[arg(long)]
        data: PathBuf,
        /// Check every row and report; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The exporting system's name: with each record id, it names the
        /// dossier, so a rerun finds what an earlier one imported.
        #[arg(long, default_value = hoso_import::DEFAULT_SOURCE)]
        source: String,
        /// The Sở Nội vụ system administrator to import as.
        #[arg(long, default_value = "snv.admin")]
        admin: String,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks (durable, on this machine's disk).
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
    /// Back up a SQLite data directory, online (HY 12.2, BT 10.1, KT 12.1, DL 11.4–11.5):
    /// a new directory under DEST with a manifest; the key files are left out (`keys
    /// export`). `--prune` then deletes what the profile's `[backup]` rule no longer
    /// requires.
    Backup {
        /// Data directory (may be served meanwhile). Without it, only `--prune`.
        #[arg(long, required_unless_present = "prune")]
        data: Option<PathBuf>,
        /// Destination directory of the backups (dedicated media).
        #[arg(long)]
        to: PathBuf,
        /// daily, monthly, quarterly or manual (default: what the profile's schedule
        /// says for today; nothing when nothing is due).
        #[arg(long, value_parser = parse_backup_kind)]
        kind: Option<hoso_domain::profile::BackupKind>,
        /// Copy the API sessions too (logged-in users stay logged in after a restore).
        #[arg(long)]
        sessions: bool,
        /// Delete the backups the profile no longer requires (after backing up, when
        /// `--data` is given), and incomplete ones older than a day.
        #[arg(long)]
        prune: bool,
    },
    /// Restore a backup into a data directory (new, empty, or a stopped node's, then
    /// kept aside): checks the manifest, every hash chain, the signed tree head, and
    /// that no published head is rolled back; rebuilds the read model.
    Restore {
        /// The backup directory (one `DEST/<time>-<kind>`).
        #[arg(long)]
        from: PathBuf,
        /// Data directory to restore into.
        #[arg(long)]
        data: PathBuf,
        /// The key file `hoso keys export` wrote (else put the key files back by hand).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// A signed tree head the node published (tree-head.json form), also checked
        /// for a rollback.
        #[arg(long)]
        published_head: Option<PathBuf>,
        /// Restore even though the log goes back below a published head; the reason
        /// is recorded in the log (ledger.RollbackAccepted).
        #[arg(long, value_name = "REASON")]
        accept_rollback: Option<String>,
    },
    /// The national sync feed, from the national database's side.
    Sync {
        #[command(subcommand)]
        which: SyncCommand,
    },
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Pull the sealed batches after the saved cursor, verify each (statement,
    /// chain, director's signature, every item and document), write it as
    /// NDJSON, acknowledge it, then move the cursor.
    Pull {
        /// The province server's base URL (e.g. `http://127.0.0.1:8080`).
        #[arg(long)]
        url: String,
        /// A file (mode 600) holding the national sync account's bearer token.
        #[arg(long, required_unless_present = "user", conflicts_with = "user")]
        token_file: Option<PathBuf>,
        /// Log in as this account instead (`POST /sessions`, the session ended
        /// when done), with the password of `--password-file`.
        #[arg(long, requires = "password_file")]
        user: Option<String>,
        /// A file (mode 600) holding `--user`'s password on one line.
        #[arg(long, requires = "user")]
        password_file: Option<PathBuf>,
        /// The output directory: `cursor.json` and one `batch-<n>.ndjson` per batch.
        #[arg(long)]
        out: PathBuf,
        /// The director's ed25519 public key, obtained out of band: 64 hex
        /// digits, or a file holding them. The served `public_key` is never trusted.
        #[arg(long)]
        director_key: String,
        /// Continuous mode (HY 13.6): the province connection key's public key
        /// (64 hex digits, or a file), which the batches are verified under; the
        /// director's key then verifies the month statements, pulled too.
        #[arg(long)]
        connection_key: Option<String>,
        /// The receipt of batch n is `<prefix>-<n>-<first 16 hex of its digest>`.
        #[arg(long, default_value = "hoso-sync-pull")]
        receipt_prefix: String,
        /// Test hook: abort right after the batch file is written, before the
        /// acknowledgement, as a crash there would.
        #[arg(long, hide = true)]
        abort_before_ack: bool,
        /// Items per page asked of the server (its default when absent):
        /// tests page a small batch with it.
        #[arg(long, hide = true)]
        items_limit: Option<u64>,
    },
    /// Print the province connection key's public key (64 hex; HY 13.6), which
    /// signs the batches of continuous mode (`init` and `serve` create the key).
    ConnectionKey {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Write one dossier's bundle: its events, their proofs against the latest signed
    /// tree head, the signers' key registrations and the head. Opens the data
    /// directory read-only.
    Export {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// The dossier's id (or its stream name, `dossier-<id>`).
        #[arg(long)]
        dossier: String,
        /// Write here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generate a new key-encryption key and re-wrap every data key with it.
    Rotate {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// The ledger keys that sign tree heads: show, rotate, revoke.
    Ledger {
        #[command(subcommand)]
        which: LedgerKeysCommand,
    },
    /// Write the key files (field keys, ledger key ring, connection key) into one file
    /// (mode 600) for `hoso restore --keys`. It decrypts every dossier: keep it apart
    /// from the backups (refused inside the data directory or a backup destination).
    Export {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// The file to write (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum LedgerKeysCommand {
    /// Every ledger key: id, state, dates and public key (the active key's public
    /// key is what the province publishes for inspectors).
    Show {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Make a new key active; the old one stays listed, retired, and its tree heads
    /// stay valid.
    Rotate {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Stop trusting a key beyond a tree size (revoking the active key rotates first).
    Revoke {
        /// The key's id (16 hex digits, as `keys ledger show` prints it).
        key_id: hoso_ledger::KeyId,
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Its heads of tree size up to this stay valid, none after (default: the
        /// tree size of the latest signed head in tree-head.json, else 0).
        #[arg(long)]
        valid_through: Option<u64>,
    },
}

fn main() -> ExitCode {
    // Everything this process creates — the data directory, the databases and their
    // WAL files, keys, attachments, bench and demo directories — is its owner's alone.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: a log file or a
        // journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Init {
                data,
                profile,
                admin,
                admin_unit,
                no_admin,
                backend,
                url,
            } => {
                let ledger = data_dir::LedgerSettings { backend, url };
                let admin = (!no_admin).then_some(init::Admin {
                    username: &admin,
                    unit: &admin_unit,
                });
                init::run(&data, &profile, &ledger, admin).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Keys {
                which: KeysCommand::Rotate { data },
            } => serve::rotate(&data).map(|()| ExitCode::SUCCESS),
            Command::Keys {
                which: KeysCommand::Export { data, to },
            } => backup::export_keys(
                &data,
                &to,
                hoso_domain::clock::Clock::now(&hoso_domain::clock::SystemClock),
            )
            .map(|()| ExitCode::SUCCESS),
            Command::Backup {
                data,
                to,
                kind,
                sessions,
                prune,
            } => backup::run(&backup::BackupArgs {
                data: data.as_deref(),
                to: &to,
                kind,
                sessions,
                prune,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Restore {
                from,
                data,
                keys,
                published_head,
                accept_rollback,
            } => restore::run(&restore::RestoreArgs {
                from: &from,
                data: &data,
                keys: keys.as_deref(),
                published_head: published_head.as_deref(),
                accept_rollback: accept_rollback.as_deref(),
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Keys {
                which: KeysCommand::Ledger { which },
            } => match which {
                LedgerKeysCommand::Show { data, json } => ledger_keys::show(&data, json),
                LedgerKeysCommand::Rotate { data } => ledger_keys::rotate(&data),
                LedgerKeysCommand::Revoke {
                    key_id,
                    data,
                    valid_through,
                } => ledger_keys::revoke(&data, key_id, valid_through),
            }
            .map(|()| ExitCode::SUCCESS),
            Command::Serve {
                data,
                listen,
                verify,
                sync_interval,
                readiness,
                web,
            } => serve::run(&data, listen, verify, sync_interval, readiness, web)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Verify { data, json } => verify::run(&data, json).await,
            Command::Rebuild { data, cache_mib } => rebuild::run(&data, cache_mib)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Demo {
                data,
                people,
                seed,
                serve,
            } => demo::run(data, people, seed, serve)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bundle {
                which: BundleCommand::Export { data, dossier, out },
            } => bundle::export(&data, &dossier, out.as_deref())
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::VerifyBundle {
                file,
                ledger_key,
                show,
            } => Ok(bundle::verify(&file, ledger_key.as_deref(), show)),
            Command::VerifyProof { kind } => Ok(proof::run(&kind)),
            Command::Import {
                file,
                data,
                dry_run,
                source,
                admin,
                json,
            } => {
                import::run(&import::ImportArgs {
                    file: &file,
                    data: &data,
                    dry_run,
                    source: &source,
                    admin: &admin,
                    json,
                })
                .await
            }
            Command::Bench { which } => bench::run(which).await.map(|()| ExitCode::SUCCESS),
            Command::Sync {
                which:
                    SyncCommand::Pull {
                        url,
                        token_file,
                        user,
                        password_file,
                        out,
                        director_key,
                        connection_key,
                        receipt_prefix,
                        abort_before_ack,
                        items_limit,
                    },
            } => sync_pull::run(&sync_pull::PullArgs {
                url,
                auth: sync_login::Auth::from_args(token_file, user, password_file)?,
                out,
                director_key,
                connection_key,
                receipt_prefix,
                abort_before_ack,
                items_limit,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Sync {
                which: SyncCommand::ConnectionKey { data },
            } => sync_continuous::show(&data).map(|()| ExitCode::SUCCESS),
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A backup kind as spelled on the command line.
fn parse_backup_kind(text: &str) -> Result<hoso_domain::profile::BackupKind, String> {
    hoso_domain::profile::BackupKind::parse(text)
        .ok_or_else(|| "expected daily, monthly, quarterly or manual".to_owned())
}
