//! The one text rule: every piece of user text that others read (mission titles and
//! descriptions, pledge messages, display names, payout holder names, banned words) is checked
//! and stored by [`required`] or [`optional`], and nothing else decides what such text may be.
//!
//! The rule, in order:
//! 1. NFKC: full-width Latin becomes ASCII, compatibility forms their usual ones.
//! 2. Direction controls are refused, not removed: the Unicode property `Bidi_Control`
//!    (U+061C ALM, U+200E LRM, U+200F RLM, U+202A–U+202E embeddings and overrides,
//!    U+2066–U+2069 isolates). An override makes an overlay show text other than what was
//!    written (`Boss \u{202E}kcuf` reads as a banned word reversed); the marks only reorder
//!    neutral characters, which nobody needs in a title or a name. They are themselves
//!    default-ignorable, so they are looked for before step 4 would drop them.
//! 3. Control characters (`Cc`) are refused; a multi-line field ([`Lines::Many`], the
//!    description) keeps line breaks and tabs.
//! 4. Every `Default_Ignorable_Code_Point` is removed (zero-width spaces and joiners, variation
//!    selectors, tag characters, Hangul fillers, soft hyphens, ...): characters that show nothing
//!    and would otherwise hide a word or make a name look empty. The set is Unicode's, from
//!    ICU4X's tables ([`icu_properties`]), not a list kept here. NFKC again afterwards, so
//!    jamo that an invisible character kept apart compose.
//! 5. Trimmed; text that is empty now (only invisible characters and spaces) is refused.
//! 6. The length limit applies to this form, which is what is stored.
//!
//! Refusals are [`LedgerError::InvalidInput`] (`BAD_USER_INPUT`) naming the field and the rule.
//! Banned-word matching folds further (case, spaces, confusables): `channel::words`.

use crate::LedgerError;
use icu_properties::CodePointSetData;
use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint};
use unicode_normalization::UnicodeNormalization;

/// Whether a field may hold more than one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Titles, messages, names, words: no control character at all.
    One,
    /// Descriptions: line breaks (`\n`, `\r`) and tabs allowed.
    Many,
}

/// What the refusal of a direction control says (the field's name goes before it).
pub const DIRECTION_RULE: &str = "must not contain direction controls (U+202A–U+202E, \
     U+2066–U+2069, U+200E, U+200F, U+061C): they make text show other than it was written";

/// Unicode's `Default_Ignorable_Code_Point`: a character that shows nothing.
pub fn is_default_ignorable(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// Unicode's `Bidi_Control`: the direction overrides, embeddings, isolates and marks.
pub fn is_direction_control(c: char) -> bool {
    CodePointSetData::new::<BidiControl>().contains(c)
}

/// Steps 1 and 4 only, refusing nothing: NFKC with every default-ignorable character removed
/// (direction controls too). What banned-word matching folds from.
pub fn visible(text: &str) -> String {
    let kept: String = text.nfkc().filter(|c| !is_default_ignorable(*c)).collect();
    // Removing a character can leave composable neighbours (ᄉ U+FE0F ᅵ); composition yields
    // no default-ignorable character, so one more pass is final.
    kept.nfkc().collect()
}

/// `raw` as stored under the rule, or refused: `field` names it in the error.
pub fn required(
    field: &str,
    raw: &str,
    max_chars: usize,
    lines: Lines,
) -> Result<String, LedgerError> {
    let normal: String = raw.nfkc().collect();
    if normal.chars().any(is_direction_control) {
        return Err(invalid(field, format!("{field} {DIRECTION_RULE}")));
    }
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    if normal.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(invalid(
            field,
            match lines {
                Lines::One => format!("{field} must not contain control characters or line breaks"),
                Lines::Many => format!(
                    "{field} must not contain control characters other than line breaks and tabs"
                ),
            },
        ));
    }
    let stored = visible(&normal).trim().to_owned();
    if stored.is_empty() {
        return Err(invalid(
            field,
            format!(
                "{field} must have a visible character: it is empty once invisible characters \
             (zero-width spaces, joiners, fillers, variation selectors, tags) are removed"
            ),
        ));
    }
    let n = stored.chars().count();
    if n > max_chars {
        return Err(invalid(
            field,
            format!("{field} must be at most {max_chars} characters (it has {n})"),
        ));
    }
    Ok(stored)
}

/// An optional field: `None` when absent or only whitespace (as leaving it out), otherwise
/// [`required`]: text of only invisible characters is refused, not taken for none.
pub fn optional(
    field: &str,
    raw: Option<&str>,
    max_chars: usize,
    lines: Lines,
) -> Result<Option<String>, LedgerError> {
    match raw {
        Some(text) if !text.trim().is_empty() => required(field, text, max_chars, lines).map(Some),
        _ => Ok(None),
    }
}

