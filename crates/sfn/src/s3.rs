//! S3 on the laptop: [`LocalDir`] serves `s3://BUCKET/KEY` from `DIR/BUCKET/KEY`, the object store a
//! Distributed Map's `ItemReader` reads and its `ResultWriter` writes (`sfn run --s3 DIR`,
//! `sfn serve --s3 DIR`). A bucket is a directory of `DIR`; a key is a path below it, `/`-separated.
//! With the `s3-aws` feature, [`AwsS3`] (the `sfn-s3` crate) is real Amazon S3 behind the same trait
//! (`--s3 aws`).

use std::path::{Component, Path, PathBuf};

use md5::Digest as _;
use sfn_engine::{ObjectError, ObjectInfo, ObjectReader, ObjectStore, RangedObject};
#[cfg(feature = "s3-aws")]
pub use sfn_s3::AwsS3;

/// An object store over a local directory: each subdirectory is a bucket.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use sfn::engine::ObjectStore;
/// let dir = std::env::temp_dir().join(format!("sfn-s3-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("items")).unwrap();
/// let s3 = sfn::s3::LocalDir::new(&dir);
/// s3.put("items", "in/a.json", b"[1,2]".to_vec()).await.unwrap();
/// assert_eq!(s3.get("items", "in/a.json", 1024).await.unwrap(), b"[1,2]");
/// assert_eq!(s3.list("items", "in/").await.unwrap()[0].key, "in/a.json");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// Serves the buckets under `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalDir {
        LocalDir { root: root.into() }
    }

    fn bucket(&self, bucket: &str) -> Result<PathBuf, ObjectError> {
        let ok = !bucket.is_empty() && !bucket.contains(['/', '\\']) && bucket != "." && bucket != "..";
        let dir = self.root.join(bucket);
        if !ok || !dir.is_dir() {
            return Err(ObjectError::NoSuchBucket);
        }
        Ok(dir)
    }

    /// `DIR/BUCKET/KEY`, refusing keys that leave the bucket (`..`, absolute paths).
    fn object(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let dir = self.bucket(bucket)?;
        let rel = Path::new(key);
        if key.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(ObjectError::Other(format!("the key {key:?} is not a path inside the bucket")));
        }
        Ok(dir.join(rel))
    }
}

/// A file system error as S3 would answer it: a file or folder sfn may not read or write is S3's
/// `AccessDenied` (403), anything else an internal error.
fn io(e: std::io::Error) -> ObjectError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => ObjectError::AccessDenied,
        _ => ObjectError::Other(e.to_string()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ObjectError> + Send + 'static,
) -> Result<T, ObjectError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ObjectError::Other(e.to_string()))?
}

/// The MD5 of a file's bytes in hex, read in chunks (a listed object is never held whole).
fn md5_of(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut hash = md5::Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(format!("{:x}", hash.finalize()))
}

/// Every file below `dir`, as keys relative to `base`.
fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(base, &path, out)?;
        } else if kind.is_file()
            && let Ok(rel) = path.strip_prefix(base)
        {
            let key: Vec<String> =
                rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((key.join("/"), path));
        }
    }
    Ok(())
}

/// A file read at any offset (a Parquet object's row groups, its footer), one read at a time.
struct FileRanges {
    file: std::sync::Mutex<std::fs::File>,
    size: u64,
}

