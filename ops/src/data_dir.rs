//! One data directory: where each of its files lives, its settings file, and the
//! opening of a node over it (ledger, field keys, credentials, handlers, read model,
//! API state) for `init`, `serve`, `demo`, `rebuild`, `keys rotate` and the benches.
//!
//! A data directory holds, each name owned by the crate that writes the file:
//!
//! | file | constant | what |
//! |---|---|---|
//! | `ledger.db` | [`hoso_ledger::sqlite::DB_FILE`] | the log |
//! | `ledger-index.db` | [`hoso_ledger::sqlite::INDEX_FILE`] | the stream index, derived from the log |
//! | `ledger.lock` | [`hoso_ledger::sqlite::LOCK_FILE`] | one writer at a time |
//! | `ledger.corrupt` | [`hoso_ledger::sqlite::CORRUPT_MARKER_FILE`] | only after corruption was detected |
//! | `readmodel.db` | [`hoso_projections::READ_MODEL_FILE`] | the projections, rebuildable from the log |
//! | `readmodel.db.damaged-<time>` | [`hoso_projections::DAMAGED_PREFIX`] | only after a damaged read model was found at start and moved aside |
//! | `credentials.db` | [`hoso_commands::credentials::CREDENTIALS_FILE`] | password hashes |
//! | `field-keys.json` | [`hoso_commands::sealing::KEY_FILE`] | key-encryption keys (or where [`KEY_FILE_ENV`] says) |
//! | `ledger-keys.json` | [`hoso_ledger::ledger_keys::LEDGER_KEY_FILE`] | the ledger's tree-head signing keys (or where [`LEDGER_KEY_FILE_ENV`] says) |
//! | `connection-key.json` | [`hoso_commands::connection_key::CONNECTION_KEY_FILE`] | the province's connection key (HY 13.6), signing continuous sync batches |
//! | `tree-head.json` | [`hoso_ledger::checkpoint::HEAD_FILE`] | the latest signed tree head |
//! | `data-keys.db` | [`hoso_commands::sealing::DATA_KEYS_FILE`] | per-dossier data keys, wrapped |
//! | `sessions.db` | [`hoso_api::sessions::SESSIONS_FILE`] | API sessions |
//! | `attachments/` | [`hoso_api::ATTACHMENTS_DIR`] | uploaded scans, each encrypted under its dossier's data key |
//! | `uploads.db` | [`hoso_api::UPLOADS_FILE`] | uploads' metadata: uploader, size, time, cited or not (digests sealed) |
//! | `hoso.toml` | [`SETTINGS_FILE`] | the province profile chosen at `init`, and the ledger's backend |
//! | `init-incomplete` | [`INIT_MARKER`] | only while `hoso init` runs, or after it was interrupted |
//!
//! `hoso.toml`'s `[ledger]` table names the backend (`backend = "sqlite"`, the
//! default, `"postgres"` or `"kurrentdb"`) and, for the last two, its `url`, which
//! carries no password: that comes from [`PASSWORD_ENV`] or the file named by
//! [`PASSWORD_FILE_ENV`]. On a PostgreSQL node the log, credentials, sessions and
//! login throttling, wrapped data keys, uploads and attachments are in the database
//! every node shares; the read model, the stream index, the Merkle tree and
//! `tree-head.json` stay in the directory (derived, per node); the key files
//! (`field-keys.json`, `ledger-keys.json`, `connection-key.json`) and `hoso.toml`
//! are the same on every node. A KurrentDB node keeps everything but the log in
//! its directory (one node).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use hoso_api::access::KeyringSealer;
use hoso_api::{ApiConfig, AppState};
use hoso_commands::connection_key::{CONNECTION_KEY_FILE, ConnectionKey};
use hoso_commands::credentials::{CREDENTIALS_FILE, CredentialStore};
use hoso_commands::sealing::{DataKeysAt, Keyring};
use hoso_commands::workflows::Workflows;
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::Clock;
use hoso_domain::profile::Profile;
use hoso_ledger::LedgerKeyRing;
use hoso_ledger::checkpoint::HEAD_FILE;
use hoso_ledger::ledger_keys::LEDGER_KEY_FILE;
use hoso_ledger::postgres::blocking::Database;
use hoso_ledger::sealer::SigningLease;
use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::{EventStore, KurrentStore, PostgresStore, SqliteStore, StoreOptions};
use hoso_projections::{
    Agreement, Found, IdentifierSealer, PROJECTION_VERSION, READ_MODEL_FILE, ReadModel,
};

