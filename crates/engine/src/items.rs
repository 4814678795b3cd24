//! A Distributed Map's items from S3 and its results to S3, through the engine's [`ObjectStore`]:
//! `ItemReader` (`s3:listObjectsV2`; `s3:getObject` with `InputType` JSON, JSONL, CSV, PARQUET or
//! MANIFEST, an S3 Inventory of gzip-compressed CSV files, or `ManifestType: ATHENA_DATA`, an Athena
//! `UNLOAD` manifest of CSV, JSONL or Parquet files; `ReaderConfig.MaxItems`) and `ResultWriter` (`s3:putObject`: `manifest.json` and
//! `SUCCEEDED_0.json` / `FAILED_0.json` under `Prefix/<map run id>/`, `.jsonl` for `OutputType: JSONL`;
//! `WriterConfig.Transformation` NONE, COMPACT or FLATTEN, in the files or, without a `Resource`, in the
//! Map's output). Shapes from AWS's
//! "ItemReader (Map)" and "ResultWriter (Map)" pages; failures are `States.ItemReaderFailed` /
//! `States.ResultWriterFailed`.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map as JsonMap, Value, json};
use sfn_asl::{Dynamic, ItemReader, ResultWriter, Transformation, WriterOutputType};
use sfn_path::ErrorName;

use crate::error::{Failure, Interrupt};
use crate::exec::{ChildNames, StateCtx};
use crate::jsonata::AtaScope;
use crate::objects::{MAX_OBJECT_BYTES, ObjectError, ObjectReader, ObjectStore, RangedObject};

fn reader_failed(cause: impl Into<String>) -> Failure {
    Failure::new(ErrorName::ItemReaderFailed, cause)
}

fn writer_failed(cause: impl Into<String>) -> Failure {
    Failure::new(ErrorName::ResultWriterFailed, cause)
}

/// How a store failure reads in a cause, in the AWS SDK's wording
/// (`… (Service: S3, Status Code: 404, Error Code: NoSuchKey)`).
fn store_cause(e: &ObjectError) -> String {
    let status = match e {
        ObjectError::NoSuchBucket | ObjectError::NoSuchKey => 404,
        ObjectError::AccessDenied => 403,
        ObjectError::TooLarge { .. } => 400,
        ObjectError::Service { status, .. } => *status,
        ObjectError::Other(_) => 500,
    };
    format!("{e} (Service: S3, Status Code: {status}, Error Code: {})", e.code())
}

fn store(ctx: &StateCtx<'_>, fail: fn(String) -> Failure) -> Result<Arc<dyn ObjectStore>, Failure> {
    ctx.exec.engine.objects.clone().ok_or_else(|| {
        fail("no object store is configured for this engine: S3 items and results need one (sfn run/serve --s3 DIR)".to_owned())
    })
}

/// The evaluated `Parameters` / `Arguments` of a reader or writer (an empty object when absent).
async fn parameters(
    ctx: &StateCtx<'_>,
    p: Option<&sfn_asl::Payload>,
    eff: &Value,
) -> Result<JsonMap<String, Value>, Failure> {
    let v = match p {
        Some(p) => ctx.arguments(p, eff).await?,
        None => Value::Object(JsonMap::new()),
    };
    match v {
        Value::Object(o) => Ok(o),
        other => {
            Err(ctx.runtime(&format!("The Parameters of the ItemReader must be an object, got {other}")))
        }
    }
}

fn text<'v>(o: &'v JsonMap<String, Value>, field: &str) -> Option<&'v str> {
    o.get(field).and_then(Value::as_str)
}

