//! Key files: PKCS#8 PEM (readable by standard tools), created with mode `0600`, and refused
//! on load when group or others can read them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;

use super::NodeKey;

/// A key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing would replace an existing key.
    #[error("{0}: a key file already exists (refusing to overwrite it)")]
    AlreadyExists(PathBuf),
    /// Group or others may read the secret key.
    #[error("{path}: key file mode {mode:o} lets group or others read it; run `chmod 600 {path}`")]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The contents are not an Ed25519 PKCS#8 PEM key.
    #[error("{path}: not an Ed25519 PKCS#8 PEM private key: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        source: ed25519_dalek::pkcs8::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `key` to a new file at `path` with mode `0600`. Never replaces an existing file.
pub fn write_key_file(path: &Path, key: &NodeKey) -> Result<(), KeyFileError> {
    let pem = key
        .signing_key()
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|source| KeyFileError::Malformed {
            path: path.to_owned(),
            source,
        })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::AlreadyExists(path.to_owned())
        } else {
            KeyFileError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })?;
    file.write_all(pem.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Reads a key file, refusing it when group or others have any permission bit. Permissions
/// are checked on the opened file, so it cannot be swapped between check and read.
pub fn load_key_file(path: &Path) -> Result<NodeKey, KeyFileError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let meta = file.metadata().map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(io(path))?;
    let signing = SigningKey::from_pkcs8_pem(&text).map_err(|source| KeyFileError::Malformed {
        path: path.to_owned(),
        source,
    })?;
    Ok(NodeKey::from_signing_key(signing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mesh-keyfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn written_0600_and_read_back() {
        let dir = scratch("rw");
        let path = dir.join("node.key");
        let key = NodeKey::generate();
        write_key_file(&path, &key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(load_key_file(&path).unwrap().public(), key.public());
        assert!(matches!(
            write_key_file(&path, &key),
            Err(KeyFileError::AlreadyExists(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("perm");
        let path = dir.join("node.key");
        write_key_file(&path, &NodeKey::generate()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = load_key_file(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::InsecurePermissions { mode: 0o640, .. }),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(dir.join("bad.key"), "not a key").unwrap();
        std::fs::set_permissions(dir.join("bad.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        assert!(matches!(
            load_key_file(&dir.join("bad.key")),
            Err(KeyFileError::Malformed { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
