//! Signing keys (Ed25519) and the master key that encrypts them at rest.
//!
//! Private keys are stored as XChaCha20-Poly1305 ciphertext of their PKCS#8
//! DER, with the `kid` as associated data so a ciphertext cannot be moved to
//! another key's row. The master key comes from `SIGIL_MASTER_KEY`, a file, or
//! is generated into the data dir (mode 0600) on first start.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use rand::RngCore;
use std::path::Path;

/// 32 bytes that encrypt signing keys at rest. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid master key: expected 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`)")]
    BadMasterKey,
    #[error("cannot read or write the master key file {path}: {detail}")]
    File { path: String, detail: String },
    #[error("cannot decrypt signing key {kid}: the master key does not match the one this database was created with")]
    WrongMasterKey { kid: String },
    #[error("corrupt signing key {kid}")]
    Corrupt { kid: String },
}

impl MasterKey {
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::BadMasterKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadMasterKey)?;
        Ok(Self(arr))
    }

    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// Reads `path`, or creates it (mode 0600) with a fresh key when `create` and it is absent.
    pub fn load_or_create(path: &Path, create: bool) -> Result<Self, KeyError> {
        let file_err = |e: std::io::Error| KeyError::File {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = Self::generate();
                write_private_file(path, format!("{}\n", STANDARD.encode(key.0)).as_bytes())
                    .map_err(file_err)?;
                Ok(key)
            }
            Err(e) => Err(file_err(e)),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Encrypts `plain` bound to `aad`; output is base64(nonce ‖ ciphertext).
    pub fn seal(&self, aad: &str, plain: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    pub fn open(&self, aad: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(24);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }
}

/// Writes a file readable by its owner only.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(contents)?;
    f.sync_all()
}

/// A new signing key: its kid, public key (base64url, the JWK `x`) and sealed private key.
pub struct NewKey {
    pub kid: String,
    pub public_x: String,
    pub private_sealed: String,
}

pub fn generate_signing_key(master: &MasterKey) -> Result<NewKey, KeyError> {
    let sk = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let public_x = URL_SAFE_NO_PAD.encode(sk.verifying_key().to_bytes());
    // The kid is derived from the public key: stable, unique, and says nothing secret.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(sk.verifying_key().to_bytes());
    let kid = URL_SAFE_NO_PAD.encode(&digest[..12]);
    let der = sk
        .to_pkcs8_der()
        .map_err(|_| KeyError::Corrupt { kid: kid.clone() })?;
    let private_sealed = master.seal(&kid, der.as_bytes());
    Ok(NewKey {
        kid,
        public_x,
        private_sealed,
    })
}

/// A key usable for verification (and for signing, when the private half is loaded).
#[derive(Clone)]
pub struct LoadedKey {
    pub kid: String,
    pub public_x: String,
    pub created_at: i64,
    pub max_token_exp: i64,
    pub decoding: jsonwebtoken::DecodingKey,
    pub encoding: Option<jsonwebtoken::EncodingKey>,
}

impl LoadedKey {
    pub fn load(
        master: &MasterKey,
        kid: &str,
        public_x: &str,
        private_sealed: &str,
        created_at: i64,
        max_token_exp: i64,
    ) -> Result<Self, KeyError> {
        let corrupt = || KeyError::Corrupt {
            kid: kid.to_string(),
        };
        let raw = URL_SAFE_NO_PAD.decode(public_x).map_err(|_| corrupt())?;
        if raw.len() != 32 {
            return Err(corrupt());
        }
        let der = master
            .open(kid, private_sealed)
            .ok_or_else(|| KeyError::WrongMasterKey {
                kid: kid.to_string(),
            })?;
        Ok(Self {
            kid: kid.to_string(),
            public_x: public_x.to_string(),
            created_at,
            max_token_exp,
            decoding: jsonwebtoken::DecodingKey::from_ed_der(&raw),
            encoding: Some(jsonwebtoken::EncodingKey::from_ed_der(&der)),
        })
    }

    /// The JWK of the public half.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": self.kid, "x": self.public_x,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let m = MasterKey::generate();
        let s = m.seal("kid-1", b"secret");
        assert_eq!(m.open("kid-1", &s).as_deref(), Some(&b"secret"[..]));
        assert!(
            m.open("kid-2", &s).is_none(),
            "ciphertext is bound to its kid"
        );
        assert!(
            MasterKey::generate().open("kid-1", &s).is_none(),
            "another master key fails"
        );
        assert!(!format!("{m:?}").contains(&STANDARD.encode(m.0)));
    }

    #[test]
    fn master_key_file_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&p, true).unwrap();
        let b = MasterKey::load_or_create(&p, false).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(matches!(
            MasterKey::from_base64("c2hvcnQ="),
            Err(KeyError::BadMasterKey)
        ));
    }
}
