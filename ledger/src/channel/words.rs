//! Banned words: the built-in list and each streamer's own, matched case- and
//! width-insensitively (NFKC folds full-width Latin and half-width Hangul into their usual
//! forms, then lower case), anywhere in the text, spaces ignored.

use unicode_normalization::UnicodeNormalization;

/// Refused in every channel, whatever its own list.
pub const DEFAULT_BANNED_WORDS: &[&str] = &["씨발", "시발", "병신", "개새끼", "fuck"];

/// `text` in the form words are compared in.
pub fn fold(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect()
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
    fn matching_ignores_case_width_and_spaces() {
        let own = vec!["Spoiler".to_owned(), "보스".to_owned()];
        assert_eq!(banned_in("no SPOILERS please", &own), Some("Spoiler"));
        assert_eq!(banned_in("ｓｐｏｉｌｅｒ alert", &own), Some("Spoiler"));
        assert_eq!(banned_in("보 스 잡아", &own), Some("보스"));
        assert_eq!(banned_in("씨 발", &[]), Some("씨발"));
        assert_eq!(banned_in("good luck", &own), None);
    }

    #[test]
    fn half_width_hangul_folds_to_its_usual_form() {
        // U+FFA1 HALFWIDTH HANGUL LETTER KIYEOK is ㄱ (U+3131) once folded.
        assert_eq!(fold("\u{FFA1}"), "\u{3131}");
        assert_eq!(
            banned_in("\u{FFA1}\u{FFA1}", &["ㄱㄱ".to_owned()]),
            Some("ㄱㄱ")
        );
    }
}
