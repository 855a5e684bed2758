//! One message as both transports send it: the file transport writes it, SES sends it raw. An
//! RFC 5322 document whose body is `multipart/alternative`: the text as `text/plain`, and the
//! same text as `text/html` (its paragraphs, its links clickable), both UTF-8.
//!
//! In a file a part is 8-bit text, so the `.eml` file reads as the message does, unless one of
//! its lines is longer than RFC 5322's 998 octets (a long note in Korean can be): then that
//! part is quoted-printable. To SES a part that is not ASCII is quoted-printable: 7-bit on the
//! wire, as SES asks of raw messages. Never base64. Line breaks are CRLF whatever the text held
//! (a lone CR in a note is a line break too). Header text that is not ASCII is RFC 2047-encoded,
//! and of the sender only its display name. The HTML part links only the URLs the message
//! names as its own ([`Email::links`]).

use super::Email;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// RFC 5322's limit on a line, in octets, without its CRLF.
const MAX_LINE_OCTETS: usize = 998;

/// How a body may travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// As written where it fits (a file).
    EightBit,
    /// ASCII on the wire (SES).
    SevenBit,
}

/// The whole message from `from`, dated `date`, its parts as `body` allows.
pub fn document(
    from: &str,
    email: &Email,
    date: chrono::DateTime<chrono::Utc>,
    body: Body,
) -> String {
    let text = email.text.replace("\r\n", "\n").replace('\r', "\n");
    let html = html(&email.subject, &text, &email.links);
    // A boundary that is in neither part (a random one, checked).
    let boundary = loop {
        let b = format!("=_ml_{}", uuid::Uuid::new_v4().simple());
        if !text.contains(&b) && !html.contains(&b) {
            break b;
        }
    };
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{key}@missionlink>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\n{text}--{boundary}\r\n{html}--{boundary}--\r\n",
        from = encode_sender(from),
        to = email.to,
        subject = encode_header(&email.subject),
        date = date.to_rfc2822(),
        key = email.key,
        text = part("text/plain", &text, body),
        html = part("text/html", &html, body),
    )
}

/// One part, its headers and body, each line ending in CRLF.
fn part(content_type: &str, body: &str, travel: Body) -> String {
    let crlf = |s: &str| {
        let mut out: String = s.lines().flat_map(|l| [l, "\r\n"]).collect();
        if out.is_empty() {
            out.push_str("\r\n");
        }
        out
    };
    let fits = match travel {
        Body::EightBit => body.lines().all(|l| l.len() <= MAX_LINE_OCTETS),
        Body::SevenBit => body.is_ascii() && body.lines().all(|l| l.len() <= MAX_LINE_OCTETS),
    };
    let (encoding, body) = if fits {
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
/// each of `links` clickable where it is written, everything else escaped.
pub fn html(subject: &str, text: &str, links: &[String]) -> String {
    let mut paragraphs = Vec::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let lines: Vec<String> = block.lines().map(|l| linked(l, links)).collect();
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

/// One line, escaped, with each word that is one of `links` a link (a full stop, comma or
/// closing bracket right after it stays text).
fn linked(line: &str, links: &[String]) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let start = word.find("https://").or_else(|| word.find("http://"));
        let url = start.map(|at| word[at..].trim_end_matches(['.', ',', ')', ']', '"', '\'']));
        match (start, url) {
            (Some(at), Some(url)) if links.iter().any(|l| l == url) => {
                let before = &word[..at];
                let rest = &word[at..];
                let after = &rest[url.len()..];
                out.push_str(&html_escape::encode_text(before));
                out.push_str(&format!(
                    "<a href=\"{}\">{}</a>",
                    html_escape::encode_double_quoted_attribute(url),
                    html_escape::encode_text(url)
                ));
                out.push_str(&html_escape::encode_text(after));
            }
            _ => out.push_str(&html_escape::encode_text(word)),
        }
    }
    out
}

/// The sender, `Name <address>` or an address: only the name is RFC 2047-encoded, so the
/// address stays readable to every mail server.
fn encode_sender(from: &str) -> String {
    match from.rsplit_once('<') {
        Some((name, address)) if !name.trim().is_empty() => {
            format!("{} <{address}", encode_header(name.trim()))
        }
        _ => encode_header(from),
    }
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

    const PAGE: &str = "https://api.example.com/missions/m1";

    fn email(text: &str) -> Email {
        Email {
            key: "m-BACKER-u".into(),
            to: "fan@example.com".into(),
            subject: "[MissionLink] \"보스\" 미션 성공".into(),
            text: text.into(),
            links: vec![PAGE.into()],
        }
    }

    fn doc(text: &str, body: Body) -> String {
        document(
            "미션링크 <no-reply@missionlink.local>",
            &email(text),
            chrono::Utc::now(),
            body,
        )
    }

    #[test]
    fn in_a_file_the_text_reads_as_written_and_only_the_messages_own_links_are_links() {
        let doc = doc(
            "민수님, 안녕하세요.\r\n\n보기: https://api.example.com/missions/m1.\n\
             제목: https://evil.example/ 가\r메모",
            Body::EightBit,
        );
        assert!(doc.contains("Content-Type: multipart/alternative; boundary="));
        assert!(!doc.contains("base64"), "{doc}");
        assert!(doc.contains("Content-Transfer-Encoding: 8bit\r\n\r\n민수님, 안녕하세요.\r\n"));
        assert!(doc.contains(&format!("<a href=\"{PAGE}\">{PAGE}</a>.")));
        assert!(!doc.contains("<a href=\"https://evil.example/\""), "{doc}");
        // A lone CR is a line break, never a bare CR on the wire.
        assert!(doc.contains("가\r\n메모"), "{doc}");
        assert!(!doc.replace("\r\n", "").contains('\r'));
        assert!(doc.contains("Subject: =?UTF-8?B?"));
        assert!(doc.contains("From: =?UTF-8?B?"));
        assert!(doc.contains("?= <no-reply@missionlink.local>\r\n"), "{doc}");
    }

    #[test]
    fn to_ses_every_part_is_seven_bit_and_decodes_back() {
        let text = format!("<b>hi</b>\n{}\n민수님", "가".repeat(400));
        let doc = doc(&text, Body::SevenBit);
        assert!(doc.is_ascii());
        let (_, rest) = doc
            .split_once("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
            .expect("qp");
        let encoded = &rest[..rest.find("--=_ml_").expect("boundary")];
        let decoded =
            quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict).expect("qp");
        assert!(encoded.lines().all(|l| l.len() <= 76), "{encoded}");
        assert_eq!(
            String::from_utf8(decoded).expect("utf8"),
            text.replace('\n', "\r\n") + "\r\n"
        );
    }
}
