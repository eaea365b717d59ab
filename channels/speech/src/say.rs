//! How things are read aloud in Russian and English: numbers, ticket codes, window numbers,
//! times and amounts. The output is a list of words, because each word of a number is a
//! segment of its own in the cache (a day's calls reuse a few dozen number words instead of
//! synthesising every ticket number afresh).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// "ru", "ru-RU", "en", "en-GB"…; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.get(..2).map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("ru") => Some(Lang::Ru),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

const RU_UNITS: [&str; 20] = [
    "ноль",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const RU_TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const RU_HUNDREDS: [&str; 10] = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
];
const EN_UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Russian plural form: 1 талон, 2 талона, 5 талонов (`forms` = one, few, many).
pub fn ru_plural(n: u64, forms: [&str; 3]) -> &str {
    let (d, h) = (n % 10, n % 100);
    if d == 1 && h != 11 {
        forms[0]
    } else if (2..=4).contains(&d) && !(12..=14).contains(&h) {
        forms[1]
    } else {
        forms[2]
    }
}

/// Words of 0..=999 in Russian; `feminine` for тысяча and копейка (одна, две).
fn ru_below_thousand(n: u64, feminine: bool, out: &mut Vec<String>) {
    let (h, rest) = (n / 100, n % 100);
    if h > 0 {
        out.push(RU_HUNDREDS[h as usize].into());
    }
    let unit = |u: u64| -> &'static str {
        match (u, feminine) {
            (1, true) => "одна",
            (2, true) => "две",
            _ => RU_UNITS[u as usize],
        }
    };
    if rest >= 20 {
        out.push(RU_TENS[(rest / 10) as usize].into());
        if rest % 10 > 0 {
            out.push(unit(rest % 10).into());
        }
    } else if rest > 0 || h == 0 {
        out.push(unit(rest).into());
    }
}

fn en_below_thousand(n: u64, out: &mut Vec<String>) {
    let (h, rest) = (n / 100, n % 100);
    if h > 0 {
        out.push(EN_UNITS[h as usize].into());
        out.push("hundred".into());
    }
    if rest >= 20 {
        out.push(EN_TENS[(rest / 10) as usize].into());
        if rest % 10 > 0 {
            out.push(EN_UNITS[(rest % 10) as usize].into());
        }
    } else if rest > 0 || h == 0 {
        out.push(EN_UNITS[rest as usize].into());
    }
}

/// A whole number in words, up to 999 999 999 (larger is read digit by digit).
pub fn number(n: u64, lang: Lang) -> Vec<String> {
    number_gendered(n, lang, false)
}

fn number_gendered(n: u64, lang: Lang, feminine: bool) -> Vec<String> {
    let mut out = Vec::new();
    if n > 999_999_999 {
        return digits(&n.to_string(), lang);
    }
    let (millions, thousands, rest) = (n / 1_000_000, n / 1000 % 1000, n % 1000);
    match lang {
        Lang::Ru => {
            if millions > 0 {
                ru_below_thousand(millions, false, &mut out);
                out.push(ru_plural(millions, ["миллион", "миллиона", "миллионов"]).into());
            }
            if thousands > 0 {
                ru_below_thousand(thousands, true, &mut out);
                out.push(ru_plural(thousands, ["тысяча", "тысячи", "тысяч"]).into());
            }
            if rest > 0 || (millions == 0 && thousands == 0) {
                ru_below_thousand(rest, feminine, &mut out);
            }
        }
        Lang::En => {
            if millions > 0 {
                en_below_thousand(millions, &mut out);
                out.push("million".into());
            }
            if thousands > 0 {
                en_below_thousand(thousands, &mut out);
                out.push("thousand".into());
            }
            if rest > 0 || (millions == 0 && thousands == 0) {
                en_below_thousand(rest, &mut out);
            }
        }
    }
    out
}

fn digits(s: &str, lang: Lang) -> Vec<String> {
    s.chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| match lang {
            Lang::Ru => RU_UNITS[d as usize].to_string(),
            Lang::En => EN_UNITS[d as usize].to_string(),
        })
        .collect()
}

