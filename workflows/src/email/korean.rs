//! Korean particles chosen by the word they follow: 이/가 and 을/를 after a final consonant
//! (받침) or not. A Hangul syllable says so itself (U+AC00 + 28·n has none); a digit by how
//! it is read (영, 일, 삼, 육, 칠, 팔, 십 end in one; 이, 사, 오, 구 do not); a Latin letter
//! by how English words ending in it are usually read in Korean (`l`, `m`, `n` end in ㄹ, ㅁ,
//! ㄴ, and so does `ng`; a word ending in another letter is read with a vowel: "Boss" 보스,
//! "Game" 게임 aside). Quotes, brackets and punctuation after the word are looked through, so
//! `"보스 잡기"` takes 를 and `"Beat the boss"` takes 를.
//!
//! The crates that do this (`josa`, `hangeul`) answer only for a word that ends in a Hangul
//! syllable; titles here often end in Latin letters or digits, so the rule is written here.

/// Whether the word ending `text` ends in a final consonant, as it is read.
pub fn has_final_consonant(text: &str) -> bool {
    let mut chars = text
        .chars()
        .rev()
        .skip_while(|c| !c.is_alphanumeric())
        .peekable();
    let Some(last) = chars.next() else {
        return false;
    };
    match last {
        '가'..='힣' => (u32::from(last) - 0xAC00) % 28 != 0,
        '0' | '1' | '3' | '6' | '7' | '8' => true,
        '2' | '4' | '5' | '9' => false,
        c if c.is_ascii_alphabetic() => match c.to_ascii_lowercase() {
            'l' | 'm' | 'n' => true,
            'g' => chars.peek().is_some_and(|p| p.eq_ignore_ascii_case(&'n')),
            _ => false,
        },
        _ => false,
    }
}

/// The subject particle for `text`: 이 after a final consonant, else 가.
pub fn i_ga(text: &str) -> &'static str {
    if has_final_consonant(text) {
        "이"
    } else {
        "가"
    }
}

/// The object particle for `text`: 을 after a final consonant, else 를.
pub fn eul_reul(text: &str) -> &'static str {
    if has_final_consonant(text) {
        "을"
    } else {
        "를"
    }
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
            ("\"Beat the boss\"", "가", "를"),
            ("\"Speedrun\"", "이", "을"),
            ("\"Level 10\"", "이", "을"),
            ("\"Top 5\"", "가", "를"),
            ("\"Ring\"", "이", "을"),
            ("\"Hill\"", "이", "을"),
            ("", "가", "를"),
        ] {
            assert_eq!(i_ga(word), subject, "{word}");
            assert_eq!(eul_reul(word), object, "{word}");
        }
    }
}
