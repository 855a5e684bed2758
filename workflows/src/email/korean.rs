//! Korean particles chosen by the word they follow: 이/가 and 을/를 after a final consonant
//! (받침) or not. A Hangul syllable says so itself (U+AC00 + 28·n has none); a digit by how
//! it is read (영, 일, 삼, 육, 칠, 팔, 십 end in one; 이, 사, 오, 구 do not). A Latin word is read
//! as Korean borrows it, which its last letter decides only sometimes: `l`, `m`, `n` and `ng`
//! end in ㄹ, ㅁ, ㄴ, ㅇ ("Level" 레벨, "Game"'s `e` aside); `a`, `i`, `o`, `u`, `y` end in a
//! vowel ("Pizza" 피자, "Solo" 솔로, "Play" 플레이). Any other ending can go either way ("Chat"
//! 챗 but "Boat" 보트; "Game" 게임 but "Code" 코드), and then both forms are written, `이(가)`, as
//! Korean print does. Quotes, brackets and punctuation after the word are looked through, so
//! `"보스 잡기"` takes 를.
//!
//! The crates that do this (`josa`, `hangeul`) answer only for a word that ends in a Hangul
//! syllable; titles here often end in Latin letters or digits, so the rule is written here.

/// Whether the word ending `text` ends in a final consonant as it is read, if that is known.
pub fn final_consonant(text: &str) -> Option<bool> {
    let mut chars = text
        .chars()
        .rev()
        .skip_while(|c| !c.is_alphanumeric())
        .peekable();
    let last = chars.next()?;
    match last {
        '가'..='힣' => Some((u32::from(last) - 0xAC00) % 28 != 0),
        '0' | '1' | '3' | '6' | '7' | '8' => Some(true),
        '2' | '4' | '5' | '9' => Some(false),
        c if c.is_ascii_alphabetic() => match c.to_ascii_lowercase() {
            'l' | 'm' | 'n' => Some(true),
            'g' if chars.peek().is_some_and(|p| p.eq_ignore_ascii_case(&'n')) => Some(true),
            'a' | 'i' | 'o' | 'u' | 'y' => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `with` after a final consonant, `without` after a vowel, both (`with(without)`) when the
/// ending does not say.
fn particle(text: &str, with: &'static str, without: &'static str) -> String {
    match final_consonant(text) {
        Some(true) => with.to_owned(),
        Some(false) => without.to_owned(),
        None => format!("{with}({without})"),
    }
}

/// The subject particle for `text`: 이, 가, or 이(가).
pub fn i_ga(text: &str) -> String {
    particle(text, "이", "가")
}

/// The object particle for `text`: 을, 를, or 을(를).
pub fn eul_reul(text: &str) -> String {
    particle(text, "을", "를")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particles_follow_the_last_syllable_as_read() {
        for (word, subject, object) in [
            ("\"보스 잡기\"", "가", "를"),
            ("\"노힐 클리어\"", "가", "를"),
            ("\"1시간 방송\"", "이", "을"),
            ("\"마라톤\"", "이", "을"),
            ("\"Speedrun\"", "이", "을"),
            ("\"Level 10\"", "이", "을"),
            ("\"Top 5\"", "가", "를"),
            ("\"Ring\"", "이", "을"),
            ("\"Hill\"", "이", "을"),
            ("\"Solo\"", "가", "를"),
            ("\"Play\"", "가", "를"),
            // The ending does not say: both forms.
            ("\"Beat the boss\"", "이(가)", "을(를)"),
            ("\"Chat\"", "이(가)", "을(를)"),
            ("\"Top\"", "이(가)", "을(를)"),
            ("\"Book\"", "이(가)", "을(를)"),
            ("\"Game\"", "이(가)", "을(를)"),
            ("", "이(가)", "을(를)"),
        ] {
            assert_eq!(i_ga(word), subject, "{word}");
            assert_eq!(eul_reul(word), object, "{word}");
        }
    }
}