/// How a letter of a ticket code is said. Russian voices read Latin capitals badly, so the
/// letters are written as Russian speakers name them.
fn letter(c: char, lang: Lang) -> String {
    let up = c.to_uppercase().next().unwrap_or(c);
    match lang {
        Lang::Ru => {
            let name = match up {
                'A' | 'А' => "а",
                'B' | 'Б' => "бэ",
                'В' => "вэ",
                'C' | 'Ц' => "цэ",
                'D' | 'Д' => "дэ",
                'E' | 'Е' => "е",
                'F' => "эф",
                'G' | 'Г' => "гэ",
                'H' => "аш",
                'I' | 'И' => "и",
                'J' => "йот",
                'K' | 'К' => "ка",
                'L' | 'Л' => "эль",
                'M' | 'М' => "эм",
                'N' | 'Н' => "эн",
                'O' | 'О' => "о",
                'P' | 'П' => "пэ",
                'Q' => "ку",
                'R' | 'Р' => "эр",
                'S' | 'С' => "эс",
                'T' | 'Т' => "тэ",
                'U' | 'У' => "у",
                'V' => "вэ",
                'W' => "дубль-вэ",
                'X' | 'Х' => "икс",
                'Y' => "игрек",
                'Z' | 'З' => "зэт",
                'Ж' => "жэ",
                'Ш' => "ша",
                'Э' => "э",
                'Ю' => "ю",
                'Я' => "я",
                _ => return up.to_string(),
            };
            name.into()
        }
        Lang::En => {
            let name = match up {
                'A' => "ay",
                'B' => "bee",
                'C' => "see",
                'D' => "dee",
                'E' => "ee",
                'F' => "ef",
                'G' => "gee",
                'H' => "aitch",
                'I' => "eye",
                'J' => "jay",
                'K' => "kay",
                'L' => "el",
                'M' => "em",
                'N' => "en",
                'O' => "oh",
                'P' => "pee",
                'Q' => "cue",
                'R' => "ar",
                'S' => "ess",
                'T' => "tee",
                'U' => "you",
                'V' => "vee",
                'W' => "double you",
                'X' => "ex",
                'Y' => "why",
                'Z' => "zed",
                _ => return up.to_string(),
            };
            name.into()
        }
    }
}

/// A ticket code: its letters, then its number. Russian reads leading zeros as "ноль" and the
/// rest as a number (А091 → "а ноль девяносто один"), as announcers do; English reads every
/// digit (A091 → "ay zero nine one").
pub fn ticket(code: &str, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = String::new();
    for c in code.chars() {
        if c.is_ascii_digit() {
            rest.push(c);
        } else if c.is_alphabetic() {
            flush_digits(&mut rest, lang, &mut out);
            out.push(letter(c, lang));
        } else {
            flush_digits(&mut rest, lang, &mut out);
        }
    }
    flush_digits(&mut rest, lang, &mut out);
    out
}

fn flush_digits(buf: &mut String, lang: Lang, out: &mut Vec<String>) {
    if buf.is_empty() {
        return;
    }
    match lang {
        Lang::En => out.extend(digits(buf, lang)),
        Lang::Ru => {
            let zeros = buf.chars().take_while(|&c| c == '0').count();
            let zeros = zeros.min(buf.len() - 1); // "000" is "ноль ноль ноль", not silence
            out.extend(std::iter::repeat_n("ноль".to_string(), zeros));
            if let Ok(n) = buf[zeros..].parse::<u64>() {
                out.extend(number(n, lang));
            }
        }
    }
    buf.clear();
}

/// A window or counter name: "3" → "три", "12Б" → "двенадцать бэ", "Касса 2" → "касса два".
pub fn window(name: &str, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    for word in name.split_whitespace() {
        if word.chars().all(|c| c.is_ascii_digit()) {
            out.extend(number(word.parse().unwrap_or(0), lang));
        } else if word.chars().any(|c| c.is_ascii_digit()) {
            out.extend(ticket(word, lang));
        } else {
            out.push(word.to_lowercase());
        }
    }
    out
}

/// A time "14:30" or "9:05": hours, then minutes ("четырнадцать тридцать", "девять ноль пять").
pub fn time(s: &str, lang: Lang) -> Option<Vec<String>> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u64, u64) = (h.trim().parse().ok()?, m.trim().get(..2)?.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    let mut out = number(h, lang);
    match (m, lang) {
        (0, Lang::Ru) => out.push("ноль ноль".into()),
        (0, Lang::En) => out.push("o'clock".into()),
        (1..=9, Lang::Ru) => {
            out.push("ноль".into());
            out.extend(number(m, lang));
        }
        (1..=9, Lang::En) => {
            out.push("oh".into());
            out.extend(number(m, lang));
        }
        _ => out.extend(number(m, lang)),
    }
    Some(out)
}

