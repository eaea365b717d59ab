//! Which files may be attached to a conversation. The type is read from the content, not taken
//! from the name or the declared type: a script renamed `photo.png` is refused.

/// Largest attachment accepted.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// Longest file name kept.
const MAX_NAME: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("this kind of file is not accepted: send an image (PNG, JPEG, GIF, WebP), a PDF, plain text, a voice message or a video note")]
    ForbiddenType,
}

impl AttachmentError {
    /// A stable name for the reason, with what the sentence needs, so a page says it in its
    /// own language.
    pub fn reason(&self) -> (&'static str, serde_json::Value) {
        match self {
            Self::Empty => ("file_empty", serde_json::Value::Null),
            Self::TooLarge => ("file_too_large", serde_json::json!({ "mb": MAX_BYTES / 1024 / 1024 })),
            Self::ForbiddenType => ("file_type", serde_json::Value::Null),
        }
    }
}

/// The type of an acceptable file, from its first bytes; plain text must be UTF-8 without
/// control characters other than whitespace (and so cannot be an executable or HTML sniffed
/// as something else: it is always served as `text/plain` with `nosniff`).
pub fn classify(data: &[u8]) -> Result<&'static str, AttachmentError> {
    if data.is_empty() {
        return Err(AttachmentError::Empty);
    }
    if data.len() > MAX_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let starts = |magic: &[u8]| data.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Ok("image/png");
    }
    if starts(b"\xff\xd8\xff") {
        return Ok("image/jpeg");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Ok("image/gif");
    }
    if data.len() >= 12 && starts(b"RIFF") && &data[8..12] == b"WEBP" {
        return Ok("image/webp");
    }
    if starts(b"%PDF-") {
        return Ok("application/pdf");
    }
    // Voice messages (Ogg/Opus) and round video notes (MP4), as messengers send them.
    if starts(b"OggS") {
        return Ok("audio/ogg");
    }
    // Browsers' recordings (MediaRecorder): WebM, audio unless its tracks say video.
    if starts(b"\x1a\x45\xdf\xa3") {
        let head = &data[..data.len().min(4096)];
        let has = |codec: &[u8]| head.windows(codec.len()).any(|w| w == codec);
        return Ok(if has(b"V_VP8") || has(b"V_VP9") || has(b"V_AV1") || has(b"V_MPEG4") {
            "video/webm"
        } else {
            "audio/webm"
        });
    }
    // Voice messages recorded in the web-chat widget.
    if data.len() >= 12 && starts(b"RIFF") && &data[8..12] == b"WAVE" {
        return Ok("audio/wav");
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        return Ok("video/mp4");
    }
    match std::str::from_utf8(data) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) && !looks_like_markup(text) => {
            Ok("text/plain; charset=utf-8")
        }
        _ => Err(AttachmentError::ForbiddenType),
    }
}

/// HTML or SVG sent as "text" would be dangerous if anyone ever served it as markup.
fn looks_like_markup(text: &str) -> bool {
    let head: String = text
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype")
        || head.starts_with("<html")
        || head.starts_with("<svg")
        || head.starts_with("<?xml")
        || head.starts_with("<script")
}

/// A file name safe to store and to put in a `Content-Disposition` header: no path, no
/// control characters, no quotes, bounded length.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | ';'))
        .take(MAX_NAME)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// The `Content-Disposition` of a download (RFC 6266): an ASCII `filename` for old clients and
/// `filename*=UTF-8''…` (RFC 8187) with the whole name, so "счёт №5.pdf" downloads as itself.
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%' | ';') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if fallback == name {
        return format!("{disposition}; filename=\"{fallback}\"");
    }
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 8187 attr-char: the rest is percent-encoded, byte by byte.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_keep_names_in_any_script() {
        assert_eq!(
            content_disposition("attachment", "act 5.pdf"),
            "attachment; filename=\"act 5.pdf\""
        );
        assert_eq!(
            content_disposition("attachment", "счёт №5.pdf"),
            "attachment; filename=\"____ _5.pdf\"; filename*=UTF-8''%D1%81%D1%87%D1%91%D1%82%20%E2%84%965.pdf"
        );
        // Characters that would end or escape the quoted fallback never reach it.
        assert_eq!(
            content_disposition("inline", "a\"b\\c;d%.png"),
            "inline; filename=\"a_b_c_d_.png\"; filename*=UTF-8''a%22b%5Cc%3Bd%25.png"
        );
        assert!(content_disposition("attachment", "日本.txt").is_ascii());
    }

    #[test]
    fn images_pdf_and_text_pass() {
        assert_eq!(classify(b"\x89PNG\r\n\x1a\n...."), Ok("image/png"));
        assert_eq!(classify(b"\xff\xd8\xff\xe0...."), Ok("image/jpeg"));
        assert_eq!(classify(b"GIF89a...."), Ok("image/gif"));
        assert_eq!(classify(b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert_eq!(classify(b"%PDF-1.7\n"), Ok("application/pdf"));
        assert_eq!(classify(b"OggS\0\x02\0\0"), Ok("audio/ogg"));
        let webm = |codec: &[u8]| [&b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm\x86\x86"[..], codec].concat();
        assert_eq!(classify(&webm(b"A_OPUS")), Ok("audio/webm"));
        assert_eq!(classify(&webm(b"V_VP8")), Ok("video/webm"));
        assert_eq!(classify(b"RIFF\x24\0\0\0WAVEfmt "), Ok("audio/wav"));
        assert_eq!(classify(b"\0\0\0\x18ftypmp42\0\0"), Ok("video/mp4"));
        assert_eq!(
            classify("Привет, это текст\n".as_bytes()),
            Ok("text/plain; charset=utf-8")
        );
    }

    #[test]
    fn executables_markup_and_binaries_are_refused() {
        assert_eq!(classify(b"MZ\x90\0\x03\0\0\0"), Err(AttachmentError::ForbiddenType));
        assert_eq!(classify(b"\x7fELF\x02\x01\x01"), Err(AttachmentError::ForbiddenType));
        assert_eq!(
            classify(b"<html><script>alert(1)</script>"),
            Err(AttachmentError::ForbiddenType)
        );
        assert_eq!(
            classify(b"  <svg onload=alert(1)>"),
            Err(AttachmentError::ForbiddenType)
        );
        assert_eq!(classify(b"PK\x03\x04zip"), Err(AttachmentError::ForbiddenType));
    }

    #[test]
    fn size_limits() {
        assert_eq!(classify(b""), Err(AttachmentError::Empty));
        let big = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(classify(&big), Err(AttachmentError::TooLarge));
        let max = vec![b'a'; MAX_BYTES];
        assert!(classify(&max).is_ok());
    }

    #[test]
    fn names_lose_paths_and_quotes() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\a\"b.png"), "ab.png");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(".htaccess"), "htaccess");
    }
}
