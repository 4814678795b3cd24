//! `sfn-s3`: Amazon S3 behind [`sfn_engine::ObjectStore`], the store a Distributed Map's `ItemReader`
//! reads and its `ResultWriter` writes (`sfn run --s3 aws`, `sfn serve --s3 aws`), so the engine stays
//! service-free: it names the trait, this crate names the SDK.
//!
//! [`AwsS3`] lists with ListObjectsV2 (every page, by continuation token), opens objects with GetObject and
//! streams their body in chunks (an `ItemReader` never holds a large object whole), opens a Parquet
//! object (`open_ranged`) with HeadObject for its size and one ranged GetObject (`Range: bytes=A-B`, at
//! most `MAX_RANGE_BYTES`, `If-Match` its ETag so a rewritten object fails rather than mixes) per
//! read, and writes with
//! PutObject (on a current-thread runtime, where the engine reads in place and no thread is left to pull
//! the body, an object is read whole, at most `MAX_OBJECT_BYTES`). The configuration is the aws-config default chain: region and credentials from the
//! environment or `AWS_PROFILE` (SSO, `credential_process`), endpoint from `AWS_ENDPOINT_URL_S3` or
//! `AWS_ENDPOINT_URL` (MinIO, LocalStack, moto), with path-style addressing whenever an endpoint is set.
//! S3's `NoSuchBucket`, `NoSuchKey` and `AccessDenied` become the matching [`ObjectError`] kinds, which
//! the engine reports as `States.ItemReaderFailed` / `States.ResultWriterFailed` with AWS's causes.
//!
//! Where it sits: `sfn-s3 → sfn-engine` (the trait only), and the facade re-exports it as
//! `sfn::s3::AwsS3` behind its `s3-aws` feature (`sfn → sfn-s3`), beside the local `LocalDir`; the CLI
//! turns that feature on with its `aws` feature and composes through the facade, as it does for ECS. A
//! crate of its own, not a module of the facade or of `sfn-ecs`: the S3 SDK builds only for those who
//! ask for real S3 (not for `--ecs aws` alone, not for the facade's default features), and the SDK stays
//! out of the facade's own sources. Like `sfn-ecs`, it is one of the two
//! crates that may name `aws-*` crates (xtask/tests/tidy.rs).

use std::io::Read;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use sfn_engine::{ObjectError, ObjectInfo, ObjectReader, ObjectStore, RangedObject};
use tokio::sync::mpsc;

/// Chunks of a GetObject body in flight between the HTTP body and the reader (each one what the HTTP
/// client yields, some KiB): what bounds an open object's memory.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Most bytes one ranged GetObject asks for (a read of a larger buffer is a short read; the caller
/// reads on): what bounds a ranged read's memory besides the caller's buffer.
const MAX_RANGE_BYTES: usize = 8 * 1024 * 1024;

/// The inclusive byte range (`Range: bytes=FIRST-LAST`) one read of `len` bytes at `offset` asks of an
/// object of `size` bytes: at most [`MAX_RANGE_BYTES`], never past the end; `None` when nothing is
/// left to read (at or past the end, or an empty buffer).
fn byte_range(offset: u64, len: usize, size: u64) -> Option<(u64, u64)> {
    if len == 0 || offset >= size {
        return None;
    }
    let len = len.min(MAX_RANGE_BYTES) as u64;
    Some((offset, offset.saturating_add(len - 1).min(size - 1)))
}

/// An S3 object read by ranges from blocking code: each [`RangedObject::read_at`] is one ranged
/// GetObject, run on the runtime the object was opened on.
struct RangedS3 {
    client: Client,
    bucket: String,
    key: String,
    size: u64,
    etag: Option<String>,
    runtime: tokio::runtime::Handle,
}