/// An amount of money: "1 250,50 ₽", "1250.50 руб", "$12.50", "12 €".
pub fn amount(s: &str, lang: Lang) -> Option<Vec<String>> {
    let t = s.trim();
    let (currency, num) = if let Some(n) = t.strip_prefix('$') {
        ("usd", n)
    } else if let Some(n) = t.strip_prefix('€') {
        ("eur", n)
    } else {
        let cut = t.find(|c: char| !(c.is_ascii_digit() || c == ' ' || c == '.' || c == ',' || c == '\u{a0}'))?;
        let sym = t[cut..].trim().trim_end_matches('.').to_lowercase();
        let cur = match sym.as_str() {
            "₽" | "р" | "руб" | "rub" => "rub",
            "$" | "usd" => "usd",
            "€" | "eur" => "eur",
            _ => return None,
        };
        (cur, &t[..cut])
    };
    let num: String = num.chars().filter(|c| !c.is_whitespace()).collect();
    let (whole, cents) = match num.split_once(['.', ',']) {
        Some((w, c)) => (
            w.parse::<u64>().ok()?,
            format!("{c:0<2}").get(..2)?.parse::<u64>().ok()?,
        ),
        None => (num.parse::<u64>().ok()?, 0),
    };
    let mut out = Vec::new();
    match lang {
        Lang::Ru => {
            let (major, minor) = match currency {
                "rub" => (["рубль", "рубля", "рублей"], ["копейка", "копейки", "копеек"]),
                "usd" => (["доллар", "доллара", "долларов"], ["цент", "цента", "центов"]),
                _ => (["евро", "евро", "евро"], ["цент", "цента", "центов"]),
            };
            out.extend(number(whole, lang));
            out.push(ru_plural(whole, major).into());
            if cents > 0 {
                out.extend(number_gendered(cents, lang, currency == "rub"));
                out.push(ru_plural(cents, minor).into());
            }
        }
        Lang::En => {
            let (one, many, c1, cm) = match currency {
                "rub" => ("rouble", "roubles", "kopeck", "kopecks"),
                "usd" => ("dollar", "dollars", "cent", "cents"),
                _ => ("euro", "euros", "cent", "cents"),
            };
            out.extend(number(whole, lang));
            out.push(if whole == 1 { one } else { many }.into());
            if cents > 0 {
                out.push("and".into());
                out.extend(number(cents, lang));
                out.push(if cents == 1 { c1 } else { cm }.into());
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(v: Vec<String>) -> String {
        v.join(" ")
    }

    #[test]
    fn ticket_codes_read_as_announcers_read_them() {
        assert_eq!(j(ticket("A091", Lang::Ru)), "а ноль девяносто один");
        assert_eq!(j(ticket("A091", Lang::En)), "ay zero nine one");
        assert_eq!(j(ticket("B100", Lang::Ru)), "бэ сто");
        assert_eq!(j(ticket("K007", Lang::Ru)), "ка ноль ноль семь");
        assert_eq!(j(ticket("A000", Lang::Ru)), "а ноль ноль ноль");
        assert_eq!(j(ticket("VIP12", Lang::En)), "vee eye pee one two");
        assert_eq!(j(ticket("Б1234", Lang::Ru)), "бэ одна тысяча двести тридцать четыре");
    }

    #[test]
    fn russian_numbers() {
        assert_eq!(j(number(0, Lang::Ru)), "ноль");
        assert_eq!(j(number(11, Lang::Ru)), "одиннадцать");
        assert_eq!(j(number(40, Lang::Ru)), "сорок");
        assert_eq!(j(number(215, Lang::Ru)), "двести пятнадцать");
        assert_eq!(j(number(2001, Lang::Ru)), "две тысячи один");
        assert_eq!(j(number(5_000_000, Lang::Ru)), "пять миллионов");
        assert_eq!(j(number(21_000, Lang::Ru)), "двадцать одна тысяча");
    }

    #[test]
    fn english_numbers() {
        assert_eq!(j(number(0, Lang::En)), "zero");
        assert_eq!(j(number(115, Lang::En)), "one hundred fifteen");
        assert_eq!(j(number(3040, Lang::En)), "three thousand forty");
    }

    #[test]
    fn windows_times_and_amounts() {
        assert_eq!(j(window("3", Lang::Ru)), "три");
        assert_eq!(j(window("12Б", Lang::Ru)), "двенадцать бэ");
        assert_eq!(j(window("Касса 2", Lang::Ru)), "касса два");
        assert_eq!(j(time("14:30", Lang::Ru).unwrap()), "четырнадцать тридцать");
        assert_eq!(j(time("9:05", Lang::Ru).unwrap()), "девять ноль пять");
        assert_eq!(j(time("9:00", Lang::En).unwrap()), "nine o'clock");
        assert!(time("25:00", Lang::Ru).is_none());
        assert_eq!(
            j(amount("1 250,50 ₽", Lang::Ru).unwrap()),
            "одна тысяча двести пятьдесят рублей пятьдесят копеек"
        );
        assert_eq!(j(amount("21 руб.", Lang::Ru).unwrap()), "двадцать один рубль");
        assert_eq!(j(amount("2,01 ₽", Lang::Ru).unwrap()), "два рубля одна копейка");
        assert_eq!(j(amount("$12.5", Lang::En).unwrap()), "twelve dollars and fifty cents");
        assert!(amount("12 parsecs", Lang::En).is_none());
    }

    #[test]
    fn plural_forms() {
        let f = ["талон", "талона", "талонов"];
        assert_eq!(ru_plural(1, f), "талон");
        assert_eq!(ru_plural(3, f), "талона");
        assert_eq!(ru_plural(11, f), "талонов");
        assert_eq!(ru_plural(22, f), "талона");
        assert_eq!(ru_plural(25, f), "талонов");
    }

    #[test]
    fn languages_parse() {
        assert_eq!(Lang::parse("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::parse(""), None);
    }
}
