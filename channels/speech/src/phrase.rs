//! Announcements as segments. A template such as "Талон {ticket}, пройдите к окну {window}" is
//! split into fixed text ("талон", "пройдите к окну"), pauses where the punctuation is, and the
//! words of its values ("а", "ноль", "девяносто", "один"). Each distinct segment is synthesised
//! once and cached; an announcement is their concatenation.

use std::collections::HashMap;

use crate::error::{Result, SpeechError, TemplateError};
use crate::say::{self, Lang};

/// The most text one announcement may carry (a template with its values filled in).
pub const MAX_TEXT: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Words to synthesise, lower-cased, single-spaced: the cache key.
    Words(String),
    /// Silence, in milliseconds.
    Pause(u32),
}

/// What a template may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A ticket code, read letter and number (`{ticket}`).
    Ticket,
    /// A window or counter name (`{window}`).
    Window,
    /// A whole number (`{number}`, `{position}`, `{minutes}`).
    Number(&'static str),
    /// A time of day, "14:30" (`{time}`).
    Time,
    /// Money, "150 ₽" (`{amount}`).
    Amount,
}

impl Slot {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "ticket" => Slot::Ticket,
            "window" => Slot::Window,
            "number" => Slot::Number("number"),
            "position" => Slot::Number("position"),
            "minutes" => Slot::Number("minutes"),
            "time" => Slot::Time,
            "amount" => Slot::Amount,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Slot::Ticket => "ticket",
            Slot::Window => "window",
            Slot::Number(n) => n,
            Slot::Time => "time",
            Slot::Amount => "amount",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Slot),
}

/// A parsed announcement template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Refuses text an engine must not see: control characters (they can switch espeak-ng's
/// input modes or end a line-based protocol), empty text and text over `MAX_TEXT`.
pub fn check_text(text: &str) -> Result<()> {
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(SpeechError::BadText(format!("control character U+{:04X}", c as u32)));
    }
    if text.trim().is_empty() {
        return Err(SpeechError::BadText("nothing to say".into()));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(SpeechError::BadText(format!("longer than {MAX_TEXT} characters")));
    }
    Ok(())
}

impl Template {
    pub fn parse(src: &str) -> Result<Self> {
        check_text(src).map_err(|e| SpeechError::BadTemplate(TemplateError::Text(e.to_string())))?;
        let mut parts = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find('{') {
            if rest[..open].contains('}') {
                return Err(SpeechError::BadTemplate(TemplateError::Unbalanced));
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or(SpeechError::BadTemplate(TemplateError::Unbalanced))?;
            let name = rest[open + 1..open + close].trim();
            // "{ticket, window {window}": a brace opened before the last one closed.
            if name.contains('{') {
                return Err(SpeechError::BadTemplate(TemplateError::Unbalanced));
            }
            let slot =
                Slot::parse(name).ok_or_else(|| SpeechError::BadTemplate(TemplateError::Unknown(name.to_string())))?;
            parts.push(Part::Slot(slot));
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(SpeechError::BadTemplate(TemplateError::Unbalanced));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// The segments of this template with its values. A placeholder without a value is an
    /// error, not silence: a board that says "ticket, go to window" helps nobody.
    pub fn render(&self, values: &HashMap<&str, &str>, lang: Lang) -> Result<Vec<Segment>> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => text_segments(t, lang, &mut out),
                Part::Slot(slot) => {
                    let v = values
                        .get(slot.name())
                        .ok_or_else(|| SpeechError::BadText(format!("no value for {{{}}}", slot.name())))?;
                    check_text(v)?;
                    let words = match slot {
                        Slot::Ticket => say::ticket(v, lang),
                        Slot::Window => say::window(v, lang),
                        Slot::Number(_) => say::number(
                            v.trim()
                                .parse()
                                .map_err(|_| SpeechError::BadText(format!("{v:?} is not a number")))?,
                            lang,
                        ),
                        Slot::Time => say::time(v, lang)
                            .ok_or_else(|| SpeechError::BadText(format!("{v:?} is not a time (HH:MM)")))?,
                        Slot::Amount => say::amount(v, lang)
                            .ok_or_else(|| SpeechError::BadText(format!("{v:?} is not an amount")))?,
                    };
                    out.extend(words.into_iter().map(|w| Segment::Words(w.to_lowercase())));
                }
            }
        }
        Ok(tidy(out))
    }
}

/// Free text in segments: chunks of words between punctuation, numbers and times as words.
pub fn text(src: &str, lang: Lang) -> Result<Vec<Segment>> {
    check_text(src)?;
    let mut out = Vec::new();
    text_segments(src, lang, &mut out);
    Ok(tidy(out))
}

fn pause_after(c: char) -> Option<u32> {
    match c {
        ',' | ';' | ':' | '—' | '–' | '(' | ')' => Some(200),
        '.' | '!' | '?' | '\n' => Some(400),
        _ => None,
    }
}