impl RangedObject for RangedS3 {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some((first, last)) = byte_range(offset, buf.len(), self.size) else { return Ok(0) };
        let mut fetch = || {
            self.runtime.block_on(async {
                let out = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .range(format!("bytes={first}-{last}"))
                    .set_if_match(self.etag.clone())
                    .send()
                    .await
                    .map_err(|e| std::io::Error::other(object_error(e)))?;
                let mut body = out.body;
                let mut n = 0;
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(std::io::Error::other)?;
                    let take = chunk.len().min(buf.len() - n);
                    buf[n..n + take].copy_from_slice(&chunk[..take]);
                    n += take;
                    if n == buf.len() {
                        break;
                    }
                }
                Ok(n)
            })
        };
        // The engine reads off tokio's workers (no runtime here); a read on a worker of a
        // multi-threaded runtime hands the worker's tasks over first; one on a current-thread
        // runtime could only deadlock it, so it fails.
        match tokio::runtime::Handle::try_current() {
            Err(_) => fetch(),
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(fetch)
            }
            Ok(_) => Err(std::io::Error::other("a ranged S3 read cannot block a current-thread runtime")),
        }
    }
}

/// Amazon S3 (or an S3-compatible endpoint) as an [`ObjectStore`].
#[derive(Debug, Clone)]
pub struct AwsS3 {
    client: Client,
}

impl AwsS3 {
    /// The store from the aws-config default chain (`BehaviorVersion::latest()`). Path-style addressing
    /// when `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (or a profile's `endpoint_url`) is set.
    ///
    /// Nothing is checked here: missing credentials surface on the first call, as an
    /// `ItemReaderFailed` or `ResultWriterFailed` cause.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        Self::from_sdk_config(&config)
    }

    /// The store on a loaded AWS configuration (path-style addressing when it, or the environment, sets an
    /// endpoint URL).
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        let endpoint = config.endpoint_url().is_some()
            || ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"].iter().any(|v| std::env::var_os(v).is_some());
        let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(endpoint).build();
        Self::from_conf(conf)
    }

    /// The store on an S3 client configuration, used as given.
    pub fn from_conf(conf: aws_sdk_s3::Config) -> Self {
        AwsS3 { client: Client::from_conf(conf) }
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// S3's error codes as [`ObjectError`] kinds; anything else keeps the SDK's whole message.
fn object_error<E>(e: aws_sdk_s3::error::SdkError<E>) -> ObjectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e.code() {
        Some("NoSuchBucket") => ObjectError::NoSuchBucket,
        Some("NoSuchKey") => ObjectError::NoSuchKey,
        Some("AccessDenied") => ObjectError::AccessDenied,
        // Any other answer of S3 keeps its code, status and message (the cause names them as the SDK
        // does): e.g. `InvalidAccessKeyId` (403) for credentials S3 does not know.
        Some(code) if e.raw_response().is_some() => ObjectError::Service {
            code: code.to_owned(),
            status: e.raw_response().map_or(500, |r| r.status().as_u16()),
            message: e.message().unwrap_or(code).to_owned(),
        },
        _ => ObjectError::Other(DisplayErrorContext(&e).to_string()),
    }
}

/// An S3 timestamp as chrono's (the epoch when S3 sent none).
fn timestamp(t: Option<&aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())).unwrap_or_default()
}