fn invalid(field: &str, message: String) -> LedgerError {
    LedgerError::invalid(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(r: Result<String, LedgerError>) -> String {
        match r {
            Err(LedgerError::InvalidInput(m)) => m.to_string(),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    /// Every default-ignorable code point, from the crate's own set.
    fn every_ignorable() -> Vec<char> {
        CodePointSetData::new::<DefaultIgnorableCodePoint>()
            .iter_ranges()
            .flatten()
            .filter_map(char::from_u32)
            .collect()
    }

    #[test]
    fn the_property_is_unicodes_set() {
        let all = every_ignorable();
        // Over four thousand (most reserved, in U+E0000..U+E0FFF); a hand-written list had
        // a few dozen.
        assert!(all.len() > 4_000, "{}", all.len());
        for c in [
            '\u{FE0F}',
            '\u{FE00}',
            '\u{180B}',
            '\u{E0020}',
            '\u{E0001}',
            '\u{E007F}',
            '\u{1D173}',
            '\u{17B4}',
            '\u{1BCA0}',
            '\u{200B}',
            '\u{00AD}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{115F}',
        ] {
            assert!(is_default_ignorable(c), "U+{:04X}", u32::from(c));
        }
        assert!(!is_default_ignorable('a') && !is_default_ignorable('가'));
        let bidi: Vec<char> = ('\0'..=char::MAX)
            .filter(|c| is_direction_control(*c))
            .collect();
        let mut expected: Vec<char> = ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{061C}', '\u{200E}', '\u{200F}'])
            .collect();
        expected.sort_unstable();
        assert_eq!(bidi, expected);
    }

    #[test]
    fn every_ignorable_code_point_is_removed_from_what_is_stored() {
        for c in every_ignorable() {
            let raw = format!("fu{c}ck");
            if is_direction_control(c) {
                assert!(required("title", &raw, 100, Lines::One).is_err());
            } else {
                assert_eq!(
                    required("title", &raw, 100, Lines::One).expect("accepted"),
                    "fuck",
                    "U+{:04X}",
                    u32::from(c)
                );
            }
            assert_eq!(visible(&raw), "fuck", "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn direction_controls_are_refused_by_name() {
        for c in [
            '\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let m = refusal(required("title", &format!("Boss {c}kcuf"), 100, Lines::One));
            assert!(
                m.starts_with("title must not contain direction controls"),
                "{m}"
            );
        }
        // Refused in a description too, even beside a line break.
        assert!(required("description", "a\n\u{202E}b", 100, Lines::Many).is_err());
    }

    #[test]
    fn control_characters_are_refused_but_descriptions_keep_their_lines() {
        assert!(required("title", "a\nb", 100, Lines::One).is_err());
        assert!(required("title", "a\u{7}b", 100, Lines::One).is_err());
        assert_eq!(
            required("description", " line\r\none\tand two \n", 100, Lines::Many).expect("ok"),
            "line\r\none\tand two"
        );
        assert!(required("description", "a\u{1B}[2Jb", 100, Lines::Many).is_err());
    }

    #[test]
    fn invisible_only_text_is_refused() {
        for raw in [
            "\u{200B}",
            "\u{200B}\u{200B} \u{FEFF}",
            "\u{3164}",
            "\u{E0020}\u{FE0F}",
        ] {
            let m = refusal(required("displayName", raw, 50, Lines::One));
            assert!(m.contains("invisible"), "{m}");
        }
        assert_eq!(
            optional("message", Some("   "), 100, Lines::One).expect("ok"),
            None
        );
        assert_eq!(
            optional("message", None, 100, Lines::One).expect("ok"),
            None
        );
        assert!(optional("message", Some("\u{200B}"), 100, Lines::One).is_err());
    }

    #[test]
    fn stored_form_is_nfkc_without_ignorables_trimmed_and_measured_after() {
        assert_eq!(
            required("title", "  ＢＯＳＳ\u{200B} 잡기  ", 100, Lines::One).expect("ok"),
            "BOSS 잡기"
        );
        // Jamo an invisible character kept apart compose once it is gone.
        assert_eq!(
            required("title", "\u{1109}\u{FE0F}\u{1175}", 100, Lines::One).expect("ok"),
            "시"
        );
        // The limit counts what is stored: 100 letters with invisible characters between them
        // fit a 100-character title; 101 do not.
        let padded: String = "a"
            .repeat(100)
            .chars()
            .flat_map(|c| [c, '\u{200B}'])
            .collect();
        assert_eq!(
            required("title", &padded, 100, Lines::One).expect("ok"),
            "a".repeat(100)
        );
        let m = refusal(required("title", &"a".repeat(101), 100, Lines::One));
        assert!(m.contains("at most 100"), "{m}");
    }
}
