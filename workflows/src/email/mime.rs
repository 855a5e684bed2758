//! One message as both transports send it: the file transport writes it, SES sends it raw. An
//! RFC 5322 document whose body is `multipart/alternative`: the text as `text/plain`, and the
//! same text as `text/html` (its paragraphs, its links clickable), both UTF-8.
//!
//! A part travels as 8-bit text, so the `.eml` file reads as the message does, unless one of
//! its lines is longer than RFC 5322's 998 octets (a long note in Korean can be): then that
//! part is quoted-printable. Never base64. Header text that is not ASCII is RFC 2047-encoded.

use super::Email;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// RFC 5322's limit on a line, in octets, without its CRLF.
const MAX_LINE_OCTETS: usize = 998;

/// The whole message from `from`, dated `date`.
pub fn document(from: &str, email: &Email, date: chrono::DateTime<chrono::Utc>) -> String {
    let html = html(&email.subject, &email.text);
    // A boundary that is in neither part (a random one, checked).
    let boundary = loop {
        let b = format!("=_ml_{}", uuid::Uuid::new_v4().simple());
        if !email.text.contains(&b) && !html.contains(&b) {
            break b;
        }
    };
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{key}@missionlink>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\n{text}--{boundary}\r\n{html}--{boundary}--\r\n",
        from = encode_header(from),
        to = email.to,
        subject = encode_header(&email.subject),
        date = date.to_rfc2822(),
        key = email.key,
        text = part("text/plain", &email.text),
        html = part("text/html", &html),
    )
}

/// One part, its headers and body, each line ending in CRLF.
fn part(content_type: &str, body: &str) -> String {
    let crlf = |s: &str| {
        let mut out: String = s.lines().flat_map(|l| [l, "\r\n"]).collect();
        if out.is_empty() {
            out.push_str("\r\n");
        }
        out
    };
    let (encoding, body) = if body.lines().all(|l| l.len() <= MAX_LINE_OCTETS) {
        ("8bit", crlf(body))
    } else {
        let encoded = quoted_printable::encode_to_str(body.replace('\n', "\r\n"));
        ("quoted-printable", crlf(&encoded))
    };
    format!(
        "Content-Type: {content_type}; charset=UTF-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    )
}

/// The text as a small HTML page: a paragraph per block of lines (lines within it kept apart),
/// `http(s)` links clickable, everything else escaped.
pub fn html(subject: &str, text: &str) -> String {
    let mut paragraphs = Vec::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let lines: Vec<String> = block.lines().map(linked).collect();
        paragraphs.push(format!("<p>{}</p>", lines.join("<br>\n")));
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5; max-width: 40em\">\n{body}\n\
         </body></html>\n",
        title = html_escape::encode_text(subject),
        body = paragraphs.join("\n"),
    )
}

/// One line, escaped, with each `http://` or `https://` word a link (a full stop, comma or
/// closing bracket right after it stays text).
fn linked(line: &str) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let start = word.find("https://").or_else(|| word.find("http://"));
        match start {
            Some(at) => {
                let (before, rest) = word.split_at(at);
                let url = rest.trim_end_matches(['.', ',', ')', ']', '"', '\'']);
                let after = &rest[url.len()..];
                out.push_str(&html_escape::encode_text(before));
                out.push_str(&format!(
                    "<a href=\"{}\">{}</a>",
                    html_escape::encode_double_quoted_attribute(url),
                    html_escape::encode_text(url)
                ));
                out.push_str(&html_escape::encode_text(after));
            }
            None => out.push_str(&html_escape::encode_text(word)),
        }
    }
    out
}

/// RFC 2047 `B` encoding for header text that is not plain ASCII.
fn encode_header(text: &str) -> String {
    if text.is_ascii() && !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    format!("=?UTF-8?B?{}?=", STANDARD.encode(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(text: &str) -> Email {
        Email {
            key: "m-BACKER-u".into(),
            to: "fan@example.com".into(),
            subject: "[MissionLink] \"보스\" 미션 성공".into(),
            text: text.into(),
        }
    }

    #[test]
    fn the_text_part_reads_as_written_and_the_html_part_links() {
        let doc = document(
            "MissionLink <no-reply@missionlink.local>",
            &email("민수님, 안녕하세요.\n\n보기: https://api.example.com/missions/m1.\n"),
            chrono::Utc::now(),
        );
        assert!(doc.contains("Content-Type: multipart/alternative; boundary="));
        assert!(!doc.contains("base64"), "{doc}");
        assert!(doc.contains("Content-Transfer-Encoding: 8bit\r\n\r\n민수님, 안녕하세요.\r\n"));
        assert!(doc.contains(
            "<a href=\"https://api.example.com/missions/m1\">https://api.example.com/missions/m1</a>."
        ));
        assert!(doc.contains("Subject: =?UTF-8?B?"));
    }

    #[test]
    fn a_line_too_long_for_8_bit_is_quoted_printable_and_markup_is_escaped() {
        let long = "가".repeat(400); // 1,200 octets
        let doc = document(
            "no-reply@missionlink.local",
            &email(&format!("<b>hi</b>\n{long}")),
            chrono::Utc::now(),
        );
        assert!(doc.contains("Content-Transfer-Encoding: quoted-printable"));
        assert!(doc.lines().all(|l| l.len() <= MAX_LINE_OCTETS));
        assert!(doc.contains("&lt;b&gt;hi&lt;/b&gt;"));
    }
}
