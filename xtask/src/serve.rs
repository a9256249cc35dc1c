//! A small static file server for dist/ (std only, a thread per connection): enough HTTP/1.1 for
//! a browser to run Tiller, with the content types WebAssembly and service workers insist on.
//!
//! `base` is the URL path the site lives under ("/" or e.g. "/tiller/"), so the tests prove that
//! dist/ works from a sub-path, as on a static host.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the server serves: the files under `root` at the URL path `base`.
#[derive(Debug, Clone)]
pub struct Site {
    pub root: PathBuf,
    pub base: String,
}

impl Site {
    /// `base` gets a leading and a trailing slash: "tiller" and "/tiller" both mean "/tiller/".
    pub fn new(root: PathBuf, base: &str) -> Self {
        let trimmed = base.trim_matches('/');
        let base = if trimmed.is_empty() { "/".to_string() } else { format!("/{trimmed}/") };
        Site { root, base }
    }
}

/// Bind 127.0.0.1:`port` (0 picks a free port) and serve `site` on a background thread.
/// Returns the site's URL, e.g. "http://127.0.0.1:8080/tiller/".
pub fn spawn(site: Site, port: u16) -> io::Result<String> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let url = format!("http://{}{}", listener.local_addr()?, site.base);
    std::thread::spawn(move || accept(listener, Arc::new(site)));
    Ok(url)
}

/// Serve `site` on 127.0.0.1:`port` until the process ends.
pub fn serve_forever(site: Site, port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} ({e}); pass --port N for another port"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Tiller: http://{addr}{}  (serving {}; Ctrl-C stops)", site.base, site.root.display());
    accept(listener, Arc::new(site));
    Ok(())
}

fn accept(listener: TcpListener, site: Arc<Site>) {
    for stream in listener.incoming().flatten() {
        let site = Arc::clone(&site);
        // A client that hangs up mid-response is its own business: nothing to report.
        std::thread::spawn(move || {
            let _ = connection(stream, &site);
        });
    }
}

/// The longest request head we read; browsers send a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// Idle keep-alive connections close after this long, so their threads end.
const IDLE: Duration = Duration::from_secs(30);

/// One connection: requests one after another (keep-alive) until either side closes it.
fn connection(stream: TcpStream, site: &Site) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let Some(request) = read_request(&mut reader)? else { return Ok(()) };
        let reply = match &request {
            Ok(req) if req.method == "GET" || req.method == "HEAD" => resolve(site, &req.target),
            Ok(_) => Reply::status(405, "Method Not Allowed"),
            Err(()) => Reply::status(400, "Bad Request"),
        };
        let keep_alive = request.as_ref().is_ok_and(|r| r.keep_alive && (r.method == "GET" || r.method == "HEAD"));
        let head_only = request.as_ref().is_ok_and(|r| r.method == "HEAD");
        reply.write(&mut out, keep_alive, head_only)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

struct Request {
    method: String,
    target: String,
    keep_alive: bool,
}

