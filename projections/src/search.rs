//! Text folded for search: case, accents and the way a telephone number is written do not matter.
//!
//! Callers' names and messages are French as often as English: an agent types
//! "hopital" and expects "Hôpital Laval"; a client pastes "+1 418 555-0142" and
//! expects the call from "4185550142". Rows store the folded text beside the
//! original, and queries are folded the same way, so the database compares
//! plain lower-case ASCII-like text with LIKE on both back ends.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `text` in lower case, without accents: "Hôpital" and "HOPITAL" both give "hopital".
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'œ' | 'Œ' => folded.push_str("oe"),
            'æ' | 'Æ' => folded.push_str("ae"),
            'ß' => folded.push_str("ss"),
            _ => folded.extend(c.to_lowercase()),
        }
    }
    folded
}

/// The digits of a telephone number, with North America's country code dropped:
/// "+1 (418) 555-0142", "1-418-555-0142" and "418.555.0142" all give "4185550142".
pub fn phone_digits(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('1') {
        Some(national) if digits.len() == 11 => national.to_owned(),
        _ => digits,
    }
}

/// The digits to look for when a query is a telephone number (digits and the
/// signs numbers are written with); `None` for any other text, so that
/// "Dr. 12" does not find every number containing 12.
pub fn phone_query(query: &str) -> Option<String> {
    let query = query.trim();
    let is_number =
        query.chars().any(|c| c.is_ascii_digit()) && query.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
    is_number.then(|| phone_digits(query))
}

#[cfg(test)]
mod tests {
    use super::{fold, phone_digits, phone_query};

    #[test]
    fn case_and_accents_do_not_matter() {
        assert_eq!(fold("Hôpital de l'Enfant-Jésus"), "hopital de l'enfant-jesus");
        assert_eq!(fold("ÉLODIE Çaron"), "elodie caron");
        assert_eq!(fold("Cœur"), fold("coeur"));
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Nguyễn Thị"), "nguyen thi");
    }

    #[test]
    fn a_number_is_found_however_it_is_written() {
        for written in ["+1 (418) 555-0142", "1-418-555-0142", "418.555.0142", "4185550142"] {
            assert_eq!(phone_digits(written), "4185550142", "{written}");
        }
        assert_eq!(phone_digits("555-0142"), "5550142", "a partial number keeps its digits");
        assert_eq!(phone_digits("+33 1 42 68 53 00"), "33142685300", "only North America's 1 is dropped");
    }

    #[test]
    fn only_a_query_written_like_a_number_is_searched_as_one() {
        assert_eq!(phone_query(" +1 418 555-0142 ").as_deref(), Some("4185550142"));
        assert_eq!(phone_query("(418) 555"), Some("418555".to_owned()));
        assert_eq!(phone_query("Dr. 12"), None);
        assert_eq!(phone_query("- -"), None);
    }
}
