//! The object store a Distributed Map reads its items from (`ItemReader`) and writes its results to
//! (`ResultWriter`): a trait the facade or CLI implements (a local folder for `--s3 DIR`), so the
//! engine names no service. S3's semantics, written once here: keys, prefixes, sizes, what is missing.

use chrono::{DateTime, Utc};

/// Largest object read whole, in bytes: what [`ObjectStore::open`]'s default reads (a store that streams
/// has no such bound: an `ItemReader` parses JSON, JSONL and CSV objects as they are read, and stops at
/// `MaxItems`), and the largest `MANIFEST` (`manifest.json`) read. Above it the reader fails with
/// `States.ItemReaderFailed` rather than hold an unbounded object in memory.
pub const MAX_OBJECT_BYTES: u64 = 256 * 1024 * 1024;

/// An object's bytes, read in order (blocking reads: the engine reads it off tokio's workers).
pub type ObjectReader = Box<dyn std::io::Read + Send>;

/// An object read at any offset (blocking reads, off tokio's workers): what an `InputType: PARQUET`
/// reader needs, a Parquet file's footer being at its end and its row groups anywhere before it.
pub trait RangedObject: Send + Sync {
    /// Its size in bytes.
    fn size(&self) -> u64;

    /// Reads up to `buf.len()` bytes at `offset`; 0 at or past the end.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

/// An object held in memory (what [`ObjectStore::open_ranged`]'s default reads).
impl RangedObject for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = usize::try_from(offset).ok().and_then(|o| self.get(o..)).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

/// One object as `ListObjectsV2` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub last_modified: DateTime<Utc>,
    /// Its entity tag, quoted as S3 gives it (`"…"`).
    pub etag: String,
}

/// Why an object store call failed (the kind decides AWS's cause).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The bucket does not exist (S3: `NoSuchBucket`).
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    /// The key does not exist (S3: `NoSuchKey`).
    #[error("The specified key does not exist.")]
    NoSuchKey,
    /// The caller may not read or write it (S3: `AccessDenied`).
    #[error("Access Denied")]
    AccessDenied,
    /// The object is larger than the caller's bound.
    #[error("the object is {size} bytes, more than the {limit} bytes sfn reads")]
    TooLarge {
        /// The object's size.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// Another error the service answered, with its code and HTTP status (S3: e.g. `InvalidAccessKeyId`,
    /// 403, for credentials it does not know).
    #[error("{message}")]
    Service {
        /// The service's error code.
        code: String,
        /// The HTTP status it answered with.
        status: u16,
        /// Its message.
        message: String,
    },
    /// Anything else (I/O, a key that is not a valid path, …).
    #[error("{0}")]
    Other(String),
}

impl ObjectError {
    /// S3's error code for this failure (`NoSuchBucket`, `NoSuchKey`, …).
    pub fn code(&self) -> &str {
        match self {
            ObjectError::Service { code, .. } => code,
            ObjectError::NoSuchBucket => "NoSuchBucket",
            ObjectError::NoSuchKey => "NoSuchKey",
            ObjectError::AccessDenied => "AccessDenied",
            ObjectError::TooLarge { .. } => "EntityTooLarge",
            ObjectError::Other(_) => "InternalError",
        }
    }
}

/// An S3-like object store.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Every object of `bucket` whose key starts with `prefix`, in key order (UTF-8 binary order, as
    /// S3 lists them).
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError>;

    /// The bytes of `bucket/key`; [`ObjectError::TooLarge`] when it has more than `limit` bytes.
    async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, ObjectError>;

    /// Opens `bucket/key` to read it in order, without holding it whole. The default reads it whole
    /// with [`ObjectStore::get`] (at most [`MAX_OBJECT_BYTES`]); a store that can stream (a file, an
    /// HTTP body) should.
    async fn open(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        let body = self.get(bucket, key, MAX_OBJECT_BYTES).await?;
        Ok(Box::new(std::io::Cursor::new(body)))
    }

    /// Opens `bucket/key` to read it at any offset (`InputType: PARQUET`), without holding it whole. The
    /// default reads it whole with [`ObjectStore::get`] (at most [`MAX_OBJECT_BYTES`]); a store that can
    /// read ranges (a file, S3's ranged GET) should.
    async fn open_ranged(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<std::sync::Arc<dyn RangedObject>, ObjectError> {
        Ok(std::sync::Arc::new(self.get(bucket, key, MAX_OBJECT_BYTES).await?))
    }

    /// Writes `body` to `bucket/key` (replacing what was there).
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError>;
}
