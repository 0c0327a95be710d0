//! Checks an append before it reaches the database, so bad input writes nothing.

use crate::error::StoreError;
use crate::model::AppendRequest;

/// The longest stream id the log accepts.
const MAX_STREAM_ID_LEN: usize = 200;

/// The category of a stream id of the form `category-id`: `schedule` for
/// `schedule-0190…`. Categories let a reader follow every stream of one kind.
pub fn category_of(stream_id: &str) -> Result<&str, StoreError> {
    let invalid = || StoreError::InvalidStreamId(stream_id.to_owned());
    let (category, id) = stream_id.split_once('-').ok_or_else(invalid)?;
    let category_ok = category.starts_with(|c: char| c.is_ascii_lowercase())
        && category.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let id_ok = !id.is_empty()
        && stream_id.len() <= MAX_STREAM_ID_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_.:@-".contains(c));
    if category_ok && id_ok { Ok(category) } else { Err(invalid()) }
}

/// Refuses an append that could never be stored, and answers its category.
pub(crate) fn check_append(request: &AppendRequest, max_event_bytes: usize) -> Result<(), StoreError> {
    category_of(&request.stream_id)?;
    if request.events.is_empty() {
        return Err(StoreError::EmptyAppend { stream_id: request.stream_id.clone() });
    }
    for event in &request.events {
        let m = &event.metadata;
        let texts = [
            ("type", Some(&event.event_type)),
            ("actor name", m.actor_name.as_ref()),
            ("idempotency key", m.idempotency_key.as_ref()),
        ];
        if let Some((field, _)) = texts.iter().find(|(_, text)| text.is_some_and(|t| t.contains('\0'))) {
            return Err(StoreError::NulInText { event_id: event.event_id, field });
        }
        let size = event.size();
        if size > max_event_bytes {
            return Err(StoreError::EventTooLarge { event_id: event.event_id, size, limit: max_event_bytes });
        }
    }
    Ok(())
}

/// The URL with its password masked, safe to print in an error or a log.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot carry a password, and this one does.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_come_before_the_first_dash() {
        assert_eq!(category_of("schedule-0190a1b2-c3d4").unwrap(), "schedule");
        assert_eq!(category_of("call_log-42").unwrap(), "call_log");
    }

    #[test]
    fn malformed_stream_ids_are_refused() {
        for bad in ["", "schedule", "-x", "Schedule-1", "schedule-", "sch edule-1", "schedule-a b", "1abc-x"] {
            assert!(matches!(category_of(bad), Err(StoreError::InvalidStreamId(_))), "{bad:?} was accepted");
        }
        let long = format!("schedule-{}", "x".repeat(200));
        assert!(category_of(&long).is_err());
    }

    #[test]
    fn passwords_never_show_in_printed_urls() {
        assert_eq!(redact_url("postgres://vigie:s3cret@db:5432/vigie"), "postgres://vigie:***@db:5432/vigie");
        assert_eq!(redact_url("sqlite://vigie.db"), "sqlite://vigie.db");
    }
}
