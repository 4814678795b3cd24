//! `sfn::s3::LocalDir`: S3's answers from a folder (keys in byte order under a prefix, missing buckets and
//! keys as S3's `NoSuchBucket` / `NoSuchKey`, the size bound, keys that would leave the bucket refused).

use sfn::engine::{ObjectError, ObjectStore};
use sfn::s3::LocalDir;

fn folder(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sfn-facade-s3-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("b/img/sub")).unwrap();
    std::fs::write(dir.join("b/img/b.jpg"), "bb").unwrap();
    std::fs::write(dir.join("b/img/a.jpg"), "a").unwrap();
    std::fs::write(dir.join("b/img/sub/c.jpg"), "ccc").unwrap();
    std::fs::write(dir.join("b/other.txt"), "x").unwrap();
    dir
}

#[tokio::test]
async fn lists_keys_under_a_prefix_in_order_with_md5_etags() {
    let dir = folder("list");
    let s3 = LocalDir::new(&dir);
    let listed = s3.list("b", "img/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["img/a.jpg", "img/b.jpg", "img/sub/c.jpg"]);
    assert_eq!(listed[2].size, 3);
    // MD5("a"), as S3 gives a single-part object's ETag.
    assert_eq!(listed[0].etag, "\"0cc175b9c0f1b6a831c399e269772661\"");
    assert_eq!(s3.list("b", "").await.unwrap().len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn missing_buckets_keys_big_objects_and_escaping_keys_are_errors() {
    let dir = folder("errors");
    let s3 = LocalDir::new(&dir);
    assert_eq!(s3.list("nope", "").await.unwrap_err(), ObjectError::NoSuchBucket);
    assert_eq!(s3.get("b", "img/none.jpg", 10).await.unwrap_err(), ObjectError::NoSuchKey);
    assert_eq!(s3.get("b", "img", 10).await.unwrap_err(), ObjectError::NoSuchKey, "a folder is no object");
    assert_eq!(
        s3.get("b", "img/sub/c.jpg", 2).await.unwrap_err(),
        ObjectError::TooLarge { size: 3, limit: 2 }
    );
    for key in ["../b/other.txt", "/etc/passwd", "img/../../x", ""] {
        assert!(matches!(s3.get("b", key, 10).await, Err(ObjectError::Other(_))), "{key}");
        assert!(matches!(s3.put("b", key, vec![1]).await, Err(ObjectError::Other(_))), "{key}");
    }
    assert_eq!(s3.get("..", "b/other.txt", 10).await.unwrap_err(), ObjectError::NoSuchBucket);
    s3.put("b", "out/run/manifest.json", b"{}".to_vec()).await.unwrap();
    assert_eq!(s3.get("b", "out/run/manifest.json", 10).await.unwrap(), b"{}");
    std::fs::remove_dir_all(&dir).unwrap();
}