/// Reads the items an `ItemReader` names, at most `MaxItems` of them.
pub(crate) async fn read(ctx: &StateCtx<'_>, r: &ItemReader, eff: &Value) -> Result<Vec<Value>, Interrupt> {
    let params = parameters(ctx, r.parameters.as_ref(), eff).await?;
    let max = match &r.max_items {
        None => None,
        Some(Dynamic::Value(n)) => Some(*n),
        Some(Dynamic::Path(p)) => Some(ctx.number_at(p, eff, "MaxItemsPath")?),
        Some(Dynamic::Jsonata(e)) => Some(ctx.ata_integer(e, "MaxItems", AtaScope::input(eff)).await?),
    };
    // 0 (the documented minimum) reads every item, like no MaxItems.
    let max = max.filter(|n| *n > 0).map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let Some(bucket) = text(&params, "Bucket") else {
        return Err(reader_failed("The ItemReader's Parameters have no Bucket").into());
    };
    let action = r.resource.rsplit(':').next().unwrap_or_default();
    let objects = store(ctx, reader_failed)?;
    match action {
        "listObjectsV2" => {
            let prefix = text(&params, "Prefix").unwrap_or_default();
            let listed = objects.list(bucket, prefix).await.map_err(|e| reader_failed(store_cause(&e)))?;
            // AWS ("ItemReader (Map)", S3 objects): each item is the object as ListObjectsV2 gives it,
            // `LastModified` in epoch seconds.
            Ok(listed
                .into_iter()
                .take(max)
                .map(|o| {
                    json!({
                        "Etag": o.etag,
                        "Key": o.key,
                        "LastModified": o.last_modified.timestamp(),
                        "Size": o.size,
                        "StorageClass": "STANDARD",
                    })
                })
                .collect())
        }
        "getObject" => {
            let Some(key) = text(&params, "Key") else {
                return Err(reader_failed("The ItemReader's Parameters have no Key").into());
            };
            let format = Format::of(r);
            if format.manifest_type.as_deref() == Some("ATHENA_DATA") {
                return athena_items(&objects, bucket, key, &format, max)
                    .await
                    .map_err(|cause| reader_failed(cause).into());
            }
            if format.input_type == "MANIFEST" {
                return manifest_items(&objects, bucket, key, max)
                    .await
                    .map_err(|cause| reader_failed(cause).into());
            }
            object_items(&objects, bucket, key, format, max)
                .await
                .map_err(|cause| reader_failed(cause).into())
        }
        other => Err(ctx
            .runtime(&format!("The ItemReader resource {} (action {other}) is not supported", r.resource))
            .into()),
    }
}

/// The items of one object as `format` says (JSON, JSONL, CSV or PARQUET).
async fn object_items(
    objects: &Arc<dyn ObjectStore>,
    bucket: &str,
    key: &str,
    format: Format,
    max: usize,
) -> Result<Vec<Value>, String> {
    if format.input_type == "PARQUET" {
        let object = objects.open_ranged(bucket, key).await.map_err(|e| store_cause(&e))?;
        return off_workers(move || parquet_items(object, max)).await;
    }
    let body = objects.open(bucket, key).await.map_err(|e| store_cause(&e))?;
    off_workers(move || parse(&format, body, max)).await
}

/// Runs a blocking read off tokio's workers (in place on a current-thread runtime, which has no worker
/// to starve, as JSONata evaluation does).
async fn off_workers<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => f(),
        _ => {
            tokio::task::spawn_blocking(f).await.map_err(|e| format!("the object could not be read: {e}"))?
        }
    }
}

/// An `ItemReader`'s `ReaderConfig`, owned (it goes with the object to the thread that reads it).
struct Format {
    input_type: String,
    manifest_type: Option<String>,
    delimiter: Option<String>,
    given_headers: Option<Option<Vec<String>>>,
}

impl Format {
    fn of(r: &ItemReader) -> Format {
        Format {
            input_type: r.input_type.clone().unwrap_or_else(|| "JSON".to_owned()),
            manifest_type: r.manifest_type.clone(),
            delimiter: r.csv_delimiter.clone(),
            given_headers: (r.csv_header_location.as_deref() == Some("GIVEN")).then(|| r.csv_headers.clone()),
        }
    }
}

/// Why the JSON reader stopped early: `MaxItems` items were read (the rest of the object is not).
const ENOUGH: &str = "sfn: MaxItems reached";

/// A JSON array's elements, at most `max`, read one at a time (the object is never held whole).
struct ArrayItems<'a> {
    out: &'a mut Vec<Value>,
    max: usize,
    array: &'a mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for ArrayItems<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ArrayItems<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        *self.array = true;
        while self.out.len() < self.max {
            match seq.next_element::<Value>()? {
                Some(v) => self.out.push(v),
                None => return Ok(()),
            }
        }
        Err(serde::de::Error::custom(ENOUGH))
    }
}

