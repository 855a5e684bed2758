//! Banned words: the built-in list and each streamer's own, matched case- and
//! width-insensitively anywhere in the text. Both sides are folded alike: NFKC (full-width Latin
//! becomes ASCII; half-width and compatibility Hangul jamo become conjoining jamo, which compose
//! with a following vowel), lower case, invisible characters dropped (zero-width spaces and
//! joiners, soft hyphens, Hangul fillers: what would otherwise hide a word), and every run of
//! whitespace one space (spaces are kept: "출시 발표" must not read as "시발").

use unicode_normalization::UnicodeNormalization;

/// Refused in every channel, whatever its own list.
pub const DEFAULT_BANNED_WORDS: &[&str] = &["씨발", "시발", "병신", "개새끼", "fuck"];

/// Characters that show nothing: dropped before comparing.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
    )
}

/// `text` in the form words are compared in.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim_end().to_owned()
}

/// The first banned word (the built-in ones, then `own`) that `text` contains, as listed.
pub fn banned_in<'a>(text: &str, own: &'a [String]) -> Option<&'a str> {
    let folded = fold(text);
    DEFAULT_BANNED_WORDS
        .iter()
        .copied()
        .chain(own.iter().map(String::as_str))
        .find(|word| {
            let word = fold(word);
            !word.is_empty() && folded.contains(&word)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_and_width() {
        let own = vec!["Spoiler".to_owned(), "보스".to_owned()];
        assert_eq!(banned_in("no SPOILERS please", &own), Some("Spoiler"));
        assert_eq!(banned_in("ｓｐｏｉｌｅｒ alert", &own), Some("Spoiler"));
        assert_eq!(banned_in("보스잡아", &own), Some("보스"));
        assert_eq!(banned_in("good luck", &own), None);
    }

    #[test]
    fn invisible_characters_hide_nothing_and_spaces_join_nothing() {
        assert_eq!(banned_in("씨\u{200B}발", &[]), Some("씨발"));
        assert_eq!(banned_in("씨\u{3164}발", &[]), Some("씨발"));
        assert_eq!(banned_in("fu\u{00AD}ck", &[]), Some("fuck"));
        assert_eq!(banned_in("출시 발표", &[]), None);
        assert_eq!(
            banned_in("no   spoilers", &["no spoilers".to_owned()]),
            Some("no spoilers")
        );
    }

    #[test]
    fn half_width_hangul_folds_like_its_usual_form() {
        // U+FFA1 HALFWIDTH HANGUL LETTER KIYEOK and U+3131 ㄱ fold to the same jamo.
        assert_eq!(fold("\u{FFA1}"), fold("\u{3131}"));
        assert_eq!(
            banned_in("\u{FFA1}\u{FFA1}", &["ㄱㄱ".to_owned()]),
            Some("ㄱㄱ")
        );
    }
}