/// The data directory's settings file, written by `init` (and by `demo` and
/// `bench http` when they create a directory).
pub const SETTINGS_FILE: &str = "hoso.toml";
/// What `hoso init` writes first and removes last: while it exists the
/// directory is not a node, and every command but `hoso init` refuses it.
pub const INIT_MARKER: &str = "init-incomplete";
/// The profile of a directory whose settings name none.
pub const DEFAULT_PROFILE: &str = "national";
/// Environment variable naming the field-key file when it is kept outside
/// the data directory (production: a separate volume or secret mount).
pub const KEY_FILE_ENV: &str = "HOSO_FIELD_KEY_FILE";
/// Environment variable naming the ledger key ring when it is kept outside the
/// data directory, as [`KEY_FILE_ENV`] does for the field keys.
pub const LEDGER_KEY_FILE_ENV: &str = "HOSO_LEDGER_KEY_FILE";

/// Environment variable holding the database password of a PostgreSQL (or
/// KurrentDB) node: never in `hoso.toml`.
pub const PASSWORD_ENV: &str = "HOSO_DATABASE_PASSWORD";
/// Environment variable naming a file that holds the database password.
pub const PASSWORD_FILE_ENV: &str = "HOSO_DATABASE_PASSWORD_FILE";
/// The name of the lease whose holder signs tree heads on a shared log.
const SIGNING_LEASE: &str = "hoso-tree-head-signer";

/// The contents of `hoso.toml`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Settings {
    /// The province profile whose rules the ledger enforces.
    pub profile: Option<String>,
    /// This directory's own upload quota and grace period, over the profile's.
    pub uploads: Option<hoso_domain::profile::UploadRule>,
    /// Where the log is (`[ledger]`); SQLite in the directory when absent.
    pub ledger: Option<LedgerSettings>,
    /// `/readyz`'s bounds (`[health]`), under `hoso serve`'s flags.
    pub health: Option<HealthSettings>,
}

/// `hoso.toml`'s `[health]`: the bounds of `hoso serve`'s readiness flags.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// See `hoso serve --min-free-bytes`.
    pub min_free_bytes: Option<u64>,
    /// See `hoso serve --min-free-percent`.
    pub min_free_percent: Option<u8>,
    /// See `hoso serve --max-projection-lag`.
    pub max_projection_lag: Option<u64>,
}

/// The backend of a node's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `ledger.db` in the data directory (one node).
    #[default]
    Sqlite,
    /// A PostgreSQL database several nodes share.
    Postgres,
    /// A KurrentDB cluster (the shared stores stay in the directory: one node).
    Kurrentdb,
}

impl Backend {
    /// Its name in `hoso.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Kurrentdb => "kurrentdb",
        }
    }
}

/// `hoso.toml`'s `[ledger]`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// Which backend.
    #[serde(default)]
    pub backend: Backend,
    /// Its URL (PostgreSQL, KurrentDB), without a password.
    pub url: Option<String>,
}

/// The database password from [`PASSWORD_ENV`] or [`PASSWORD_FILE_ENV`] (first
/// line of the file), if either is set.
pub fn database_password() -> anyhow::Result<Option<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(Some(p));
    }
    match std::env::var_os(PASSWORD_FILE_ENV) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "read the database password file {}",
                    Path::new(&path).display()
                )
            })?;
            Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
        }
        None => Ok(None),
    }
}