/// The items of an object as `ReaderConfig.InputType` says (JSON when absent), parsed as it is read and
/// no further than `max` items.
fn parse(f: &Format, body: ObjectReader, max: usize) -> Result<Vec<Value>, String> {
    let mut rd = std::io::BufReader::with_capacity(64 * 1024, body);
    match f.input_type.as_str() {
        "JSON" => {
            use serde::de::DeserializeSeed as _;
            let (mut out, mut array) = (Vec::new(), false);
            let mut de = serde_json::Deserializer::from_reader(&mut rd);
            let seed = ArrayItems { out: &mut out, max, array: &mut array };
            match seed.deserialize(&mut de).and_then(|()| de.end()) {
                Ok(()) => Ok(out),
                Err(e) if e.to_string().starts_with(ENOUGH) => Ok(out),
                Err(e) if !array && e.is_data() => {
                    Err("Attempting to map over non-iterable node.".to_owned())
                }
                Err(e) if e.is_io() => Err(format!("The object could not be read: {e}")),
                Err(e) => Err(format!("The JSON object is not valid: {e}")),
            }
        }
        "JSONL" => {
            use std::io::{BufRead as _, Read as _};
            let (mut out, mut line, mut n) = (Vec::new(), Vec::new(), 0usize);
            while out.len() < max {
                line.clear();
                let read = (&mut rd)
                    .take(MAX_OBJECT_BYTES)
                    .read_until(b'\n', &mut line)
                    .map_err(|e| format!("The object could not be read: {e}"))?;
                if read == 0 {
                    break;
                }
                n += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let v = serde_json::from_slice::<Value>(&line)
                    .map_err(|e| format!("The JSONL line {n} is not valid JSON: {e}"))?;
                out.push(v);
            }
            Ok(out)
        }
        "CSV" => csv_items(f, rd, max),
        other => Err(format!("InputType {other} is not supported (JSON, JSONL, CSV, PARQUET or MANIFEST)")),
    }
}

/// CSV rows as objects of strings, keyed by the header row or `CSVHeaders` (AWS: every value is a
/// string; a row with more fields than headers fails the reader).
fn csv_items(f: &Format, body: impl std::io::Read, max: usize) -> Result<Vec<Value>, String> {
    let delimiter = match f.delimiter.as_deref().unwrap_or("COMMA") {
        "COMMA" => b',',
        "PIPE" => b'|',
        "SEMICOLON" => b';',
        "SPACE" => b' ',
        "TAB" => b'\t',
        other => return Err(format!("CSVDelimiter {other} is not supported")),
    };
    let mut rd =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(body);
    let mut rows = rd.records();
    let headers: Vec<String> = match &f.given_headers {
        Some(Some(h)) => h.clone(),
        Some(None) => return Err("CSVHeaderLocation GIVEN needs CSVHeaders".to_owned()),
        None => match rows.next() {
            Some(Ok(h)) => h.iter().map(str::to_owned).collect(),
            Some(Err(e)) => return Err(format!("The CSV header row is not valid: {e}")),
            None => return Ok(Vec::new()),
        },
    };
    let mut out = Vec::new();
    for row in rows {
        if out.len() >= max {
            break;
        }
        let row = row.map_err(|e| format!("The CSV object is not valid: {e}"))?;
        if row.len() > headers.len() {
            let line = row.position().map_or(0, csv::Position::line);
            return Err(format!(
                "The CSV row on line {line} has {} fields, more than the {} headers",
                row.len(),
                headers.len()
            ));
        }
        let mut o = JsonMap::new();
        for (i, h) in headers.iter().enumerate() {
            o.insert(h.clone(), Value::String(row.get(i).unwrap_or_default().to_owned()));
        }
        out.push(Value::Object(o));
    }
    Ok(out)
}

/// Largest Parquet row group sfn reads (compressed, as the file's footer gives it): a row group is read
/// whole, so a larger one fails the reader rather than be held in memory. sfn's own bound (the
/// largest object the engine reads whole), not AWS's.
const MAX_ROW_GROUP_BYTES: u64 = MAX_OBJECT_BYTES;

/// A [`RangedObject`] as the `parquet` crate reads a file.
struct ParquetSource(Arc<dyn RangedObject>);

/// Reads a [`RangedObject`] in order from an offset.
struct RangedRead {
    object: Arc<dyn RangedObject>,
    at: u64,
}

impl std::io::Read for RangedRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.object.read_at(self.at, buf)?;
        self.at = self.at.saturating_add(n as u64);
        Ok(n)
    }
}