fn text_segments(src: &str, lang: Lang, out: &mut Vec<Segment>) {
    let mut words: Vec<String> = Vec::new();
    let flush = |words: &mut Vec<String>, out: &mut Vec<Segment>| {
        if !words.is_empty() {
            out.push(Segment::Words(words.join(" ").to_lowercase()));
            words.clear();
        }
    };
    for token in src.split_inclusive(|c: char| c.is_whitespace() || pause_after(c).is_some()) {
        let pause = token.chars().last().and_then(pause_after);
        let word = token.trim_matches(|c: char| c.is_whitespace() || pause_after(c).is_some());
        if word.chars().any(|c| c.is_ascii_digit()) {
            flush(&mut words, out);
            let spoken = if word.chars().all(|c| c.is_ascii_digit()) {
                say::number(word.parse().unwrap_or(0), lang)
            } else {
                say::ticket(word, lang)
            };
            out.extend(spoken.into_iter().map(Segment::Words));
        } else if !word.is_empty() {
            words.push(word.to_string());
        }
        if let Some(ms) = pause {
            flush(&mut words, out);
            out.push(Segment::Pause(ms));
        }
    }
    flush(&mut words, out);
}

/// No pause at either end, and no two pauses in a row (the longer wins).
fn tidy(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        match (&s, out.last_mut()) {
            (Segment::Pause(_), None) => {}
            (Segment::Pause(ms), Some(Segment::Pause(prev))) => *prev = (*prev).max(*ms),
            _ => out.push(s),
        }
    }
    if matches!(out.last(), Some(Segment::Pause(_))) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[Segment]) -> Vec<&str> {
        s.iter()
            .map(|s| match s {
                Segment::Words(w) => w.as_str(),
                Segment::Pause(_) => "|",
            })
            .collect()
    }

    #[test]
    fn a_call_splits_into_cached_segments() {
        let t = Template::parse("Талон {ticket}, пройдите к окну {window}").unwrap();
        let values = HashMap::from([("ticket", "A091"), ("window", "3")]);
        let s = t.render(&values, Lang::Ru).unwrap();
        assert_eq!(
            words(&s),
            ["талон", "а", "ноль", "девяносто", "один", "|", "пройдите к окну", "три"]
        );
        let en = Template::parse("Ticket {ticket}, please go to window {window}.").unwrap();
        let s = en.render(&values, Lang::En).unwrap();
        assert_eq!(
            words(&s),
            [
                "ticket",
                "ay",
                "zero",
                "nine",
                "one",
                "|",
                "please go to window",
                "three"
            ]
        );
    }

    #[test]
    fn templates_are_checked() {
        for bad in ["Талон {tiket}", "Талон {ticket", "Талон ticket}", "", "a\u{7}b"] {
            assert!(Template::parse(bad).is_err(), "{bad:?}");
        }
        // Each problem named, for the page to word.
        let problem = |src: &str| match Template::parse(src) {
            Err(SpeechError::BadTemplate(e)) => e,
            other => panic!("{src:?}: {other:?}"),
        };
        assert_eq!(problem("Талон {tiket}"), TemplateError::Unknown("tiket".into()));
        assert_eq!(problem("Талон {ticket, окно {window}"), TemplateError::Unbalanced);
        assert_eq!(problem("Талон {ticket"), TemplateError::Unbalanced);
        assert_eq!(problem("Талон ticket}"), TemplateError::Unbalanced);
        assert!(matches!(problem(""), TemplateError::Text(_)));
        let t = Template::parse("Талон {ticket}").unwrap();
        assert!(t
            .render(&HashMap::new(), Lang::Ru)
            .unwrap_err()
            .to_string()
            .contains("{ticket}"));
        let v = HashMap::from([("ticket", "A\u{1b}[1m")]);
        assert!(t.render(&v, Lang::Ru).unwrap_err().to_string().contains("U+001B"));
    }

    #[test]
    fn free_text_reads_numbers_and_pauses_at_punctuation() {
        let s = text("Ваша очередь: 5. Ждите!", Lang::Ru).unwrap();
        assert_eq!(words(&s), ["ваша очередь", "|", "пять", "|", "ждите"]);
        assert!(text("   ", Lang::Ru).is_err());
        assert!(text(&"а".repeat(MAX_TEXT + 1), Lang::Ru).is_err());
        assert!(text("tab\tand newline\nare fine", Lang::En).is_ok());
    }

    #[test]
    fn time_and_amount_slots() {
        let t = Template::parse("Приём до {time}, сбор {amount}").unwrap();
        let v = HashMap::from([("time", "18:00"), ("amount", "150 ₽")]);
        let s = t.render(&v, Lang::Ru).unwrap();
        assert_eq!(
            words(&s),
            [
                "приём до",
                "восемнадцать",
                "ноль ноль",
                "|",
                "сбор",
                "сто",
                "пятьдесят",
                "рублей"
            ]
        );
        let v = HashMap::from([("time", "soon"), ("amount", "150 ₽")]);
        assert!(t.render(&v, Lang::Ru).is_err());
    }
}