/// Whether a URL's authority carries `user:password@`.
fn carries_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

impl LedgerSettings {
    /// The URL, required by the backends other than SQLite, refused when it
    /// carries a password.
    pub fn checked_url(&self) -> anyhow::Result<&str> {
        let url = self.url.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "hoso.toml: [ledger] backend = \"{}\" needs a url",
                self.backend.name()
            )
        })?;
        anyhow::ensure!(
            !carries_password(url),
            "the {} URL carries a password: remove it from the URL and give it in {PASSWORD_ENV} or a file named by {PASSWORD_FILE_ENV}",
            self.backend.name()
        );
        Ok(url)
    }
}

impl Settings {
    /// The profile named, or [`DEFAULT_PROFILE`].
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or(DEFAULT_PROFILE)
    }

    /// The ledger's settings (SQLite when `hoso.toml` has no `[ledger]`).
    pub fn ledger(&self) -> LedgerSettings {
        self.ledger.clone().unwrap_or_default()
    }
}

/// How a node's field keys are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// They must exist: a missing key file is the documented "cannot decrypt"
    /// failure, not a reason to start afresh.
    Open,
    /// New keys; existing ones are refused.
    Create,
    /// Open them, or create them on first start.
    OpenOrCreate,
}

/// A data directory, by path.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
    /// Made by `hoso init`, which alone may open a directory bearing [`INIT_MARKER`].
    initialising: bool,
    /// Where the field-key file lives when not inside the directory.
    key_file: Option<PathBuf>,
    /// Where the ledger key ring lives when not inside the directory.
    ledger_key_file: Option<PathBuf>,
}

