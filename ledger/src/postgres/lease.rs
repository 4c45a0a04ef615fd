//! A lease for work that one node at a time must do on a shared log (signing tree
//! heads): a session-level advisory lock held on a connection of its own. PostgreSQL
//! releases it when that session ends, so a node that dies or loses its connection
//! loses the lease and another node can take it; nothing has to expire by the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, Config, NoTls};

use super::schema::pg_error;
use crate::error::StoreResult;

/// A named lease on one database. Dropping it closes its connection, which releases it.
pub struct Lease {
    client: Client,
    key: i64,
    name: String,
    acquired: AtomicBool,
    /// False once the lease's connection has ended (the server released the lock).
    alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.name)
            .field("held", &self.held())
            .finish()
    }
}

impl Lease {
    /// Opens the lease's own connection to the database at `url` (password apart). The
    /// lease is not taken yet: see [`try_acquire`](Self::try_acquire).
    pub async fn connect(url: &str, password: Option<&str>, name: &str) -> StoreResult<Self> {
        let (config, _) = super::parse_config(url, password)?;
        Self::with_config(&config, name).await
    }

    pub(super) async fn with_config(config: &Config, name: &str) -> StoreResult<Self> {
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| pg_error("connect the lease", &e))?;
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        let lease_name = name.to_owned();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, lease = %lease_name, "lease connection ended");
            }
            flag.store(false, Ordering::SeqCst);
        });
        Ok(Self {
            client,
            key: lease_key(name),
            name: name.to_owned(),
            acquired: AtomicBool::new(false),
            alive,
        })
    }

    /// Takes the lease if no other session holds it. True if this one holds it now.
    pub async fn try_acquire(&self) -> StoreResult<bool> {
        if self.held() {
            return Ok(true);
        }
        if !self.alive.load(Ordering::SeqCst) || self.client.is_closed() {
            // Lost with its connection; a new `Lease` is needed to try again.
            return Ok(false);
        }
        let got: bool = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.key])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error("take the lease", &e))?;
        if got {
            tracing::info!(lease = %self.name, "lease taken");
        }
        self.acquired.store(got, Ordering::SeqCst);
        Ok(got)
    }

    /// Whether this node holds the lease: taken, and its session still alive.
    pub fn held(&self) -> bool {
        self.acquired.load(Ordering::SeqCst)
            && self.alive.load(Ordering::SeqCst)
            && !self.client.is_closed()
    }

    /// Gives the lease up (e.g. at a clean shutdown), leaving the connection open.
    pub async fn release(&self) -> StoreResult<()> {
        if self.acquired.swap(false, Ordering::SeqCst) && !self.client.is_closed() {
            self.client
                .query_one("SELECT pg_advisory_unlock($1)", &[&self.key])
                .await
                .map_err(|e| pg_error("release the lease", &e))?;
        }
        Ok(())
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The advisory lock key of a lease name: its first 8 bytes of SHA-256, so that names,
/// not numbers, are what code and operators see.
fn lease_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("hoso-lease:{name}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_keys_differ_by_name_and_stay_apart_from_the_append_lock() {
        let a = lease_key("sealer");
        assert_eq!(a, lease_key("sealer"));
        assert_ne!(a, lease_key("other"));
        assert_ne!(a, super::super::schema::APPEND_LOCK_KEY);
    }
}
