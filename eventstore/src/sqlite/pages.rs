//! Reads a page of events as one packed value, so the driver hands over one value instead of a thousand rows.
//!
//! sqlx runs SQLite on a worker thread and sends each row across to the
//! caller, copying every column; for the long reads of the log (catch-up,
//! rebuilds) that hand-over costs more than SQLite's own work. SQLite packs
//! the page into one byte string instead, in a format that costs little to
//! build and to read back: for each event, a header of decimal numbers (the
//! integers, then the byte lengths of the texts, -1 for NULL), then the texts
//! and ids as raw bytes. Lengths rather than separators keep any byte a text
//! may hold, and raw ids skip SQLite's `hex()`, which cost more than the scan.

use futures_util::StreamExt;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::micros_to_time;
use super::readers::Readers;
use crate::error::StoreError;
use crate::model::{Metadata, StoredEvent};

/// One event, packed. `printf` writes the header in one pass; `||` appends
/// the texts and blobs by length, so a NUL inside them survives. An optional
/// id is `-` when NULL, else `+` and its 16 bytes.
const PACKED_EVENT: &str = "printf('%d %d %d %d %d %d %d %d %d ', position, stream_version, schema_version, \
       recorded_at, octet_length(stream_id), octet_length(event_type), octet_length(data), \
       ifnull(octet_length(actor_name), -1), ifnull(octet_length(idempotency_key), -1)) \
     || stream_id || event_type || data || ifnull(actor_name, '') || ifnull(idempotency_key, '') \
     || event_id || ifnull('+' || actor_id, '-') || ifnull('+' || correlation_id, '-') \
     || ifnull('+' || causation_id, '-')";

/// A page is packed in chunks of this many events, two chunks in flight at
/// once, so SQLite packs the next chunk while this side unpacks the last.
const CHUNK: u64 = 250;

/// Longer pages get longer chunks rather than more of them.
const MAX_CHUNKS: u64 = 16;

/// Events after `after` (all, or one category's), in position order.
///
/// A quick first query finds where each chunk of the page ends; the chunks
/// are then packed by ranges of positions. A range holds the same events
/// whatever the snapshot that reads it (new events only ever land after the
/// head, and a purge only removes), so chunks can be read on two connections
/// at once and still join up into one page without a gap or a repeat.
pub(super) async fn read_page(
    readers: &Readers,
    category: Option<&str>,
    after: u64,
    limit: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let after = clamp(after);
    let ends = chunk_ends(readers, category, after, limit).await?;
    let starts = std::iter::once(after).chain(ends.iter().copied());
    let mut chunks = futures_util::stream::iter(starts.zip(ends.iter().copied()))
        .map(|(from, to)| read_range(readers, category, from, to))
        .buffered(2);
    let mut events = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(10_000));
    while let Some(packed) = chunks.next().await {
        if let Some(packed) = packed? {
            events.extend(unpack(&packed)?);
        }
    }
    // SQLite aggregates in the order it scans, but nothing promises it.
    if !events.is_sorted_by_key(|e| e.position) {
        events.sort_by_key(|e| e.position);
    }
    Ok(events)
}

/// The position of the last event of each chunk of the page. Each chunk's
/// end is found by skipping along the index from the end of the one before,
/// so the whole page is walked once. When the log runs out before the page
/// is full, the newest event ends it.
async fn chunk_ends(readers: &Readers, category: Option<&str>, after: i64, limit: u64) -> Result<Vec<i64>, StoreError> {
    let filter = if category.is_some() { "category = ?5 AND " } else { "" };
    let limit = limit.min(i64::MAX as u64);
    let chunk = CHUNK.max(limit.div_ceil(MAX_CHUNKS));
    let chunks = limit.div_ceil(chunk);
    let last_chunk = limit - (chunks - 1) * chunk;
    // ?2 full chunks first, then the last one, which may be shorter.
    let sql = format!(
        "WITH RECURSIVE ends(n, position) AS (
             SELECT 0, ?1
             UNION ALL
             SELECT n + 1, (SELECT e.position FROM events e WHERE {filter}e.position > ends.position
                             ORDER BY e.position LIMIT 1 OFFSET ?3 - 1)
               FROM ends WHERE n < ?2 AND position IS NOT NULL)
         SELECT (SELECT group_concat(position, ' ') FROM ends WHERE n > 0 AND position IS NOT NULL),
                (SELECT e.position FROM events e WHERE {filter}e.position > (SELECT max(position) FROM ends)
                  ORDER BY e.position LIMIT 1 OFFSET ?4 - 1),
                (SELECT max(position) FROM events e WHERE {filter}e.position > ?1)"
    );
    let query = sqlx::query_as::<_, (Option<String>, Option<i64>, Option<i64>)>(&sql)
        .bind(after)
        .bind(clamp(chunks - 1))
        .bind(clamp(chunk))
        .bind(clamp(last_chunk));
    let query = match category {
        Some(category) => query.bind(category),
        None => query,
    };
    let (ends, last, newest) = query.fetch_one(&mut *readers.acquire().await?).await?;
    let Some(newest) = newest else { return Ok(Vec::new()) };
    let mut ends: Vec<i64> = match ends {
        Some(ends) => {
            ends.split(' ').map(str::parse).collect::<Result<_, _>>().map_err(|_| corrupt("a malformed position"))?
        }
        None => Vec::new(),
    };
    ends.extend(last);
    // Fewer events than the page holds: they all belong to it.
    if ends.len() < chunks as usize {
        ends.push(newest);
    }
    ends.sort_unstable();
    ends.dedup();
    Ok(ends)
}

