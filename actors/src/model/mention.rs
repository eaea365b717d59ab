//! `@login` in a staff note: the colleagues it calls. A mention starts a word (at the start or
//! after a space or an opening mark, so an e-mail address is no mention) and runs over a login's
//! characters; a full stop or a comma after it ends the sentence, not the login.

/// The logins a text mentions, in order, each once (lower-cased, as logins are compared).
pub fn logins(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' {
            continue;
        }
        let starts_word = i == 0 || chars[i - 1].is_whitespace() || "([{«\"'".contains(chars[i - 1]);
        if !starts_word {
            continue;
        }
        let login: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect();
        let login = login.trim_end_matches(['.', '-', '_']).to_lowercase();
        if !login.is_empty() && login.chars().count() <= 64 && !out.contains(&login) {
            out.push(login);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::logins;

    #[test]
    fn mentions_start_a_word_and_end_before_punctuation() {
        assert_eq!(
            logins("@operator2, посмотри. И ты, @Supervisor."),
            ["operator2", "supervisor"]
        );
        assert_eq!(logins("(@ivan.petrov) и «@anna»"), ["ivan.petrov", "anna"]);
        assert_eq!(logins("пишите на help@romashka.example"), Vec::<String>::new());
        assert_eq!(logins("@anna @anna @ANNA"), ["anna"]);
        assert_eq!(logins("@ одиноко, @-"), Vec::<String>::new());
        assert_eq!(logins("конец строки @op_1\nи @op-2"), ["op_1", "op-2"]);
    }
}