/// A GetObject body read in order from blocking code: a task on the runtime pulls the body's chunks into a
/// bounded channel, the reader takes them one at a time.
struct ChunkReader {
    chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => {
                    self.chunk = chunk?;
                    self.at = 0;
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[async_trait::async_trait]
impl ObjectStore for AwsS3 {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        let mut objects = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(object_error)?;
            objects.extend(page.contents().iter().map(|o| ObjectInfo {
                key: o.key().unwrap_or_default().to_owned(),
                size: o.size().unwrap_or_default().max(0) as u64,
                last_modified: timestamp(o.last_modified()),
                etag: o.e_tag().unwrap_or_default().to_owned(),
            }));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        // S3 lists in UTF-8 binary order already; LocalDir's order, whatever the endpoint does.
        objects.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        Ok(objects)
    }

    async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, ObjectError> {
        let out = self.client.get_object().bucket(bucket).key(key).send().await.map_err(object_error)?;
        let size = out.content_length().unwrap_or_default().max(0) as u64;
        if size > limit {
            return Err(ObjectError::TooLarge { size, limit });
        }
        let mut body = out.body;
        let mut bytes = Vec::with_capacity(size as usize);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ObjectError::Other(DisplayErrorContext(&e).to_string()))?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(ObjectError::TooLarge { size: bytes.len() as u64, limit });
            }
        }
        Ok(bytes)
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        // A current-thread runtime reads the object in place (sfn-engine's `off_workers`): no thread is
        // left to pull the body while the reader blocks, so the object is read whole (at most
        // MAX_OBJECT_BYTES), as the trait's default does.
        if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread
        {
            let body = self.get(bucket, key, sfn_engine::MAX_OBJECT_BYTES).await?;
            return Ok(Box::new(std::io::Cursor::new(body)));
        }
        let out = self.client.get_object().bucket(bucket).key(key).send().await.map_err(object_error)?;
        let mut body = out.body;
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        tokio::spawn(async move {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map(Vec::from).map_err(std::io::Error::other);
                let failed = chunk.is_err();
                // The reader was dropped (MaxItems reached, a failure): stop reading the body.
                if tx.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Box::new(ChunkReader { chunks: rx, chunk: Vec::new(), at: 0 }))
    }

    async fn open_ranged(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<std::sync::Arc<dyn RangedObject>, ObjectError> {
        let runtime = tokio::runtime::Handle::current();
        // On a current-thread runtime the engine reads in place, where no read can wait on the runtime:
        // the object is read whole (at most MAX_OBJECT_BYTES), as the trait's default does.
        if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
            return Ok(std::sync::Arc::new(self.get(bucket, key, sfn_engine::MAX_OBJECT_BYTES).await?));
        }
        let head = match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(head) => head,
            // HeadObject's 404 has no body, so no code (`NotFound`, for a missing key and a missing
            // bucket alike): one byte of GetObject answers S3's own (`NoSuchKey`, `NoSuchBucket`).
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Err(
                    match self.client.get_object().bucket(bucket).key(key).range("bytes=0-0").send().await {
                        Err(e) => object_error(e),
                        Ok(_) => ObjectError::NoSuchKey,
                    },
                );
            }
            Err(e) => return Err(object_error(e)),
        };
        Ok(std::sync::Arc::new(RangedS3 {
            client: self.client.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size: head.content_length().unwrap_or_default().max(0) as u64,
            etag: head.e_tag().map(str::to_owned),
            runtime,
        }))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(object_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    /// The reader hands the chunks on in order, across reads smaller and larger than a chunk, and ends
    /// with the channel; a failed chunk is a read error.
    #[test]
    fn chunks_read_in_order_and_errors_surface() {
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        tx.try_send(Ok(b"hello ".to_vec())).unwrap();
        tx.try_send(Ok(Vec::new())).unwrap();
        tx.try_send(Ok(b"world".to_vec())).unwrap();
        drop(tx);
        let mut r = ChunkReader { chunks: rx, chunk: Vec::new(), at: 0 };
        let mut small = [0u8; 4];
        assert_eq!(r.read(&mut small).unwrap(), 4);
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(format!("{}{rest}", String::from_utf8_lossy(&small)), "hello world");

        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        tx.try_send(Ok(b"a".to_vec())).unwrap();
        tx.try_send(Err(std::io::Error::other("connection reset"))).unwrap();
        let mut r = ChunkReader { chunks: rx, chunk: Vec::new(), at: 0 };
        let mut all = Vec::new();
        assert_eq!(r.read_to_end(&mut all).unwrap_err().to_string(), "connection reset");
        assert_eq!(all, b"a");
    }

    /// One read's range: from the offset, as long as the buffer (at most `MAX_RANGE_BYTES`), never past
    /// the object's last byte; nothing at or past the end or for an empty buffer.
    #[test]
    fn ranges_are_inclusive_bounded_and_end_at_the_object() {
        assert_eq!(byte_range(0, 10, 100), Some((0, 9)));
        assert_eq!(byte_range(95, 10, 100), Some((95, 99)));
        assert_eq!(byte_range(99, 1, 100), Some((99, 99)));
        assert_eq!(byte_range(100, 10, 100), None);
        assert_eq!(byte_range(150, 10, 100), None);
        assert_eq!(byte_range(0, 0, 100), None);
        assert_eq!(byte_range(0, 10, 0), None);
        let big = 64 * 1024 * 1024;
        assert_eq!(byte_range(4, big, u64::MAX), Some((4, 4 + MAX_RANGE_BYTES as u64 - 1)));
        assert_eq!(byte_range(u64::MAX - 1, 10, u64::MAX), Some((u64::MAX - 1, u64::MAX - 1)));
    }

    /// `moto_server` on an ephemeral port (killed when dropped), with the Python of `SFN_TEST_PYTHON`
    /// (else the workspace's `.venv`, else `python3`, as the CLI's moto tests); `None` (the test is skipped) without moto, unless `SFN_REQUIRE_MOTO=1`.
    struct Moto(std::process::Child, u16);

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn moto() -> Option<Moto> {
        let python = std::env::var_os("SFN_TEST_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| {
            let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
            if venv.exists() { venv } else { "python3".into() }
        });
        let ok = std::process::Command::new(&python)
            .args(["-c", "import moto.server"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(std::env::var("SFN_REQUIRE_MOTO").as_deref() != Ok("1"), "no moto.server in {python:?}");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto(child, port);
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(moto)
    }

    /// `open_ranged` against moto's S3: HeadObject's size, then bytes at any offset by ranged GetObject
    /// (a buffer past the end reads what is left, at the end nothing); a missing key or bucket keeps
    /// S3's code (`NoSuchKey`, `NoSuchBucket`) though HeadObject's 404 carries none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ranged_reads_against_moto() {
        let Some(moto) = moto() else { return };
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(format!("http://127.0.0.1:{}", moto.1))
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
            .force_path_style(true)
            .build();
        let store = AwsS3::from_conf(conf);
        store.client().create_bucket().bucket("ranged").send().await.unwrap();
        let body: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        store.put("ranged", "data.parquet", body.clone()).await.unwrap();
        let object = store.open_ranged("ranged", "data.parquet").await.unwrap();
        assert_eq!(object.size(), 20_000);
        let read = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for (offset, len) in [(0u64, 16usize), (19_990, 64), (7_777, 5_000), (20_000, 8)] {
                let mut buf = vec![0u8; len];
                let n = object.read_at(offset, &mut buf).unwrap();
                out.push((offset, buf[..n].to_vec()));
            }
            out
        })
        .await
        .unwrap();
        let want = |a: usize, b: usize| body[a..b].to_vec();
        assert_eq!(read[0], (0, want(0, 16)));
        assert_eq!(read[1], (19_990, want(19_990, 20_000)), "what is left");
        assert_eq!(read[2], (7_777, want(7_777, 12_777)));
        assert_eq!(read[3], (20_000, Vec::new()), "nothing at the end");
        // On a worker of the runtime itself (not off it, as the engine reads): the same bytes.
        let object = store.open_ranged("ranged", "data.parquet").await.unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(object.read_at(251, &mut buf).unwrap(), 3);
        assert_eq!(buf, [0, 1, 2]);
        assert_eq!(store.open_ranged("ranged", "missing").await.err(), Some(ObjectError::NoSuchKey));
        assert_eq!(store.open_ranged("no-such-bucket", "k").await.err(), Some(ObjectError::NoSuchBucket));
    }

    #[test]
    fn timestamps_keep_seconds_and_nanos() {
        let t = aws_sdk_s3::primitives::DateTime::from_secs_and_nanos(1_700_000_000, 5);
        assert_eq!(timestamp(Some(&t)).timestamp_nanos_opt(), Some(1_700_000_000_000_000_005));
        assert_eq!(timestamp(None).timestamp(), 0);
    }
}