impl DataDir {
    /// The directory at `path`, its field-key file where [`KEY_FILE_ENV`] says
    /// (inside the directory when unset).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            initialising: false,
            key_file: std::env::var_os(KEY_FILE_ENV).map(PathBuf::from),
            ledger_key_file: std::env::var_os(LEDGER_KEY_FILE_ENV).map(PathBuf::from),
        }
    }

    /// The directory as `hoso init` sees it: the one command that may open it
    /// while it bears [`INIT_MARKER`].
    pub fn initialising(mut self) -> Self {
        self.initialising = true;
        self
    }

    /// The marker `hoso init` leaves until it has finished.
    pub fn init_marker(&self) -> PathBuf {
        self.path.join(INIT_MARKER)
    }

    /// Refuses a directory whose `hoso init` has not finished: its files are
    /// whatever the interrupted run had written, and serving or changing them
    /// would make a half-made node look like a real one.
    pub fn check_init_finished(&self) -> anyhow::Result<()> {
        if !self.initialising && self.init_marker().exists() {
            anyhow::bail!(
                "{}: its `hoso init` was interrupted and did not finish; run the same `hoso init` again (it starts over: nothing in the directory was ever served)",
                self.path.display()
            );
        }
        Ok(())
    }

    /// The directory at `path` with its field-key file inside, whatever the
    /// environment says: a bench's data set is self-contained.
    pub fn self_contained(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            initialising: false,
            key_file: None,
            ledger_key_file: None,
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log.
    pub fn ledger_file(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }

    /// Whether the directory holds a log.
    pub fn has_ledger(&self) -> bool {
        self.ledger_file().exists()
    }

    /// The read model.
    pub fn read_model_file(&self) -> PathBuf {
        self.path.join(READ_MODEL_FILE)
    }

    /// The settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.path.join(SETTINGS_FILE)
    }

    /// The settings, or `None` when the directory has no settings file.
    pub fn read_settings(&self) -> anyhow::Result<Option<Settings>> {
        self.check_init_finished()?;
        let path = self.settings_file();
        if !path.exists() {
            return Ok(None);
        }
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        parse_settings(&path, &text).map(Some)
    }

    /// The profile of a directory made by `hoso init`, whose settings file
    /// must exist.
    pub fn profile(&self) -> anyhow::Result<Profile> {
        self.check_init_finished()?;
        let path = self.settings_file();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("read {} (is this a `hoso init` directory?)", path.display())
        })?;
        let settings = parse_settings(&path, &text)?;
        let profile = Profile::load(settings.profile_name())?;
        Ok(match settings.uploads {
            Some(uploads) => {
                uploads
                    .check()
                    .map_err(|p| anyhow::anyhow!("{}: {p}", path.display()))?;
                profile.with_uploads(uploads)
            }
            None => profile,
        })
    }

    /// Writes the settings file naming `profile`; `by` is the command writing it.
    pub fn write_settings(&self, profile: &Profile, by: &str) -> anyhow::Result<()> {
        self.write_settings_with(profile, by, &LedgerSettings::default())
    }

    /// Writes the settings file naming `profile` and, unless SQLite, the ledger's
    /// backend and URL.
    pub fn write_settings_with(
        &self,
        profile: &Profile,
        by: &str,
        ledger: &LedgerSettings,
    ) -> anyhow::Result<()> {
        let path = self.settings_file();
        let mut text = format!(
            "# Written by `{by}`. The province profile whose rules this ledger enforces.\nprofile = \"{}\"\n",
            profile.name()
        );
        if ledger.backend != Backend::Sqlite {
            let url = ledger.checked_url()?;
            text.push_str(&format!(
                "\n# Where the log is. The password is never here: {PASSWORD_ENV} or {PASSWORD_FILE_ENV}.\n[ledger]\nbackend = \"{}\"\nurl = {}\n",
                ledger.backend.name(),
                toml_string(url)
            ));
        }
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))
    }

    /// The ledger's settings (SQLite for a directory without `hoso.toml`).
    pub fn ledger_settings(&self) -> anyhow::Result<LedgerSettings> {
        Ok(self
            .read_settings()?
            .map(|s| s.ledger())
            .unwrap_or_default())
    }

    /// The PostgreSQL database a node shares with others, when its log is there.
    pub fn shared_database(&self) -> anyhow::Result<Option<Database>> {
        let ledger = self.ledger_settings()?;
        if ledger.backend != Backend::Postgres {
            return Ok(None);
        }
        let url = ledger.checked_url()?;
        Ok(Some(Database::new(url, database_password()?)?))
    }

    /// The field keys (their wrapped data keys in the shared database on a
    /// PostgreSQL node).
    pub fn keyring(&self, keys: Keys) -> anyhow::Result<Keyring> {
        let key_file = self.key_file.as_deref();
        let shared = self.shared_database()?;
        let at = shared
            .as_ref()
            .map_or(DataKeysAt::Directory, DataKeysAt::Postgres);
        Ok(match keys {
            Keys::Open => Keyring::open_with(&self.path, key_file, at)?,
            Keys::Create => Keyring::create_with(&self.path, key_file, at)?,
            Keys::OpenOrCreate => {
                Keyring::open_or_create_with(&self.path, key_file, at).context("field keys")?
            }
        })
    }

    /// The ledger key ring's file: where [`LEDGER_KEY_FILE_ENV`] says, else inside
    /// the directory.
    pub fn ledger_key_file(&self) -> PathBuf {
        self.ledger_key_file
            .clone()
            .unwrap_or_else(|| self.path.join(LEDGER_KEY_FILE))
    }

    /// The province connection key's file (HY 13.6).
    pub fn connection_key_file(&self) -> PathBuf {
        self.path.join(CONNECTION_KEY_FILE)
    }

    /// The province's connection key; a new one is stamped `now`.
    pub fn connection_key(&self, keys: Keys, now: DateTime<Utc>) -> anyhow::Result<ConnectionKey> {
        let path = self.connection_key_file();
        Ok(match keys {
            Keys::Open => ConnectionKey::load(&path)?,
            Keys::Create => ConnectionKey::create(&path, now)?,
            Keys::OpenOrCreate => {
                ConnectionKey::open_or_create(&path, now).context("connection key")?
            }
        })
    }

    /// Where `hoso demo` publishes the Sở Nội vụ director's public key (64 hex
    /// digits and a newline), the key a national consumer is given out of band
    /// to check the sealed batches (`hoso sync pull --director-key`).
    pub fn director_key_file(&self) -> PathBuf {
        self.path.join("sync").join("director.pub")
    }

    /// The latest signed tree head's file.
    pub fn head_file(&self) -> PathBuf {
        self.path.join(HEAD_FILE)
    }

    /// The ledger key ring; a new key is stamped `now`.
    pub fn ledger_keys(&self, keys: Keys, now: DateTime<Utc>) -> anyhow::Result<LedgerKeyRing> {
        let path = self.ledger_key_file();
        Ok(match keys {
            Keys::Open => LedgerKeyRing::load(&path)?,
            Keys::Create => LedgerKeyRing::create(&path, now)?,
            Keys::OpenOrCreate => {
                LedgerKeyRing::open_or_create(&path, now).context("ledger keys")?
            }
        })
    }

    /// Makes the directory `0700` and every file in it (and in `attachments/`)
    /// `0600`, for a directory written before this process's mask did so: the
    /// databases hold personal data and the key files secrets. SQLite gives each
    /// database's WAL and shared-memory files its database's mode.
    pub fn restrict_permissions(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let tighten = |path: &Path, mode: u32| -> anyhow::Result<()> {
            let meta = std::fs::symlink_metadata(path)
                .with_context(|| format!("read the mode of {}", path.display()))?;
            if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
                return Ok(());
            }
            tracing::warn!(path = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777), "readable by others: making it the owner's alone");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("restrict the mode of {}", path.display()))
        };
        tighten(&self.path, 0o700)?;
        for dir in [self.path.clone(), self.path.join(hoso_api::ATTACHMENTS_DIR)] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let entry = entry.with_context(|| format!("list {}", dir.display()))?;
                let kind = entry.file_type()?;
                if kind.is_file() {
                    tighten(&entry.path(), 0o600)?;
                } else if kind.is_dir() {
                    tighten(&entry.path(), 0o700)?;
                }
            }
        }
        Ok(())
    }

    /// The directory's parts, every one stamped by `clock`.
    pub fn on(&self, clock: Arc<dyn Clock>) -> Opener<'_> {
        Opener {
            dir: self,
            clock,
            read_map_bytes: None,
        }
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn parse_settings(path: &Path, text: &str) -> anyhow::Result<Settings> {
    toml::from_str(text).with_context(|| format!("parse {}", path.display()))
}