impl parquet::file::reader::Length for ParquetSource {
    fn len(&self) -> u64 {
        self.0.size()
    }
}

impl parquet::file::reader::ChunkReader for ParquetSource {
    type T = std::io::BufReader<RangedRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::with_capacity(64 * 1024, RangedRead { object: self.0.clone(), at: start }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        // A length from a damaged footer is checked before anything is allocated for it.
        let end = start.checked_add(length as u64).filter(|e| *e <= self.0.size());
        if end.is_none() || length as u64 > MAX_ROW_GROUP_BYTES {
            return Err(parquet::errors::ParquetError::General(format!(
                "a range of {length} bytes at offset {start} is outside the {}-byte object",
                self.0.size()
            )));
        }
        let mut buf = vec![0u8; length];
        let mut read = 0;
        while read < length {
            let n = self
                .0
                .read_at(start + read as u64, &mut buf[read..])
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
            if n == 0 {
                return Err(parquet::errors::ParquetError::EOF(format!(
                    "the object ended {} bytes into a {length}-byte range at offset {start}",
                    read
                )));
            }
            read += n;
        }
        Ok(bytes::Bytes::from(buf))
    }
}

/// The rows of a Parquet object (`InputType: PARQUET`), each an item: a JSON object keyed by column name,
/// in the file's column order. AWS's "ItemReader (Map)" page gives no table of the mapping, so values
/// keep their JSON kind: booleans, integers and floating-point numbers as JSON numbers (NaN and infinities,
/// which JSON cannot hold, as null), strings, nulls; nested groups as objects, lists as arrays, maps as
/// objects (keys as strings); timestamps as epoch milliseconds (as emulators recorded AWS's items);
/// dates, times and decimals as their text (`2024-05-01`, `12:30:00.000`, `12.50`); binary values that are
/// not UTF-8 as base64. Read row group by row group (the footer first, then one row group's column chunks
/// at a time, each at most [`MAX_ROW_GROUP_BYTES`]), no further than `max` rows: the object is never held
/// whole unless the store can only read it whole. A file the `parquet` crate cannot read (not Parquet,
/// damaged, a codec other than Snappy, GZIP or ZSTD) fails the reader with the crate's reason.
fn parquet_items(object: Arc<dyn RangedObject>, max: usize) -> Result<Vec<Value>, String> {
    use parquet::file::reader::{FileReader as _, SerializedFileReader};
    let invalid = |e: parquet::errors::ParquetError| format!("The Parquet object is not valid: {e}");
    // The crate must not take the engine down on a file it does not expect.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let reader = SerializedFileReader::new(ParquetSource(object)).map_err(invalid)?;
        let mut out = Vec::new();
        for i in 0..reader.metadata().num_row_groups() {
            if out.len() >= max {
                break;
            }
            let size = reader.metadata().row_group(i).compressed_size();
            if u64::try_from(size).map_or(true, |s| s > MAX_ROW_GROUP_BYTES) {
                return Err(format!(
                    "The Parquet row group {i} is {size} bytes, more than the {MAX_ROW_GROUP_BYTES} bytes sfn reads at once"
                ));
            }
            let group = reader.get_row_group(i).map_err(invalid)?;
            for row in group.get_row_iter(None).map_err(invalid)? {
                if out.len() >= max {
                    break;
                }
                out.push(parquet_row(&row.map_err(invalid)?));
            }
        }
        Ok(out)
    }));
    read.unwrap_or_else(|_| Err("The Parquet object is not valid: it could not be decoded".to_owned()))
}

/// One Parquet row (or nested group) as a JSON object.
fn parquet_row(row: &parquet::record::Row) -> Value {
    Value::Object(row.get_column_iter().map(|(name, field)| (name.clone(), parquet_value(field))).collect())
}

