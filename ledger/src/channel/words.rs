//! Banned words: the built-in list and each streamer's own, matched anywhere in the text after
//! both sides are folded alike:
//! - NFKC (full-width Latin becomes ASCII; half-width and compatibility Hangul jamo become
//!   conjoining jamo, which compose with a following vowel) and every
//!   `Default_Ignorable_Code_Point` removed (zero-width spaces and joiners, variation
//!   selectors, tag characters, soft hyphens, Hangul fillers: what would otherwise hide a
//!   word), by [`crate::text::visible`];
//! - lower case, and every run of whitespace one space (spaces are kept: "출시 발표" must not
//!   read as "시발");
//! - confusables folded by Unicode's skeleton (UTS #39, [`unicode_security::skeleton`]), so a
//!   Cyrillic "с" in "fuсk" hides nothing, character by character, except precomposed Hangul
//!   syllables, which are kept whole: the skeleton decomposes a syllable into jamo and folds a
//!   final consonant like an initial one, so "시발" would be found in "시바라" and "보스" in
//!   "보슨", and characters whose prototype is several ("m" is "rn" to UTS #39: "porn" must not
//!   be found in "pomegranate"). Lower case again after it (its prototypes may be capitals:
//!   "0" becomes "O").
//!
//! This folding is for matching only: what is stored is the text under [`crate::text`]'s rule.

use crate::text::visible;

/// Refused in every channel, whatever its own list.
pub const DEFAULT_BANNED_WORDS: &[&str] = &["씨발", "시발", "병신", "개새끼", "fuck"];

/// A precomposed Hangul syllable (가..힣): kept whole by [`fold`].
fn hangul_syllable(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}')
}

/// The character `c` stands for under Unicode's confusable skeleton (UTS #39) when that is one
/// character, else `c` itself: a character whose skeleton is several ("m" is "rn") stays, or
/// "porn" would be found in "pomegranate".
pub fn prototype(c: char) -> char {
    let mut buf = [0u8; 4];
    let mut skeleton = unicode_security::skeleton(c.encode_utf8(&mut buf));
    match (skeleton.next(), skeleton.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

/// `text` in the form words are compared in.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut push = |c: char| {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    };
    for c in visible(text).chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() || hangul_syllable(c) {
            push(c);
            continue;
        }
        prototype(c).to_lowercase().for_each(&mut push);
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
    fn only_one_for_one_confusables_fold() {
        let own = vec!["porn".to_owned(), "corn".to_owned()];
        assert_eq!(banned_in("pomegranate juice", &own), None);
        assert_eq!(banned_in("visit example.com", &own), None);
        assert_eq!(banned_in("ѕсаm", &["scam".to_owned()]), Some("scam"));
    }

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

    /// The characters of issue 23's attack: each default-ignorable, each passed the old list.
    const ATTACK: &[char] = &[
        '\u{FE0F}',
        '\u{FE00}',
        '\u{180B}',
        '\u{E0020}',
        '\u{1D173}',
        '\u{17B4}',
        '\u{1BCA0}',
    ];

    #[test]
    fn every_invisible_character_of_the_attack_hides_nothing() {
        let tags = ('\u{E0001}'..='\u{E007F}').collect::<Vec<_>>();
        for c in ATTACK.iter().chain(&tags) {
            for (text, word) in [
                (format!("fu{c}ck"), "fuck"),
                (format!("씨{c}발"), "씨발"),
                (format!("f{c}u{c}c{c}k{c}"), "fuck"),
            ] {
                assert_eq!(banned_in(&text, &[]), Some(word), "U+{:04X}", u32::from(*c));
            }
        }
        // A whole run of tag letters spelling something else in between.
        let tagged: String = "fu"
            .chars()
            .chain("\u{E0066}\u{E0075}\u{E007F}".chars())
            .chain("ck".chars())
            .collect();
        assert_eq!(banned_in(&tagged, &[]), Some("fuck"));
    }

    #[test]
    fn every_default_ignorable_code_point_hides_nothing() {
        use icu_properties::CodePointSetData;
        use icu_properties::props::DefaultIgnorableCodePoint;
        let set = CodePointSetData::new::<DefaultIgnorableCodePoint>();
        let mut n = 0;
        for c in set.iter_ranges().flatten().filter_map(char::from_u32) {
            n += 1;
            assert_eq!(
                banned_in(&format!("fu{c}ck"), &[]),
                Some("fuck"),
                "U+{:04X}",
                u32::from(c)
            );
            assert_eq!(
                banned_in(&format!("씨{c}발"), &[]),
                Some("씨발"),
                "U+{:04X}",
                u32::from(c)
            );
            // In the banned word too.
            let own = vec![format!("spoi{c}ler")];
            assert_eq!(
                banned_in("no spoilers", &own),
                Some(own[0].as_str()),
                "U+{:04X}",
                u32::from(c)
            );
        }
        assert!(n > 4_000, "{n}");
    }

    #[test]
    fn confusables_hide_nothing() {
        // Cyrillic с (U+0441) and о; Greek ο; full-width and mathematical letters.
        assert_eq!(banned_in("fu\u{0441}k", &[]), Some("fuck"));
        assert_eq!(banned_in("𝐟𝐮𝐜𝐤", &[]), Some("fuck"));
        let own = vec!["boss".to_owned()];
        assert_eq!(banned_in("b\u{043E}ss", &own), Some("boss"));
        assert_eq!(banned_in("b\u{03BF}ss", &own), Some("boss"));
        // UTS #39 folds the digit zero with the capital O, and then lower case with o.
        assert_eq!(banned_in("B0SS", &own), Some("boss"));
        // A banned word written with confusables is found in plain text.
        assert_eq!(
            banned_in("the boss", &["b\u{043E}ss".to_owned()]),
            Some("b\u{043E}ss")
        );
    }

    #[test]
    fn hangul_syllables_are_matched_whole() {
        // The skeleton of a syllable is its jamo, a final consonant folded like an initial one:
        // these would match if syllables were folded.
        assert_eq!(banned_in("시바라", &[]), None);
        assert_eq!(banned_in("보슨", &["보스".to_owned()]), None);
        assert_eq!(banned_in("씨앗", &["시".to_owned()]), None);
        assert_eq!(banned_in("출시 발표", &[]), None);
        assert_eq!(banned_in("출시\u{200B} 발표", &[]), None);
        // Compatibility jamo still compose into the syllable they spell.
        assert_eq!(banned_in("ㅆㅣ발", &[]), Some("씨발"));
    }
}