/// Opens the parts of a data directory on one clock: the handlers' and the
/// ledger's (transaction time), which the demo moves by hand.
pub struct Opener<'a> {
    dir: &'a DataDir,
    clock: Arc<dyn Clock>,
    /// What the log's reader connections may map (`None`: the ledger's default).
    read_map_bytes: Option<u64>,
}

impl Opener<'_> {
    /// The log's reader connections map at most `bytes` of it: for a process that
    /// reads the whole log once (a rebuild), whose resident size would otherwise
    /// count every page of it (`StoreOptions::read_map_bytes`).
    pub fn mapping_at_most(mut self, bytes: u64) -> Self {
        self.read_map_bytes = Some(bytes);
        self
    }

    fn store_options(&self) -> StoreOptions {
        StoreOptions {
            clock: hoso_commands::ledger_time(self.clock.clone()),
            read_map_bytes: self.read_map_bytes,
        }
    }

    /// The existing log.
    pub fn open_store(&self) -> anyhow::Result<SqliteStore> {
        let path = &self.dir.path;
        self.dir.check_init_finished()?;
        self.dir.restrict_permissions()?;
        SqliteStore::open(path, self.store_options())
            .with_context(|| format!("opening the ledger in {}", path.display()))
    }

    /// A new, empty log.
    pub fn create_store(&self) -> anyhow::Result<SqliteStore> {
        Ok(SqliteStore::create(&self.dir.path, self.store_options())?)
    }

    /// The node of a directory made by `hoso init` on the SQLite backend: its
    /// profile from the settings file, its existing log.
    pub fn open_node(&self, keys: Keys) -> anyhow::Result<Node> {
        let profile = self.dir.profile()?;
        let ledger = self.dir.ledger_settings()?;
        anyhow::ensure!(
            ledger.backend == Backend::Sqlite,
            "this command works on a SQLite data directory; {} names the {} backend (use `hoso serve` and the API)",
            self.dir.settings_file().display(),
            ledger.backend.name()
        );
        let store = self.open_store()?;
        self.node(store, profile, keys)
    }

    /// The log `hoso.toml` names: the directory's SQLite file, or a PostgreSQL
    /// database (with its signing lease) or a KurrentDB cluster.
    pub async fn connect_ledger(
        &self,
    ) -> anyhow::Result<(
        Arc<dyn EventStore>,
        Option<SqliteStore>,
        Option<Arc<dyn SigningLease>>,
    )> {
        let ledger = self.dir.ledger_settings()?;
        match ledger.backend {
            Backend::Sqlite => {
                let store = self.open_store()?;
                Ok((Arc::new(store.clone()), Some(store), None))
            }
            Backend::Postgres => {
                self.dir.restrict_permissions()?;
                let url = ledger.checked_url()?;
                let password = database_password()?;
                let store = PostgresStore::connect(url, password.as_deref(), self.store_options())
                    .await
                    .with_context(|| format!("connecting to the ledger at {url}"))?;
                let lease: Arc<dyn SigningLease> = Arc::new(store.lease(SIGNING_LEASE).await?);
                Ok((Arc::new(store), None, Some(lease)))
            }
            Backend::Kurrentdb => {
                self.dir.restrict_permissions()?;
                let url = ledger.checked_url()?;
                let url = with_password(url, database_password()?.as_deref());
                let store = KurrentStore::connect_with(&url, self.store_options())
                    .await
                    .with_context(|| {
                        format!(
                            "connecting to the KurrentDB ledger at {}",
                            ledger.checked_url().unwrap_or_default()
                        )
                    })?;
                Ok((Arc::new(store), None, None))
            }
        }
    }

    /// The node `hoso.toml` describes, whatever its backend (what `hoso serve`
    /// opens).
    pub async fn open_served(&self, keys: Keys) -> anyhow::Result<Node> {
        let profile = self.dir.profile()?;
        let (store, sqlite, lease) = self.connect_ledger().await?;
        let shared = self.dir.shared_database()?;
        self.node_on(store, sqlite, shared, lease, profile, keys)
    }

    /// The handlers over `store` (opened by this opener), under `profile`, with
    /// the directory's credentials and field keys.
    pub fn node(&self, store: SqliteStore, profile: Profile, keys: Keys) -> anyhow::Result<Node> {
        self.node_on(
            Arc::new(store.clone()),
            Some(store),
            None,
            None,
            profile,
            keys,
        )
    }

    /// The handlers over any log; the shared stores in `shared` when nodes share
    /// a PostgreSQL database, else in the directory.
    fn node_on(
        &self,
        store: Arc<dyn EventStore>,
        sqlite: Option<SqliteStore>,
        shared: Option<Database>,
        lease: Option<Arc<dyn SigningLease>>,
        profile: Profile,
        keys: Keys,
    ) -> anyhow::Result<Node> {
        let keyring = Arc::new(self.dir.keyring(keys)?);
        let credentials = match &shared {
            Some(db) => CredentialStore::open_postgres(db)?,
            None => CredentialStore::open(&self.dir.path.join(CREDENTIALS_FILE))?,
        };
        let workflows = Arc::new(Workflows::new(
            store.clone(),
            profile,
            WorkingCalendar::official()?,
            self.clock.clone(),
            credentials,
            keyring.clone(),
        ));
        Ok(Node {
            dir: self.dir.clone(),
            store,
            sqlite,
            shared,
            lease,
            workflows,
            keyring,
        })
    }
}