impl RangedObject for FileRanges {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Read as _, Seek as _};
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.seek(std::io::SeekFrom::Start(offset))?;
        f.read(buf)
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalDir {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        let dir = self.bucket(bucket)?;
        let prefix = prefix.to_owned();
        blocking(move || {
            let mut files = Vec::new();
            walk(&dir, &dir, &mut files).map_err(io)?;
            files.retain(|(k, _)| k.starts_with(&prefix));
            files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            files
                .into_iter()
                .map(|(key, path)| {
                    let meta = std::fs::metadata(&path).map_err(io)?;
                    let modified = meta.modified().map_err(io)?;
                    Ok(ObjectInfo {
                        key,
                        size: meta.len(),
                        last_modified: modified.into(),
                        // A single-part upload's ETag is the MD5 of its bytes, quoted.
                        etag: format!("\"{}\"", md5_of(&path).map_err(io)?),
                    })
                })
                .collect()
        })
        .await
    }

    async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, ObjectError> {
        let path = self.object(bucket, key)?;
        blocking(move || {
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                Ok(_) => return Err(ObjectError::NoSuchKey),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ObjectError::NoSuchKey),
                Err(e) => return Err(io(e)),
            };
            if meta.len() > limit {
                return Err(ObjectError::TooLarge { size: meta.len(), limit });
            }
            std::fs::read(&path).map_err(io)
        })
        .await
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        let path = self.object(bucket, key)?;
        blocking(move || match std::fs::File::open(&path) {
            Ok(f) if f.metadata().map_err(io)?.is_file() => Ok(Box::new(f) as ObjectReader),
            Ok(_) => Err(ObjectError::NoSuchKey),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ObjectError::NoSuchKey),
            Err(e) => Err(io(e)),
        })
        .await
    }

    async fn open_ranged(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<std::sync::Arc<dyn RangedObject>, ObjectError> {
        let path = self.object(bucket, key)?;
        blocking(move || match std::fs::File::open(&path) {
            Ok(f) => {
                let meta = f.metadata().map_err(io)?;
                if !meta.is_file() {
                    return Err(ObjectError::NoSuchKey);
                }
                Ok(std::sync::Arc::new(FileRanges { file: std::sync::Mutex::new(f), size: meta.len() })
                    as std::sync::Arc<dyn RangedObject>)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ObjectError::NoSuchKey),
            Err(e) => Err(io(e)),
        })
        .await
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        let path = self.object(bucket, key)?;
        blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            // Written whole, then renamed: a reader never sees half an object.
            let tmp = path.with_extension(format!("sfn-tmp-{}", std::process::id()));
            std::fs::write(&tmp, &body).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Parquet reader reads an object by ranges (`open_ranged`): bytes at any offset, nothing past the
    /// end, S3's NoSuchKey for a missing key or a folder.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn ranged_objects_read_at_offsets() {
        let root = std::env::temp_dir().join(format!("sfn-s3-ranged-{}", std::process::id()));
        std::fs::create_dir_all(root.join("b/dir")).unwrap();
        std::fs::write(root.join("b/obj.bin"), b"0123456789").unwrap();
        let store = LocalDir::new(&root);
        let Ok(obj) = store.open_ranged("b", "obj.bin").await else { panic!("obj.bin opens") };
        assert_eq!(obj.size(), 10);
        let mut buf = [0u8; 4];
        assert_eq!(obj.read_at(6, &mut buf).ok(), Some(4));
        assert_eq!(&buf, b"6789");
        assert_eq!(obj.read_at(2, &mut buf[..2]).ok(), Some(2));
        assert_eq!(&buf[..2], b"23");
        assert_eq!(obj.read_at(10, &mut buf).ok(), Some(0));
        for key in ["missing.bin", "dir"] {
            assert_eq!(store.open_ranged("b", key).await.err(), Some(ObjectError::NoSuchKey), "{key}");
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    /// What the file system refuses is S3's AccessDenied (an unreadable object, an unwritable folder);
    /// the cause then reads as S3's (`Access Denied (Service: S3, Status Code: 403, Error Code:
    /// AccessDenied)`, the engine's wording).
    #[test]
    fn permission_denied_is_access_denied() {
        let denied = io(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!((denied.code(), denied.to_string().as_str()), ("AccessDenied", "Access Denied"));
        let other = io(std::io::Error::other("disk on fire"));
        assert_eq!(other.code(), "InternalError");
    }
}
