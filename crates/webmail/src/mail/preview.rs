//! Attachment previews (issue 20 item 3): `GET /api/message/preview` serves
//! an attachment inline, from this origin, only when its bytes are an image
//! of a raster format (PNG, JPEG, GIF, WebP — never SVG, which can carry
//! script) or a PDF. The type comes from the bytes, not from the sender's
//! Content-Type, and goes out with nosniff (headers.rs) under a CSP that
//! lets nothing load or run; a PDF opens in the browser's own viewer.
//! Anything else is refused: it is only ever a download (read.rs `part`).

use super::read::{parse, Which};
use crate::error::{WebError, WebResult};
use crate::session::User;
use crate::Ctx;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// An image: shown by an `<img>` of the app, nothing else is allowed.
pub const IMAGE_CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";
/// A PDF: the browser's viewer needs its plugin frame, nothing else.
pub const PDF_CSP: &str = "default-src 'none'; object-src 'self'";

/// The type of `bytes` when it may be previewed, from its magic numbers.
pub fn previewable(bytes: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

pub async fn preview(
    State(ctx): State<Ctx>,
    user: User,
    Query(w): Query<Which>,
) -> WebResult<Response> {
    let folder = super::folder(&ctx, &user, &w.folder).await?;
    let raw = super::raw(&ctx, folder.id, w.uid).await?;
    let m = parse(&raw)?;
    let Some(p) = m.attachments().nth(w.n) else {
        return Err(WebError::NotFound(format!("attachment {}", w.n)));
    };
    let bytes = p.contents().to_vec();
    let Some(ctype) = previewable(&bytes) else {
        return Err(WebError::Invalid(
            "only images and PDFs are previewed".into(),
        ));
    };
    let csp = if ctype == "application/pdf" {
        PDF_CSP
    } else {
        IMAGE_CSP
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CONTENT_DISPOSITION, "inline"),
            (header::CONTENT_SECURITY_POLICY, csp),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_and_pdfs_by_their_bytes() {
        assert_eq!(previewable(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(previewable(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(previewable(b"GIF89a.."), Some("image/gif"));
        assert_eq!(previewable(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(previewable(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(previewable(b"<svg onload=alert(1)>"), None);
        assert_eq!(previewable(b"<html><script>"), None);
        assert_eq!(previewable(b"RIFF\0\0\0\0WAVE"), None);
    }
}
