//! What an approval signature covers, and how it is checked.
//!
//! A head approves a dossier *as it stands at one revision*: the signature is
//! ed25519 over a digest of the stream name, that revision and the hash-chain
//! value of the event at that revision. Because the chain value commits to
//! every earlier event of the stream, the signature covers the whole
//! dossier history up to the revision, and an inspector with the log and the
//! public key can check it without trusting the server. The private key never
//! reaches hoso: the command hands out the digest, the head's client signs.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// Domain separator: a signature over a dossier approval can never be
/// replayed as a signature over anything else.
const APPROVAL_TAG: &[u8] = b"hoso-approval-v1\0";

/// The 32-byte digest a head signs to approve `stream` at `revision`, whose
/// event has chain hash `stream_hash`.
pub fn approval_digest(stream: &str, revision: u64, stream_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(APPROVAL_TAG);
    h.update((stream.len() as u64).to_be_bytes());
    h.update(stream.as_bytes());
    h.update(revision.to_be_bytes());
    h.update(stream_hash);
    h.finalize().into()
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// The registered public key is not a valid ed25519 point.
    #[error("registered public key is not a valid ed25519 key")]
    BadKey,
    /// The signature is not 64 bytes.
    #[error("signature has {0} bytes, ed25519 signatures have 64")]
    BadLength(usize),
    /// The signature does not match the digest and key.
    #[error("signature does not verify against the digest and the registered key")]
    Mismatch,
}

/// Verifies an ed25519 signature over `digest` with a raw 32-byte public key.
pub fn verify(
    public_key: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<(), SignatureProblem> {
    let key: [u8; 32] = public_key
        .try_into()
        .map_err(|_| SignatureProblem::BadKey)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| SignatureProblem::BadKey)?;
    let sig: [u8; 64] = signature
        .try_into()
        .map_err(|_| SignatureProblem::BadLength(signature.len()))?;
    key.verify(digest, &Signature::from_bytes(&sig))
        .map_err(|_| SignatureProblem::Mismatch)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    #[test]
    fn signature_covers_stream_revision_and_hash() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key().to_bytes();
        let digest = approval_digest("dossier-1", 5, &[1; 32]);
        let sig = key.sign(&digest).to_bytes();
        assert_eq!(verify(&public, &digest, &sig), Ok(()));
        for other in [
            approval_digest("dossier-2", 5, &[1; 32]),
            approval_digest("dossier-1", 6, &[1; 32]),
            approval_digest("dossier-1", 5, &[2; 32]),
        ] {
            assert_eq!(
                verify(&public, &other, &sig),
                Err(SignatureProblem::Mismatch)
            );
        }
        assert_eq!(
            verify(&public, &digest, &sig[..10]),
            Err(SignatureProblem::BadLength(10))
        );
    }
}
