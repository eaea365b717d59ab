//! Full-text search's words: a text becomes the set of its terms, a query the terms a match must
//! all have. A word is a run of letters and digits; Cyrillic words take the Russian Snowball
//! stemmer, Latin ones the English, so "принтера" finds "принтеры" and "printers" finds
//! "printer"; numbers and mixed words ("x86", "A4") are kept whole. Both backends store the same
//! terms in one table, so a search answers alike on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use rust_stemmers::{Algorithm, Stemmer};

/// A word shorter than this says nothing to search by (prepositions, initials).
const MIN_CHARS: usize = 2;
/// Longer "words" are encoded data (base64, hashes), not language.
const MAX_CHARS: usize = 40;
/// A document's terms beyond this are not indexed: a long mail's tail adds little.
pub const MAX_TERMS: usize = 2000;
/// A query's words beyond this are ignored.
pub const MAX_QUERY_TERMS: usize = 8;

fn script(word: &str) -> Option<Algorithm> {
    let cyrillic = word.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    let latin = word.chars().any(|c| c.is_ascii_alphabetic());
    let digits = word.chars().any(|c| c.is_ascii_digit());
    match (cyrillic, latin, digits) {
        (true, false, false) => Some(Algorithm::Russian),
        (false, true, false) => Some(Algorithm::English),
        _ => None,
    }
}

/// The word's term: lower case, ё as е, stemmed by its script.
fn term(word: &str) -> Option<String> {
    let n = word.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&n) {
        return None;
    }
    let lower: String = word
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect();
    Some(match script(&lower) {
        Some(a) => Stemmer::create(a).stem(&lower).into_owned(),
        None => lower,
    })
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// A text's distinct terms, in order, at most [`MAX_TERMS`].
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in words(text).filter_map(term) {
        if out.len() >= MAX_TERMS {
            break;
        }
        if seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

/// The terms a match must all have; empty when the query has no word to search by.
pub fn query(q: &str) -> Vec<String> {
    let mut t = terms(q);
    t.truncate(MAX_QUERY_TERMS);
    t
}

/// Whether a text has every term of the query (to pick the line a hit shows).
pub fn matches(text: &str, query: &[String]) -> bool {
    let have = terms(text);
    query.iter().all(|q| have.contains(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_word_forms_meet() {
        assert_eq!(query("принтера"), query("принтеры"));
        assert_eq!(query("Принтер"), query("принтером"));
        assert_eq!(query("печатает"), query("печатать"));
        assert_eq!(query("ёлка"), query("елки"));
    }

    #[test]
    fn english_word_forms_meet() {
        assert_eq!(query("printers"), query("printer"));
        assert_eq!(query("Printing"), query("print"));
        assert_eq!(query("connection"), query("connected"));
    }

    #[test]
    fn numbers_and_mixed_words_stay_whole() {
        assert_eq!(
            terms("заказ 12345, принтер HP-M404"),
            ["заказ", "12345", "принтер", "hp", "m404"]
        );
        assert_eq!(terms("x86 A4"), ["x86", "a4"]);
    }

    #[test]
    fn noise_is_not_a_term() {
        assert!(query("а и в").is_empty());
        assert!(query("   ...  ").is_empty());
        assert!(terms(&"q".repeat(41)).is_empty());
    }

    #[test]
    fn languages_mix_in_one_text() {
        let t = terms("Не работает printer в офисе");
        assert!(
            t.contains(&"работа".to_string())
                || t.contains(&"работает".to_string())
                || t.iter().any(|x| x.starts_with("работ"))
        );
        assert!(t.contains(&"printer".to_string()));
        assert!(t.iter().any(|x| x.starts_with("офис")));
    }

    #[test]
    fn duplicates_and_length_are_bounded() {
        assert_eq!(terms("принтер Принтера ПРИНТЕРУ"), ["принтер"]);
        let long: String = (0..5000).map(|i| format!("w{i} ")).collect();
        assert_eq!(terms(&long).len(), MAX_TERMS);
        assert_eq!(
            query("one two three four five six seven eight nine ten").len(),
            MAX_QUERY_TERMS
        );
    }

    #[test]
    fn a_line_matches_when_it_has_every_term() {
        let q = query("принтер офис");
        assert!(matches("В офисе сломался принтер", &q));
        assert!(!matches("В офисе всё хорошо", &q));
    }
}
