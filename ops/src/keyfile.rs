//! An ed25519 signing key as the file a head holds and picks in the portal:
//! PEM "PRIVATE KEY", PKCS #8 per RFC 8410 — what WebCrypto imports as
//! `pkcs8` for Ed25519, and what `openssl genpkey -algorithm ed25519` writes.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;

/// The DER of a PKCS #8 `OneAsymmetricKey` for Ed25519 up to the key: version
/// 0, algorithm id-Ed25519 (1.3.101.112), and the OCTET STRING that wraps the
/// 32-byte seed (RFC 8410 §7).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The PEM text of `seed`'s key.
pub fn pkcs8_pem(seed: &[u8; 32]) -> String {
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(seed);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
}

/// Writes `seed`'s key to a new file readable by its owner only.
pub fn write_pkcs8_pem(path: &Path, seed: &[u8; 32]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(pkcs8_pem(seed).as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pem_is_rfc_8410s_example_shape() {
        // RFC 8410 §10.3's example private key.
        let seed: [u8; 32] =
            hex::decode("d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842")
                .unwrap_or_default()
                .try_into()
                .unwrap_or([0; 32]);
        assert_eq!(
            pkcs8_pem(&seed),
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"
        );
    }
}