/// One Parquet value as JSON (the mapping [`parquet_items`] documents).
fn parquet_value(field: &parquet::record::Field) -> Value {
    use base64::Engine as _;
    use parquet::record::Field;
    let float = |f: f64| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(n) => json!(n),
        Field::Short(n) => json!(n),
        Field::Int(n) => json!(n),
        Field::Long(n) => json!(n),
        Field::UByte(n) => json!(n),
        Field::UShort(n) => json!(n),
        Field::UInt(n) => json!(n),
        Field::ULong(n) => json!(n),
        Field::Float16(f) => float(f64::from(*f)),
        Field::Float(f) => float(f64::from(*f)),
        Field::Double(f) => float(*f),
        Field::Str(s) => Value::String(s.clone()),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => Value::String(base64::engine::general_purpose::STANDARD.encode(b.data())),
        },
        Field::TimestampMillis(ms) => json!(ms),
        Field::TimestampMicros(us) => json!(us.div_euclid(1000)),
        Field::Group(row) => parquet_row(row),
        Field::ListInternal(list) => Value::Array(list.elements().iter().map(parquet_value).collect()),
        Field::MapInternal(map) => Value::Object(
            map.entries()
                .iter()
                .map(|(k, v)| {
                    let key = match parquet_value(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, parquet_value(v))
                })
                .collect(),
        ),
        // Dates, times and decimals: their text.
        other => Value::String(other.to_string()),
    }
}

/// Largest Athena manifest sfn reads (`ManifestType: ATHENA_DATA`): one S3 URI a line.
const MAX_ATHENA_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// The items of an Athena data manifest (`ManifestType: ATHENA_DATA`, the `…-manifest.csv` an Athena
/// `UNLOAD` writes: one `s3://bucket/key` a line): every data file it names read in order with the
/// reader's `InputType` (CSV, JSONL or PARQUET, as AWS's "ItemReader (Map)" page lists them), no further
/// than `max` items in all (a file after the last item needed is not opened).
async fn athena_items(
    objects: &Arc<dyn ObjectStore>,
    bucket: &str,
    key: &str,
    f: &Format,
    max: usize,
) -> Result<Vec<Value>, String> {
    let at = format!("s3://{bucket}/{key}");
    if !matches!(f.input_type.as_str(), "CSV" | "JSONL" | "PARQUET") {
        return Err(format!(
            "ManifestType ATHENA_DATA needs InputType CSV, JSONL or PARQUET, not {} (the manifest {at})",
            f.input_type
        ));
    }
    let body = objects
        .get(bucket, key, MAX_ATHENA_MANIFEST_BYTES)
        .await
        .map_err(|e| format!("The manifest {at} could not be read: {}", store_cause(&e)))?;
    let text = String::from_utf8(body).map_err(|_| format!("The manifest {at} is not UTF-8 text"))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if out.len() >= max {
            break;
        }
        let Some((file_bucket, file_key)) = line
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        else {
            return Err(format!("The manifest {at} line {} is not an s3://BUCKET/KEY URI: '{line}'", n + 1));
        };
        let format = Format {
            input_type: f.input_type.clone(),
            manifest_type: None,
            delimiter: f.delimiter.clone(),
            given_headers: f.given_headers.clone(),
        };
        let items =
            object_items(objects, file_bucket, file_key, format, max - out.len()).await.map_err(|e| {
                format!("The data file {line} (listed in the manifest {at}) could not be read: {e}")
            })?;
        out.extend(items);
    }
    Ok(out)
}

/// Longest line sfn reads from an S3 Inventory data file once decompressed: an inventory row is a few
/// kilobytes (a key is at most 1024 bytes, URL-encoded), so a longer one is a bad file (or a gzip bomb
/// of one endless line) and fails the reader instead of growing a buffer without bound.
const MAX_ROW_BYTES: usize = 1024 * 1024;

/// An S3 Inventory `manifest.json`, the fields the reader needs (Amazon S3 User Guide, "Locating your
/// inventory list": `fileFormat`, `fileSchema`, `files[].key`).
struct Inventory {
    /// The column names of `fileSchema` (`"Bucket, Key, Size, LastModifiedDate"`), in order.
    schema: Vec<String>,
    /// The keys of the data files, in the manifest's order.
    files: Vec<String>,
}