/// The events with a position in `(after, to]`, packed by SQLite.
async fn read_range(
    readers: &Readers,
    category: Option<&str>,
    after: i64,
    to: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let filter = if category.is_some() { "category = ?3 AND " } else { "" };
    let sql =
        format!("SELECT group_concat({PACKED_EVENT}, '') FROM events WHERE {filter}position > ?1 AND position <= ?2");
    let query = sqlx::query_scalar::<_, Option<Vec<u8>>>(&sql).bind(after).bind(to);
    let query = match category {
        Some(category) => query.bind(category),
        None => query,
    };
    Ok(query.fetch_one(&mut *readers.acquire().await?).await?)
}

/// SQLite integers are signed; `u64::MAX` means "no bound".
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Reads back the events `PACKED_EVENT` wrote, one after another.
fn unpack(page: &[u8]) -> Result<Vec<StoredEvent>, StoreError> {
    let mut reader = Reader { rest: page };
    let mut events = Vec::new();
    while !reader.rest.is_empty() {
        let position = reader.number()?;
        let stream_version = reader.number()?;
        let schema_version = reader.number()?;
        let recorded_at = reader.number()?;
        let lengths = [reader.number()?, reader.number()?, reader.number()?, reader.number()?, reader.number()?];
        let stream_id = reader.text(lengths[0])?.unwrap_or_default();
        let event_type = reader.text(lengths[1])?.unwrap_or_default();
        let data = reader.text(lengths[2])?.unwrap_or_default();
        let actor_name = reader.text(lengths[3])?;
        let idempotency_key = reader.text(lengths[4])?;
        let event_id = reader.uuid()?;
        let metadata = Metadata {
            actor_id: reader.optional_uuid()?,
            actor_name,
            correlation_id: reader.optional_uuid()?,
            causation_id: reader.optional_uuid()?,
            idempotency_key,
        };
        events.push(StoredEvent {
            position: unsigned(position)?,
            event_id,
            stream_id,
            stream_version: unsigned(stream_version)?,
            event_type,
            schema_version: u32::try_from(schema_version).map_err(|_| corrupt("a schema version out of range"))?,
            data: RawValue::from_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            metadata,
            recorded_at: micros_to_time(recorded_at)?,
        });
    }
    Ok(events)
}

/// A cursor over a packed page.
struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    /// A decimal number and the space after it.
    fn number(&mut self) -> Result<i64, StoreError> {
        let end = self.rest.iter().position(|&b| b == b' ').ok_or_else(|| corrupt("a page cut short"))?;
        let digits = std::str::from_utf8(&self.rest[..end]).map_err(|_| corrupt("a number that is not text"))?;
        let number = digits.parse().map_err(|_| corrupt("a malformed number"))?;
        self.rest = &self.rest[end + 1..];
        Ok(number)
    }

    fn bytes(&mut self, len: usize) -> Result<&[u8], StoreError> {
        if self.rest.len() < len {
            return Err(corrupt("a page cut short"));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// A text of `len` bytes; a negative length is NULL.
    fn text(&mut self, len: i64) -> Result<Option<String>, StoreError> {
        let Ok(len) = usize::try_from(len) else { return Ok(None) };
        let bytes = self.bytes(len)?.to_vec();
        String::from_utf8(bytes).map(Some).map_err(|_| corrupt("a text that is not UTF-8"))
    }

    fn uuid(&mut self) -> Result<Uuid, StoreError> {
        Uuid::from_slice(self.bytes(16)?).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn optional_uuid(&mut self) -> Result<Option<Uuid>, StoreError> {
        match self.bytes(1)? {
            b"-" => Ok(None),
            b"+" => self.uuid().map(Some),
            _ => Err(corrupt("a malformed optional id")),
        }
    }
}

fn unsigned(number: i64) -> Result<u64, StoreError> {
    u64::try_from(number).map_err(|_| corrupt("a negative position or version"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} in a page of the log"))
}
