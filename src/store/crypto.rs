//! Encryption of saved tokens at rest: XChaCha20-Poly1305 with a random 256-bit key kept in a
//! file of its own (mode 0600) beside the database.
//!
//! The key lives apart from the database so that a copy of `writeback.db` alone (a backup, a
//! support bundle) reveals no token. The account name is the associated data, so a ciphertext
//! moved onto another account's row fails to decrypt instead of silently swapping credentials.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::StoreError;

/// File name of the key inside the home directory.
pub const KEY_FILE: &str = "token.key";

/// Length of the key in bytes (XChaCha20-Poly1305 takes 256-bit keys).
const KEY_LEN: usize = 32;

/// The cipher that seals and opens saved tokens.
pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl Cipher {
    /// Loads the key file under `home`, creating it (mode 0600) on first use.
    pub fn load_or_create(home: &Path) -> Result<Cipher, StoreError> {
        let path = home.join(KEY_FILE);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let key = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(&path)?,
            Err(e) => return Err(io(e)),
        };
        if key.len() != KEY_LEN {
            return Err(StoreError::BadKey {
                path,
                reason: "it is not 32 bytes long",
            });
        }
        let mode = std::fs::metadata(&path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            // Tighten rather than refuse: the file is ours, and a copy made with a permissive
            // umask should not leave the key readable by others.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        let aead = XChaCha20Poly1305::new_from_slice(&key).expect("key length checked above");
        Ok(Cipher { aead })
    }

    /// Encrypts `plain`, bound to `context` (the account name). Returns (nonce, ciphertext).
    pub fn seal(&self, context: &str, plain: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let cipher = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        (nonce.to_vec(), cipher)
    }

    /// Decrypts what [`Cipher::seal`] produced for the same `context`; `None` if it was altered,
    /// sealed for another context, or sealed with another key.
    pub fn open(&self, context: &str, nonce: &[u8], cipher: &[u8]) -> Option<Vec<u8>> {
        if nonce.len() != 24 {
            return None;
        }
        let nonce = XNonce::from_slice(nonce);
        self.aead
            .decrypt(
                nonce,
                Payload {
                    msg: cipher,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

fn create_key(path: &PathBuf) -> Result<Vec<u8>, StoreError> {
    let key = XChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
    // create_new: two processes starting at once must not each write a different key.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match file {
        Ok(mut f) => {
            f.write_all(&key)
                .and_then(|_| f.sync_all())
                .map_err(|source| StoreError::Io {
                    path: path.clone(),
                    source,
                })?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })
        }
        Err(source) => Err(StoreError::Io {
            path: path.clone(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cipher::load_or_create(dir.path()).unwrap();
        let (n, ct) = c.seal("prod", b"sv=2021&sig=abc");
        assert_eq!(c.open("prod", &n, &ct).unwrap(), b"sv=2021&sig=abc");
        assert!(
            c.open("other", &n, &ct).is_none(),
            "ciphertext must be bound to its account"
        );
        assert!(
            !ct.windows(3).any(|w| w == b"sig"),
            "ciphertext must not carry the plaintext"
        );
    }

    #[test]
    fn key_file_is_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c1 = Cipher::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (n, ct) = c1.seal("a", b"secret");
        let c2 = Cipher::load_or_create(dir.path()).unwrap();
        assert_eq!(c2.open("a", &n, &ct).unwrap(), b"secret");
    }

    #[test]
    fn truncated_key_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        let err = Cipher::load_or_create(dir.path()).err().unwrap();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