impl Inventory {
    fn parse(body: &[u8]) -> Result<Inventory, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("it is not valid JSON: {e}"))?;
        let Value::Object(m) = v else {
            return Err("it is not a JSON object".to_owned());
        };
        match m.get("fileFormat").and_then(Value::as_str) {
            Some(f) if f.eq_ignore_ascii_case("CSV") => {}
            Some(f) => {
                return Err(format!(
                    "its fileFormat is {f}: Step Functions reads S3 Inventory files in CSV format only"
                ));
            }
            None => return Err("it has no fileFormat".to_owned()),
        }
        let schema: Vec<String> = match m.get("fileSchema").and_then(Value::as_str) {
            Some(s) => s.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
            None => return Err("it has no fileSchema".to_owned()),
        };
        if schema.is_empty() {
            return Err("its fileSchema names no column".to_owned());
        }
        let Some(Value::Array(list)) = m.get("files") else {
            return Err("it has no files array".to_owned());
        };
        let files = list
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.get("key")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("files[{i}] has no key"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Inventory { schema, files })
    }
}

/// The items of an S3 Inventory (`InputType: MANIFEST`): the manifest `bucket/key` names data files
/// (gzip-compressed CSV without a header row), each row an item whose fields are named by `fileSchema`
/// and whose values are strings, as AWS's "ItemReader (Map)" page shows them (`{"Bucket": …, "Key": …,
/// "Size": …, "LastModifiedDate": …}`). The data files are read from the manifest's bucket (S3 Inventory
/// writes both to its destination bucket), one after the other, each streamed and decompressed as it is
/// read, and no further than `max` items in all: a file after the last item needed is not opened.
async fn manifest_items(
    objects: &Arc<dyn ObjectStore>,
    bucket: &str,
    key: &str,
    max: usize,
) -> Result<Vec<Value>, String> {
    let at = format!("s3://{bucket}/{key}");
    let body = objects
        .get(bucket, key, MAX_OBJECT_BYTES)
        .await
        .map_err(|e| format!("The manifest {at} could not be read: {}", store_cause(&e)))?;
    let inventory = Inventory::parse(&body)
        .map_err(|e| format!("The manifest {at} is not an S3 Inventory manifest: {e}"))?;
    let mut out = Vec::new();
    for file in inventory.files {
        if out.len() >= max {
            break;
        }
        let data = format!("s3://{bucket}/{file}");
        let body = objects.open(bucket, &file).await.map_err(|e| {
            format!(
                "The inventory file {data} (listed in the manifest {at}) could not be read: {}",
                store_cause(&e)
            )
        })?;
        let format = Format {
            input_type: "CSV".to_owned(),
            manifest_type: None,
            delimiter: None,
            given_headers: Some(Some(inventory.schema.clone())),
        };
        let left = max - out.len();
        let manifest = at.clone();
        let items = off_workers(move || {
            inventory_rows(&format, body, left).map_err(|e| {
                format!("The inventory file {data} (listed in the manifest {manifest}) is not valid: {e}")
            })
        })
        .await?;
        out.extend(items);
    }
    Ok(out)
}

/// The rows of one inventory data file: gunzipped as read when it starts with gzip's magic bytes (S3
/// Inventory compresses every CSV file), plain CSV otherwise.
fn inventory_rows(f: &Format, body: ObjectReader, max: usize) -> Result<Vec<Value>, String> {
    use std::io::BufRead as _;
    let mut rd = std::io::BufReader::with_capacity(64 * 1024, body);
    let gzip = rd.fill_buf().map_err(|e| format!("it could not be read: {e}"))?.starts_with(&[0x1f, 0x8b]);
    let plain: Box<dyn std::io::Read> =
        if gzip { Box::new(flate2::bufread::MultiGzDecoder::new(rd)) } else { Box::new(rd) };
    csv_items(f, RowBound { inner: plain, run: 0 }, max)
}

/// A reader that fails once a line runs past [`MAX_ROW_BYTES`] (the CSV reader would hold it whole).
struct RowBound<R> {
    inner: R,
    /// Bytes since the last newline.
    run: usize,
}

impl<R: std::io::Read> std::io::Read for RowBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        self.run = match read.iter().rposition(|b| *b == b'\n') {
            Some(i) => n - i - 1,
            None => self.run.saturating_add(n),
        };
        if self.run > MAX_ROW_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line is longer than {MAX_ROW_BYTES} bytes"),
            ));
        }
        Ok(n)
    }
}

/// Where a `ResultWriter` writes: its bucket and prefix.
pub(crate) struct Target {
    pub(crate) bucket: String,
    prefix: String,
}

impl Target {
    fn key(&self, run_id: &str, file: &str) -> String {
        match self.prefix.trim_end_matches('/') {
            "" => format!("{run_id}/{file}"),
            p => format!("{p}/{run_id}/{file}"),
        }
    }