/// A KurrentDB URL with the password put in (`scheme://user@…` →
/// `scheme://user:password@…`).
fn with_password(url: &str, password: Option<&str>) -> String {
    let Some(password) = password else {
        return url.to_owned();
    };
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => format!("{scheme}://{user}:{password}@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A data directory opened for commands.
pub struct Node {
    /// Where it lives.
    pub dir: DataDir,
    /// The log (the handlers hold it too).
    pub store: Arc<dyn EventStore>,
    /// The same log when it is the directory's SQLite file (the demo and the
    /// benches need its own methods).
    pub sqlite: Option<SqliteStore>,
    /// The PostgreSQL database the node shares with others, holding its
    /// credentials, sessions, data keys and uploads too.
    pub shared: Option<Database>,
    /// On a shared log, the lease whose holder alone signs tree heads.
    pub lease: Option<Arc<dyn SigningLease>>,
    /// The write side.
    pub workflows: Arc<Workflows>,
    /// Field keys.
    pub keyring: Arc<Keyring>,
}

impl Node {
    /// The field keys as the read model's sealer of the identification
    /// numbers older events carry in clear.
    pub fn identifier_sealer(&self) -> Arc<dyn IdentifierSealer> {
        Arc::new(KeyringSealer(self.keyring.clone()))
    }

    /// The read model, rebuilt if another projection version wrote it, and
    /// caught up with the log; says what it did.
    pub async fn caught_up_read_model(&self) -> anyhow::Result<Arc<ReadModel>> {
        let clock = self.workflows.clock().clone();
        let (mut read, found) =
            ReadModel::open(self.dir.path(), clock.clone(), self.identifier_sealer())?;
        match found {
            Found::Stale { version } => println!(
                "the read model was written by projection version {version}; rebuilding it as version {PROJECTION_VERSION}"
            ),
            Found::Damaged { reason, moved_to } => println!(
                "the read model was damaged ({reason}); moved it aside to {} and rebuilding it from the log",
                moved_to.display()
            ),
            Found::Created | Found::Current => {}
        }
        if let Some(damage) = self.store.damage() {
            // Nothing more is projected from a log that failed verification; the API
            // refuses to serve from it (see `hoso_api`'s trust gate).
            tracing::error!(position = ?damage.position, reason = %damage.detail, "the ledger is untrusted: the read model is not caught up");
            return Ok(Arc::new(read));
        }
        let agreement = read.agreement_with(&*self.store).await?;
        if agreement != Agreement::Agrees {
            println!(
                "the read model does not match the log ({agreement:?}); rebuilding it from the log"
            );
            tracing::warn!(?agreement, "read model not trusted: rebuilding it");
            drop(read);
            read = ReadModel::rebuild(
                self.dir.path(),
                &*self.store,
                clock,
                self.identifier_sealer(),
                &|_| (),
            )
            .await?
            .0;
        }
        let applied = read.catch_up(&*self.store).await?;
        if applied > 0 {
            println!("read model caught up by {applied} events");
        }
        Ok(Arc::new(read))
    }

    /// The directory's SQLite log, for the tools that work on a file.
    pub fn sqlite(&self) -> anyhow::Result<&SqliteStore> {
        self.sqlite
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this works on a SQLite data directory only"))
    }

    /// The API's state over this node and `read`.
    pub fn api(&self, read: Arc<ReadModel>, config: ApiConfig) -> anyhow::Result<AppState> {
        Ok(AppState::new_shared(
            self.dir.path(),
            self.workflows.clone(),
            read,
            self.keyring.clone(),
            config,
            self.shared.as_ref(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoso_domain::clock::ManualClock;

    fn at_noon() -> Arc<ManualClock> {
        let noon = chrono::DateTime::parse_from_rfc3339("2026-01-05T05:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        Arc::new(ManualClock::new(noon))
    }

    #[test]
    fn settings_written_are_read_back_and_a_missing_profile_is_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::self_contained(tmp.path());
        assert!(dir.read_settings().unwrap().is_none());
        assert!(
            dir.profile().is_err(),
            "no settings file: not an init directory"
        );
        dir.write_settings(&Profile::load("hung-yen").unwrap(), "hoso test")
            .unwrap();
        let s = dir.read_settings().unwrap().unwrap();
        assert_eq!(s.profile_name(), "hung-yen");
        assert_eq!(dir.profile().unwrap().name(), "hung-yen");
        std::fs::write(dir.settings_file(), "# no profile\n").unwrap();
        assert_eq!(dir.profile().unwrap().name(), DEFAULT_PROFILE);
        std::fs::write(dir.settings_file(), "profile = [").unwrap();
        assert!(dir.read_settings().is_err());
    }

    #[tokio::test]
    async fn the_ledger_is_stamped_by_the_clock_the_node_is_opened_on() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::self_contained(tmp.path());
        let clock = at_noon();
        let on = dir.on(clock.clone());
        let profile = Profile::load(DEFAULT_PROFILE).unwrap();
        let node = on
            .node(on.create_store().unwrap(), profile, Keys::Create)
            .unwrap();
        node.workflows
            .bootstrap_system_admin("snv.admin", "Quản trị", "000.01.00.H33", "Mk-2026!Hn@Vn#x")
            .await
            .unwrap();
        let first = node
            .store
            .read_all(node.store.first_position(), 1)
            .await
            .unwrap();
        assert_eq!(first[0].recorded_at, clock.now());
    }

    #[tokio::test]
    async fn a_node_writes_only_files_named_here() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::self_contained(tmp.path());
        let profile = Profile::load(DEFAULT_PROFILE).unwrap();
        dir.write_settings(&profile, "hoso test").unwrap();
        let on = dir.on(at_noon());
        drop(on.create_store().unwrap());
        let node = on.open_node(Keys::Create).unwrap();
        let read = node.caught_up_read_model().await.unwrap();
        drop(node.api(read, ApiConfig::default()).unwrap());
        // A damaged read model is moved aside, under a name given here too.
        std::fs::write(tmp.path().join(READ_MODEL_FILE), [0x5a; 8192]).unwrap();
        drop(node.caught_up_read_model().await.unwrap());
        assert!(
            std::fs::read_dir(tmp.path()).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(hoso_projections::DAMAGED_PREFIX)),
            "the damaged read model was moved aside"
        );
        let named = [
            DB_FILE,
            hoso_ledger::sqlite::INDEX_FILE,
            hoso_ledger::sqlite::LOCK_FILE,
            hoso_ledger::sqlite::CORRUPT_MARKER_FILE,
            READ_MODEL_FILE,
            CREDENTIALS_FILE,
            hoso_commands::sealing::KEY_FILE,
            LEDGER_KEY_FILE,
            CONNECTION_KEY_FILE,
            HEAD_FILE,
            hoso_commands::sealing::DATA_KEYS_FILE,
            hoso_api::sessions::SESSIONS_FILE,
            hoso_api::ATTACHMENTS_DIR,
            hoso_api::UPLOADS_FILE,
            SETTINGS_FILE,
            hoso_projections::DAMAGED_PREFIX,
        ];
        for entry in std::fs::read_dir(tmp.path()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            // SQLite's own companions of a named database (write-ahead log, shared memory).
            let base = name
                .strip_suffix("-wal")
                .or_else(|| name.strip_suffix("-shm"))
                .or_else(|| name.strip_suffix("-journal"))
                .unwrap_or(&name);
            let base = if base.starts_with(hoso_projections::DAMAGED_PREFIX) {
                hoso_projections::DAMAGED_PREFIX
            } else {
                base
            };
            assert!(named.contains(&base), "{name} is not named in data_dir.rs");
        }
    }
}
