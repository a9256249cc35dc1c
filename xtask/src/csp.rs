//! The site's Content-Security-Policy, as a `<meta>` in dist/index.html (a static host may not
//! let us set headers). Everything comes from the site itself; WebAssembly may compile; the only
//! inline scripts allowed are those Trunk wrote into this build's page, by their hashes. Workers
//! may also start from `blob:` URLs: gloo-worker starts the engine's worker from a small blob
//! script that loads `tiller-worker.js` from the site.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The policy for a page whose inline scripts have these sha256 sources (`'sha256-…'`).
pub fn policy(script_hashes: &[String]) -> String {
    let scripts: String = script_hashes.iter().map(|h| format!(" {h}")).collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; \
         form-action 'self'"
    )
}

/// Insert the policy into `index` (after `<head>`); returns how many inline scripts it allows.
pub fn add_to(index: &Path) -> Result<usize, String> {
    let err = |e: String| format!("{}: {e}", index.display());
    let html = std::fs::read_to_string(index).map_err(|e| err(e.to_string()))?;
    let (html, n) = with_policy(&html).map_err(err)?;
    std::fs::write(index, html).map_err(|e| err(e.to_string()))?;
    Ok(n)
}

fn with_policy(html: &str) -> Result<(String, usize), String> {
    if html.contains("http-equiv=\"Content-Security-Policy\"") {
        return Err("already has a Content-Security-Policy".into());
    }
    let hashes: Vec<String> = inline_scripts(html).iter().map(|s| source_hash(s)).collect();
    let head = html.find("<head>").ok_or("no <head>")? + "<head>".len();
    let meta = format!("\n  <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">", policy(&hashes));
    Ok((format!("{}{meta}{}", &html[..head], &html[head..]), hashes.len()))
}

/// The text of every `<script>` without a `src`, exactly as the browser hashes it.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let Some(tag_end) = rest[open..].find('>').map(|i| open + i + 1) else { break };
        let tag = &rest[open..tag_end];
        let Some(close) = rest[tag_end..].find("</script>").map(|i| tag_end + i) else { break };
        if !tag.contains(" src=") {
            out.push(&rest[tag_end..close]);
        }
        rest = &rest[close + "</script>".len()..];
    }
    out
}

fn source_hash(script: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(script.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_the_browser_writes_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        // The CSP spec's example: sha256 of "alert('Hello, world.');".
        assert_eq!(source_hash("alert('Hello, world.');"), "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='");
    }

    #[test]
    fn only_inline_scripts_are_allowed_by_hash() {
        let html = "<html><head><script type=\"module\">init();</script><script src=\"a.js\"></script></head></html>";
        let (out, n) = with_policy(html).unwrap();
        assert_eq!(n, 1);
        assert!(out.starts_with("<html><head>\n  <meta http-equiv=\"Content-Security-Policy\""));
        assert!(out.contains(&source_hash("init();")));
        assert!(out.contains("object-src 'none'") && out.contains("connect-src 'self'"));
        assert!(with_policy(&out).is_err(), "a second policy is refused");
    }
}