    /// The manifest's key: `Prefix/<map run id>/manifest.json`.
    pub(crate) fn manifest_key(&self, run_id: &str) -> String {
        self.key(run_id, "manifest.json")
    }
}

/// The writer's bucket and prefix, evaluated (a missing Bucket fails the state).
pub(crate) async fn writer_target(
    ctx: &StateCtx<'_>,
    w: &ResultWriter,
    eff: &Value,
) -> Result<Target, Interrupt> {
    let params = parameters(ctx, w.parameters.as_ref(), eff).await?;
    let Some(bucket) = text(&params, "Bucket") else {
        return Err(writer_failed("The ResultWriter's Parameters have no Bucket").into());
    };
    Ok(Target { bucket: bucket.to_owned(), prefix: text(&params, "Prefix").unwrap_or_default().to_owned() })
}

/// What a ResultWriter writes of one child execution.
#[derive(Clone)]
pub(crate) struct Record {
    /// Its ARN and name.
    arn: String,
    name: String,
    /// The input as JSON text (what the file holds; smaller than the value).
    input: String,
    start: DateTime<Utc>,
    stop: DateTime<Utc>,
    result: Result<Value, (Option<String>, Option<String>)>,
}

impl Record {
    /// The record of an iteration that ended with `r` (none for an aborted one).
    pub(crate) fn of(
        names: Option<&ChildNames>,
        input: String,
        start: DateTime<Utc>,
        stop: DateTime<Utc>,
        r: &Result<Value, Interrupt>,
    ) -> Option<Record> {
        let result = match r {
            Ok(v) => Ok(v.clone()),
            Err(Interrupt::Abort) => return None,
            Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => {
                Err((f.name.as_ref().map(|n| n.shown().to_owned()), f.cause.clone()))
            }
        };
        let (arn, name) = match names {
            Some(n) => (n.arn.clone(), n.name.clone()),
            None => (String::new(), uuid::Uuid::new_v4().to_string()),
        };
        Some(Record { arn, name, input, start, stop, result })
    }
}