/// Ok(None) at a clean end of the connection; Ok(Some(Err)) for a request we cannot parse.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Result<Request, ()>>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = match reader.read_line(&mut line) {
            Ok(n) => n,
            // Idle timeout, or bytes that are not UTF-8.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return Ok(Some(Err(()))),
            Err(_) if lines.is_empty() => return Ok(None),
            Err(e) => return Err(e),
        };
        total += n;
        if n == 0 {
            return Ok(None);
        }
        if total > MAX_HEAD {
            return Ok(Some(Err(())));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // stray CRLF between requests is allowed
            }
            break;
        }
        lines.push(line);
    }
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Some(Err(())));
    };
    let connection = lines[1..]
        .iter()
        .filter_map(|h| h.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("connection"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    let keep_alive = match connection.as_deref() {
        Some("close") => false,
        Some("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };
    Ok(Some(Ok(Request { method: method.to_string(), target: target.to_string(), keep_alive })))
}

enum Body {
    Empty,
    Text(&'static str),
    File(File, u64),
}

struct Reply {
    code: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

impl Reply {
    fn status(code: u16, reason: &'static str) -> Self {
        let text = match code {
            404 => "not found\n",
            405 => "only GET and HEAD\n",
            _ => "bad request\n",
        };
        let mut headers = vec![("Content-Type", "text/plain; charset=utf-8".to_string())];
        if code == 405 {
            headers.push(("Allow", "GET, HEAD".into()));
        }
        Reply { code, reason, headers, body: Body::Text(text) }
    }

    fn redirect(location: String) -> Self {
        Reply { code: 301, reason: "Moved Permanently", headers: vec![("Location", location)], body: Body::Empty }
    }

    fn write(self, out: &mut TcpStream, keep_alive: bool, head_only: bool) -> io::Result<()> {
        let len = match &self.body {
            Body::Empty => 0,
            Body::Text(t) => t.len() as u64,
            Body::File(_, len) => *len,
        };
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.code, self.reason);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        // no-cache: the browser revalidates every time, so a rebuilt dist/ is seen at once (the
        // service worker, not the HTTP cache, is what keeps the app working offline).
        head.push_str(&format!(
            "Content-Length: {len}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: {}\r\n\r\n",
            if keep_alive { "keep-alive" } else { "close" }
        ));
        let mut out = io::BufWriter::new(out);
        out.write_all(head.as_bytes())?;
        if !head_only {
            match self.body {
                Body::Empty => {}
                Body::Text(t) => out.write_all(t.as_bytes())?,
                Body::File(mut f, _) => {
                    io::copy(&mut f, &mut out)?;
                }
            }
        }
        out.flush()
    }
}

/// Map a request target to a reply: a file under the site's root, a redirect, or an error.
fn resolve(site: &Site, target: &str) -> Reply {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let path = path.split('#').next().unwrap_or_default();
    let Some(path) = percent_decode(path) else { return Reply::status(400, "Bad Request") };
    let with_query = |p: &str| match query {
        Some(q) => format!("{p}?{q}"),
        None => p.to_string(),
    };
    // "/tiller" → "/tiller/": relative URLs in the page only work under the slash.
    if format!("{path}/") == site.base {
        return Reply::redirect(with_query(&site.base));
    }
    let Some(rest) = path.strip_prefix(&site.base) else { return Reply::status(404, "Not Found") };
    let mut file = site.root.clone();
    for segment in rest.split('/') {
        match segment {
            "" | "." => {}
            // Never leave the root, however the path is spelled.
            ".." => return Reply::status(404, "Not Found"),
            s if s.contains(['\\', '\0']) => return Reply::status(404, "Not Found"),
            s => file.push(s),
        }
    }
    if file.is_dir() {
        if !path.ends_with('/') {
            return Reply::redirect(with_query(&format!("{path}/")));
        }
        file.push("index.html");
    }
    match File::open(&file).and_then(|f| f.metadata().map(|m| (f, m))) {
        Ok((f, meta)) if meta.is_file() => Reply {
            code: 200,
            reason: "OK",
            headers: vec![("Content-Type", content_type(&file).to_string())],
            body: Body::File(f, meta.len()),
        },
        _ => Reply::status(404, "Not Found"),
    }
}

/// The Content-Type for a file name; browsers compile WebAssembly streaming only when it is
/// application/wasm, and run module scripts and service workers only with a JavaScript type.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream", // .gguf and anything else: bytes
    }
}

/// "%20" → " "; None for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A throwaway site: index.html, app.wasm, sub/index.html, a file with a space in its name.
    fn site(base: &str) -> (String, PathBuf) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("tiller-serve-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("index.html"), "<!doctype html>hi").unwrap();
        std::fs::write(root.join("app.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(root.join("sub/index.html"), "sub").unwrap();
        std::fs::write(root.join("a b.js"), "x").unwrap();
        std::fs::write(root.with_extension("secret"), "secret").unwrap();
        (spawn(Site::new(root.clone(), base), 0).unwrap(), root)
    }

    /// (status line, headers, body) of one request over a fresh connection.
    fn get(url: &str, method: &str, path: &str) -> (String, String, String) {
        let addr = url.trim_start_matches("http://").split('/').next().unwrap();
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
        (status.to_string(), headers.to_ascii_lowercase(), body.to_string())
    }

    #[test]
    fn serves_files_with_their_types_under_the_base_path() {
        let (url, _) = site("tiller");
        assert!(url.ends_with("/tiller/"), "{url}");
        let (status, headers, body) = get(&url, "GET", "/tiller/app.wasm");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains("content-type: application/wasm"), "{headers}");
        assert!(headers.contains("content-length: 8"), "{headers}");
        assert!(headers.contains("cache-control: no-cache"), "{headers}");
        assert_eq!(body.len(), 8);

        let (status, headers, body) = get(&url, "GET", "/tiller/?backend=cpu");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains("content-type: text/html"), "{headers}");
        assert_eq!(body, "<!doctype html>hi");

        let (_, headers, body) = get(&url, "GET", "/tiller/a%20b.js");
        assert!(headers.contains("content-type: text/javascript"), "{headers}");
        assert_eq!(body, "x");
    }

    #[test]
    fn head_sends_the_length_without_the_body() {
        let (url, _) = site("/");
        let (status, headers, body) = get(&url, "HEAD", "/index.html");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains("content-length: 17"), "{headers}");
        assert_eq!(body, "");
    }

    #[test]
    fn missing_files_outside_paths_and_other_methods_are_refused() {
        let (url, root) = site("/tiller/");
        assert_eq!(get(&url, "GET", "/tiller/nope.js").0, "HTTP/1.1 404 Not Found");
        assert_eq!(get(&url, "GET", "/index.html").0, "HTTP/1.1 404 Not Found", "outside the base path");
        // A file beside the root, reachable only by climbing out of it.
        let secret = format!("{}.secret", root.file_name().unwrap().to_str().unwrap());
        assert_eq!(get(&url, "GET", &format!("/tiller/../{secret}")).0, "HTTP/1.1 404 Not Found");
        assert_eq!(get(&url, "GET", &format!("/tiller/%2e%2e/{secret}")).0, "HTTP/1.1 404 Not Found");
        assert_eq!(get(&url, "GET", "/tiller/%zz").0, "HTTP/1.1 400 Bad Request");
        let (status, headers, _) = get(&url, "POST", "/tiller/index.html");
        assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
        assert!(headers.contains("allow: get, head"), "{headers}");
    }

    #[test]
    fn directories_get_their_slash_then_their_index() {
        let (url, _) = site("/tiller/");
        let (status, headers, _) = get(&url, "GET", "/tiller?model=none");
        assert_eq!(status, "HTTP/1.1 301 Moved Permanently");
        assert!(headers.contains("location: /tiller/?model=none"), "{headers}");
        let (status, headers, _) = get(&url, "GET", "/tiller/sub");
        assert_eq!(status, "HTTP/1.1 301 Moved Permanently");
        assert!(headers.contains("location: /tiller/sub/"), "{headers}");
        assert_eq!(get(&url, "GET", "/tiller/sub/").2, "sub");
    }

    #[test]
    fn keep_alive_serves_several_requests_on_one_connection() {
        let (url, _) = site("/");
        let addr = url.trim_start_matches("http://").trim_end_matches('/');
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET /a%20b.js HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/ HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
        assert!(text.ends_with("\r\n\r\nsub"), "{text}");
    }

    #[test]
    fn content_types() {
        for (name, want) in [
            ("a.wasm", "application/wasm"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("manifest.json", "application/json"),
            ("index.html", "text/html; charset=utf-8"),
            ("m.gguf", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), want, "{name}");
        }
    }
}