/// `…:stateMachine:MACHINE/LABEL` of a child's `…:execution:MACHINE/LABEL:NAME` (or `…:express:…`).
fn state_machine_arn(child: &str) -> String {
    let parts: Vec<&str> = child.splitn(8, ':').collect();
    match parts.as_slice() {
        [a, p, s, r, acct, _, machine, ..] => format!("{a}:{p}:{s}:{r}:{acct}:stateMachine:{machine}"),
        _ => String::new(),
    }
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Record {
    /// The execution record AWS writes for `Transformation: NONE` (and for a failed child under any
    /// transformation): ARN, input, output or error and cause, redrive fields, dates, status (AWS:
    /// "ResultWriter (Map)", the NONE example: a succeeded child is `NOT_REDRIVABLE`; a failed one is
    /// redriven with its map run, `REDRIVABLE_BY_MAP_RUN`, as the API's ExecutionRedriveStatus names it).
    fn full(&self) -> Value {
        let mut o = JsonMap::new();
        o.insert("ExecutionArn".to_owned(), Value::String(self.arn.clone()));
        o.insert("Input".to_owned(), Value::String(self.input.clone()));
        o.insert("InputDetails".to_owned(), json!({"Included": true}));
        o.insert("Name".to_owned(), Value::String(self.name.clone()));
        match &self.result {
            Ok(out) => {
                o.insert("Output".to_owned(), Value::String(out.to_string()));
                o.insert("OutputDetails".to_owned(), json!({"Included": true}));
            }
            Err((error, cause)) => {
                if let Some(e) = error {
                    o.insert("Error".to_owned(), Value::String(e.clone()));
                }
                if let Some(c) = cause {
                    o.insert("Cause".to_owned(), Value::String(c.clone()));
                }
            }
        }
        o.insert("RedriveCount".to_owned(), json!(0));
        let status = if self.result.is_ok() { "SUCCEEDED" } else { "FAILED" };
        let (redrive, reason) = crate::maprun::map_run_child_redrive_status(status);
        o.insert("RedriveStatus".to_owned(), json!(redrive));
        if let Some(reason) = reason {
            o.insert("RedriveStatusReason".to_owned(), json!(reason));
        }
        o.insert("StartDate".to_owned(), Value::String(date(self.start)));
        o.insert("StateMachineArn".to_owned(), Value::String(state_machine_arn(&self.arn)));
        o.insert("Status".to_owned(), Value::String(status.to_owned()));
        o.insert("StopDate".to_owned(), Value::String(date(self.stop)));
        Value::Object(o)
    }

    /// What this child's result becomes under `t` (AWS: "ResultWriter (Map)", `WriterConfig`):
    /// `NONE` the execution record; `COMPACT` the output; `FLATTEN` the output, an array's elements one
    /// by one. A failed child is its execution record under every transformation (the page: "If a child
    /// workflow execution fails, Step Functions returns its execution result unchanged").
    fn transformed(&self, t: Transformation, out: &mut Vec<Value>) {
        match (&self.result, t) {
            (Ok(v), Transformation::Compact) => out.push(v.clone()),
            (Ok(Value::Array(a)), Transformation::Flatten) => out.extend(a.iter().cloned()),
            (Ok(v), Transformation::Flatten) => out.push(v.clone()),
            _ => out.push(self.full()),
        }
    }
}

/// The Map's output when its ResultWriter has a `WriterConfig` and no `Resource` (AWS: "ResultWriter
/// (Map)", "Only WriterConfig": the results, transformed, are passed on to the next state). The
/// output stays one JSON array whatever the `OutputType` (a state's output is JSON).
pub(crate) fn inline_results(w: &ResultWriter, records: &[Option<Record>]) -> Value {
    let t = w.transformation();
    let mut out = Vec::with_capacity(records.len());
    for rec in records.iter().flatten() {
        rec.transformed(t, &mut out);
    }
    Value::Array(out)
}

/// A results file's body: a JSON array, or JSON Lines (one value a line, each ended by a newline).
fn body(values: &[Value], output_type: WriterOutputType) -> Vec<u8> {
    match output_type {
        WriterOutputType::Json => serde_json::to_vec(values).unwrap_or_default(),
        WriterOutputType::Jsonl => {
            let mut b = Vec::new();
            for v in values {
                if serde_json::to_writer(&mut b, v).is_ok() {
                    b.push(b'\n');
                }
            }
            b
        }
    }
}

/// Writes `SUCCEEDED_0.json` / `FAILED_0.json` (`.jsonl` with `OutputType: JSONL`; the executions with
/// that status, when there are any, each transformed as `WriterConfig.Transformation` says) and
/// `manifest.json` (AWS: "ResultWriter (Map)": `DestinationBucket`, `MapRunArn`, `ResultFiles` by status
/// with each file's `Key` and `Size`).
pub(crate) async fn write_results(
    ctx: &StateCtx<'_>,
    w: &ResultWriter,
    target: &Target,
    map_run_arn: &str,
    run_id: &str,
    records: &[Option<Record>],
) -> Result<(), Failure> {
    let objects = store(ctx, writer_failed)?;
    let (t, output_type) = (w.transformation(), w.output_type());
    let mut succeeded = Vec::new();
    let mut failed = Vec::new();
    for rec in records.iter().flatten() {
        match rec.result {
            Ok(_) => rec.transformed(t, &mut succeeded),
            Err(_) => rec.transformed(t, &mut failed),
        }
    }
    let extension = match output_type {
        WriterOutputType::Json => "json",
        WriterOutputType::Jsonl => "jsonl",
    };
    let mut files = JsonMap::new();
    for (status, list) in [("FAILED", failed), ("PENDING", Vec::new()), ("SUCCEEDED", succeeded)] {
        let mut entries = Vec::new();
        if !list.is_empty() {
            let key = target.key(run_id, &format!("{status}_0.{extension}"));
            let body = body(&list, output_type);
            let size = body.len();
            objects.put(&target.bucket, &key, body).await.map_err(|e| writer_failed(store_cause(&e)))?;
            entries.push(json!({"Key": key, "Size": size}));
        }
        files.insert(status.to_owned(), Value::Array(entries));
    }
    let manifest = json!({
        "DestinationBucket": target.bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": files,
    });
    let body = serde_json::to_vec(&manifest).unwrap_or_default();
    objects
        .put(&target.bucket, &target.manifest_key(run_id), body)
        .await
        .map_err(|e| writer_failed(store_cause(&e)))
}
