//! Thumbnails against a hostile little web server on loopback: the fallback chain of
//! `resolve` and the bounds of `Fetcher::fetch` (DESIGN section 5 item 4).
//!
//! The server is hand-written on `std::net` so that it can misbehave on purpose:
//! redirect loops, endless bodies, a byte every so often, Content-Types and
//! Content-Lengths that lie.

use std::io::{Cursor, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{
    DynamicImage, ExtendedColorType, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage,
};
use offersync::thumbnail::{
    FetchError, FetchLimits, Fetcher, ThumbnailSource, Thumbnails, resolve,
};

/// What the server does for one path.
#[derive(Clone)]
enum Reply {
    /// 200 with this Content-Type and body (and a truthful Content-Length).
    Ok(&'static str, Vec<u8>),
    /// A redirect to this Location.
    Redirect(String),
    /// 200 without Content-Length, then data until the client goes away.
    Endless,
    /// 200 declaring this Content-Length, then one byte every 50 ms.
    Drip(usize),
    /// 200 declaring this Content-Length, then this body (longer or shorter).
    LyingLength(usize, Vec<u8>),
}

/// A server on 127.0.0.1:0 that answers from a fixed table (404 otherwise) and
/// records every path asked for.
struct Server {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(routes: Vec<(&'static str, Reply)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let routes = Arc::new(routes);
        let log = Arc::clone(&hits);
        // Detached: it lives as long as the test process; each connection gets a thread.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = Arc::clone(&routes);
                let log = Arc::clone(&log);
                thread::spawn(move || serve(stream, &routes, &log));
            }
        });
        Self { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

fn serve(mut stream: TcpStream, routes: &[(&'static str, Reply)], log: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().unwrap().push(path.clone());
    let reply = routes
        .iter()
        .find(|(route, _)| *route == path)
        .map(|(_, reply)| reply.clone());
    // Write errors mean the client hung up, which several tests provoke on purpose.
    let _ = match reply {
        None => respond(&mut stream, "404 Not Found", "text/html", b"<h1>not found</h1>"),
        Some(Reply::Ok(content_type, body)) => respond(&mut stream, "200 OK", content_type, &body),
        Some(Reply::Redirect(location)) => write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Some(Reply::Endless) => endless(&mut stream),
        Some(Reply::Drip(length)) => drip(&mut stream, length),
        Some(Reply::LyingLength(length, body)) => write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        .and_then(|()| stream.write_all(&body)),
    };
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)
}

fn endless(stream: &mut TcpStream) -> std::io::Result<()> {
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n")?;
    let chunk = [0x42u8; 8192];
    loop {
        stream.write_all(&chunk)?;
    }
}

fn drip(stream: &mut TcpStream, length: usize) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )?;
    for _ in 0..length {
        stream.write_all(b"x")?;
        stream.flush()?;
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn encode(image: impl Into<DynamicImage>, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.into().write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A 600x300 PNG: red with a green centre, so a correct crop is green in the middle.
fn photo_png() -> Vec<u8> {
    let image = RgbImage::from_fn(600, 300, |x, _| {
        if x.abs_diff(300) < 60 {
            Rgb([0, 200, 0])
        } else {
            Rgb([200, 0, 0])
        }
    });
    encode(image, ImageFormat::Png)
}

/// A 16x16 favicon in ICO format.
fn favicon_ico() -> Vec<u8> {
    encode(
        RgbaImage::from_pixel(16, 16, Rgba([250, 120, 0, 255])),
        ImageFormat::Ico,
    )
}

fn html(head: &str) -> Reply {
    Reply::Ok(
        "text/html; charset=utf-8",
        format!("<!doctype html><html><head>{head}</head><body>offer</body></html>").into_bytes(),
    )
}

/// Short limits so that failure cases end quickly; nothing here depends on speed
/// beyond these.
fn limits() -> FetchLimits {
    FetchLimits {
        timeout: Duration::from_millis(400),
        max_redirects: 5,
        max_bytes: 64 * 1024,
        max_pixels: 4_000_000,
        // The hostile servers below are on loopback.
        allow_loopback: true,
    }
}

fn fetcher() -> Fetcher {
    Fetcher::new(limits())
}

fn thumbnails() -> Thumbnails {
    Thumbnails::new(limits())
}

/// Decodes a result PNG and checks the contract: 400x400, 8-bit RGB or RGBA.
fn decoded(png: &[u8]) -> DynamicImage {
    assert_eq!(image::guess_format(png).unwrap(), ImageFormat::Png);
    let image = image::load_from_memory_with_format(png, ImageFormat::Png).unwrap();
    assert_eq!((image.width(), image.height()), (400, 400));
    assert!(matches!(
        image.color(),
        image::ColorType::Rgb8 | image::ColorType::Rgba8
    ));
    image
}

fn notes_mention(notes: &[String], needles: &[&str]) -> bool {
    notes
        .iter()
        .any(|note| needles.iter().all(|needle| note.contains(needle)))
}

#[tokio::test]
async fn the_source_thumbnail_is_used_when_it_is_an_image() {
    let server = Server::start(vec![("/thumb.png", Reply::Ok("image/png", photo_png()))]);
    let thumbnail = resolve(
        &thumbnails(),
        &server.url("/thumb.png"),
        &[server.url("/lp")],
        "TrimRx - Tirzepatide",
    )
    .await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::SourceThumbnail {
            url: server.url("/thumb.png")
        }
    );
    assert!(thumbnail.notes.is_empty(), "{:?}", thumbnail.notes);
    let image = decoded(&thumbnail.png).to_rgb8();
    assert_eq!(image.get_pixel(200, 200).0, [0, 200, 0]);
    // Nothing else was fetched: the landing page is not needed.
    assert_eq!(server.hits("/lp"), 0);
}

#[tokio::test]
async fn a_png_served_as_html_with_a_jpg_name_is_still_used() {
    // Content-Type and file name lie; the bytes are a PNG.
    let server = Server::start(vec![("/logo.jpg", Reply::Ok("text/html", photo_png()))]);
    let thumbnail = resolve(&thumbnails(), &server.url("/logo.jpg"), &[], "Acme").await;
    assert!(matches!(
        thumbnail.source,
        ThumbnailSource::SourceThumbnail { .. }
    ));
    decoded(&thumbnail.png);
}

#[tokio::test]
async fn a_broken_thumbnail_falls_back_to_the_preview_pages_og_image() {
    let server = Server::start(vec![
        (
            "/lp",
            html(r#"<meta content="/share/og.png" property="og:image">"#),
        ),
        ("/share/og.png", Reply::Ok("image/png", photo_png())),
    ]);
    let thumbnail = resolve(
        &thumbnails(),
        &server.url("/missing.png"),
        &[server.url("/lp"), server.url("/landing")],
        "Acme",
    )
    .await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::OgImage {
            page: server.url("/lp"),
            url: server.url("/share/og.png")
        }
    );
    assert!(
        notes_mention(
            &thumbnail.notes,
            &["thumbnail_url", "/missing.png", "HTTP 404"]
        ),
        "{:?}",
        thumbnail.notes
    );
    // The og:image of the first page sufficed: the second page was never fetched.
    assert_eq!(server.hits("/landing"), 0);
}

#[tokio::test]
async fn a_thumbnail_that_is_html_is_skipped_with_a_note() {
    let server = Server::start(vec![
        ("/thumb.png", html("<title>login</title>")),
        (
            "/lp",
            html(r#"<meta property="og:image" content="og.png">"#),
        ),
        ("/og.png", Reply::Ok("image/png", photo_png())),
    ]);
    let thumbnail = resolve(
        &thumbnails(),
        &server.url("/thumb.png"),
        &[server.url("/lp")],
        "Acme",
    )
    .await;
    assert!(matches!(thumbnail.source, ThumbnailSource::OgImage { .. }));
    assert!(
        notes_mention(
            &thumbnail.notes,
            &["thumbnail_url", "not a supported image", "text/html"]
        ),
        "{:?}",
        thumbnail.notes
    );
}

#[tokio::test]
async fn the_landing_page_is_tried_after_the_preview_page() {
    let server = Server::start(vec![
        ("/preview", html("<title>nothing to see</title>")),
        (
            "/landing",
            html(r#"<meta name="twitter:image" content="/tw.png">"#),
        ),
        ("/tw.png", Reply::Ok("image/png", photo_png())),
    ]);
    let thumbnail = resolve(
        &thumbnails(),
        "",
        &[server.url("/preview"), server.url("/landing")],
        "Acme",
    )
    .await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::OgImage {
            page: server.url("/landing"),
            url: server.url("/tw.png")
        }
    );
    assert!(notes_mention(&thumbnail.notes, &["no thumbnail_url"]));
    assert!(notes_mention(
        &thumbnail.notes,
        &["no og:image", "/preview"]
    ));
    // og:image of every page comes before any icon.
    assert_eq!(server.hits("/favicon.ico"), 0);
}

#[tokio::test]
async fn a_page_without_og_image_gives_its_declared_icon() {
    let server = Server::start(vec![
        ("/lp", html(r#"<link rel="icon" href="/static/fav.ico">"#)),
        ("/static/fav.ico", Reply::Ok("image/x-icon", favicon_ico())),
    ]);
    let thumbnail = resolve(&thumbnails(), "", &[server.url("/lp")], "Acme").await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::Icon {
            page: server.url("/lp"),
            url: server.url("/static/fav.ico")
        }
    );
    // The 16x16 icon was upscaled to fill the thumbnail.
    let image = decoded(&thumbnail.png).to_rgba8();
    assert_eq!(image.get_pixel(200, 200).0, [250, 120, 0, 255]);
    assert_eq!(image.get_pixel(0, 399).0, [250, 120, 0, 255]);
}

#[tokio::test]
async fn a_bomb_og_image_is_skipped_for_the_origin_favicon() {
    // 2100x2000 is over the test's 4 MP limit; all black, it compresses to little.
    let mut bomb = Vec::new();
    PngEncoder::new_with_quality(&mut bomb, CompressionType::Best, PngFilter::NoFilter)
        .write_image(
            &vec![0; 2100 * 2000 * 3],
            2100,
            2000,
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    assert!(bomb.len() < limits().max_bytes, "small on the wire");
    let server = Server::start(vec![
        (
            "/lp",
            html(r#"<meta property="og:image" content="/bomb.png">"#),
        ),
        ("/bomb.png", Reply::Ok("image/png", bomb)),
        ("/favicon.ico", Reply::Ok("image/x-icon", favicon_ico())),
    ]);
    let thumbnail = resolve(&thumbnails(), "", &[server.url("/lp")], "Acme").await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::Icon {
            page: server.url("/lp"),
            url: server.url("/favicon.ico")
        }
    );
    assert!(
        notes_mention(&thumbnail.notes, &["og:image", "/bomb.png", "2100x2000"]),
        "{:?}",
        thumbnail.notes
    );
    // apple-touch-icon comes first among the origin's conventional paths.
    assert!(notes_mention(
        &thumbnail.notes,
        &["/apple-touch-icon.png", "404"]
    ));
}

#[tokio::test]
async fn nothing_usable_anywhere_gives_the_initials_placeholder() {
    let server = Server::start(vec![("/lp", html("<title>plain</title>"))]);
    let thumbnail = resolve(
        &thumbnails(),
        &server.url("/gone.png"),
        &[server.url("/lp"), server.url("/down"), String::new()],
        "TrimRx - Tirzepatide Starter Plan",
    )
    .await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::Initials { text: "TT".into() }
    );
    let image = decoded(&thumbnail.png).to_rgb8();
    assert_eq!(image.get_pixel(0, 0).0, [0x4A, 0x90, 0xD9]);
    let notes = &thumbnail.notes;
    assert!(
        notes_mention(notes, &["thumbnail_url", "/gone.png", "404"]),
        "{notes:?}"
    );
    assert!(notes_mention(notes, &["page", "/down", "404"]), "{notes:?}");
    assert!(notes_mention(notes, &["no og:image", "/lp"]), "{notes:?}");
    assert!(notes_mention(notes, &["/favicon.ico", "404"]), "{notes:?}");
    // The origin's icons were tried once although two pages share the origin.
    assert_eq!(server.hits("/favicon.ico"), 1);
    assert_eq!(server.hits("/apple-touch-icon.png"), 1);
}

#[tokio::test]
async fn the_fingerprint_follows_the_source_image() {
    let server = Server::start(vec![
        ("/a.png", Reply::Ok("image/png", photo_png())),
        ("/b.png", Reply::Ok("image/png", photo_png())),
        ("/c.ico", Reply::Ok("image/x-icon", favicon_ico())),
    ]);
    let thumbnails = thumbnails();
    let a = resolve(&thumbnails, &server.url("/a.png"), &[], "Acme").await;
    let b = resolve(&thumbnails, &server.url("/b.png"), &[], "Acme").await;
    let c = resolve(&thumbnails, &server.url("/c.ico"), &[], "Acme").await;
    // Same bytes at another URL: nothing to re-upload. Other bytes: re-upload.
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_ne!(a.fingerprint, c.fingerprint);
    let initials = resolve(&thumbnails, "", &[], "Acme").await;
    assert_ne!(initials.fingerprint, a.fingerprint);
    assert_eq!(
        initials.fingerprint,
        resolve(&thumbnails, "", &[], "acme").await.fingerprint
    );
}

#[tokio::test]
async fn an_image_named_by_several_offers_of_a_run_is_fetched_once() {
    let server = Server::start(vec![("/logo.png", Reply::Ok("image/png", photo_png()))]);
    let thumbnails = thumbnails();
    let url = server.url("/logo.png");
    // Two new offers with the same picture, begun while their plan reads on.
    thumbnails.begin(&url);
    thumbnails.begin(&url);
    let (a, b) = tokio::join!(
        resolve(&thumbnails, &url, &[], "Acme A"),
        resolve(&thumbnails, &url, &[], "Acme B"),
    );
    assert_eq!(server.hits("/logo.png"), 1);
    assert_eq!(a.png, b.png);
    assert_eq!(
        a.source,
        ThumbnailSource::SourceThumbnail { url: url.clone() }
    );
    // Once every offer it was begun for has it, it is not kept: a later offer of the
    // run downloads it again rather than the run holding every image to the end.
    resolve(&thumbnails, &url, &[], "Acme C").await;
    assert_eq!(server.hits("/logo.png"), 2);
}

#[tokio::test]
async fn a_begun_image_is_made_before_its_offer_asks() {
    let server = Server::start(vec![("/thumb.png", Reply::Ok("image/png", photo_png()))]);
    let thumbnails = thumbnails();
    let url = server.url("/thumb.png");
    thumbnails.begin(&url);
    // The download starts on its own, with no one waiting for it (30 s at most: a
    // bound for a broken build, not a speed requirement).
    for _ in 0..6000 {
        if server.hits("/thumb.png") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.hits("/thumb.png"), 1);
    let thumbnail = resolve(&thumbnails, &url, &[], "Acme").await;
    assert_eq!(server.hits("/thumb.png"), 1);
    assert_eq!(
        decoded(&thumbnail.png).to_rgb8().get_pixel(200, 200).0,
        [0, 200, 0]
    );
}

#[tokio::test]
async fn a_begun_image_that_fails_gives_its_note_to_the_offer() {
    let server = Server::start(vec![(
        "/page.png",
        Reply::Ok("text/html", b"<html>".to_vec()),
    )]);
    let thumbnails = thumbnails();
    let url = server.url("/page.png");
    thumbnails.begin(&url);
    let thumbnail = resolve(&thumbnails, &url, &[], "Acme").await;
    assert_eq!(
        thumbnail.source,
        ThumbnailSource::Initials { text: "A".into() }
    );
    assert!(
        notes_mention(
            &thumbnail.notes,
            &["thumbnail_url", "/page.png", "text/html"]
        ),
        "{:?}",
        thumbnail.notes
    );
    assert_eq!(server.hits("/page.png"), 1);
}

#[tokio::test]
async fn fetch_follows_a_few_redirects_and_reports_the_final_url() {
    let server = Server::start(vec![
        ("/r1", Reply::Redirect("/r2".into())),
        ("/r2", Reply::Redirect("/img.png".into())),
        ("/img.png", Reply::Ok("image/png", photo_png())),
    ]);
    let fetched = fetcher().fetch(&server.url("/r1")).await.unwrap();
    assert_eq!(fetched.url.as_str(), server.url("/img.png"));
    assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
    assert_eq!(fetched.bytes, photo_png());
}

#[tokio::test]
async fn a_redirect_loop_stops_after_five_hops() {
    let server = Server::start(vec![("/loop", Reply::Redirect("/loop".into()))]);
    let error = fetcher().fetch(&server.url("/loop")).await.unwrap_err();
    assert_eq!(
        error,
        FetchError::TooManyRedirects {
            url: server.url("/loop"),
            max: 5
        }
    );
    // The first request and five redirected ones; the sixth hop was refused.
    assert_eq!(server.hits("/loop"), 6);
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_refused() {
    let server = Server::start(vec![
        (
            "/to-ftp",
            Reply::Redirect("ftp://files.example.com/a.png".into()),
        ),
        (
            "/to-creds",
            Reply::Redirect("http://u:secret@127.0.0.1:1/a.png".into()),
        ),
    ]);
    let error = fetcher().fetch(&server.url("/to-ftp")).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::RedirectRefused { target, .. } if target == "ftp://files.example.com/a.png"),
        "{error:?}"
    );
    let error = fetcher().fetch(&server.url("/to-creds")).await.unwrap_err();
    assert!(
        matches!(error, FetchError::RedirectRefused { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret"));
}

#[tokio::test]
async fn an_endless_body_stops_at_the_cap() {
    let server = Server::start(vec![("/endless", Reply::Endless)]);
    let error = fetcher().fetch(&server.url("/endless")).await.unwrap_err();
    assert_eq!(
        error,
        FetchError::TooBig {
            url: server.url("/endless"),
            max_bytes: 64 * 1024
        }
    );
}

#[tokio::test]
async fn content_length_lies_do_not_make_it_read_more() {
    let server = Server::start(vec![
        // Says 100 bytes, sends 1 MiB: only the declared 100 are read.
        ("/short", Reply::LyingLength(100, vec![7; 1024 * 1024])),
        // Says more than the cap: refused before reading the body.
        ("/huge", Reply::LyingLength(50 * 1024 * 1024, vec![7; 10])),
    ]);
    let fetched = fetcher().fetch(&server.url("/short")).await.unwrap();
    assert_eq!(fetched.bytes.len(), 100);
    let error = fetcher().fetch(&server.url("/huge")).await.unwrap_err();
    assert!(matches!(error, FetchError::TooBig { .. }), "{error:?}");
}

#[tokio::test]
async fn a_slow_drip_hits_the_timeout() {
    // 1000 bytes at one per 50 ms would take 50 s; the deadline is 400 ms.
    let server = Server::start(vec![("/drip", Reply::Drip(1000))]);
    let error = fetcher().fetch(&server.url("/drip")).await.unwrap_err();
    assert_eq!(
        error,
        FetchError::Timeout {
            url: server.url("/drip"),
            timeout: Duration::from_millis(400)
        }
    );
}

#[tokio::test]
async fn fetch_errors_are_typed_and_name_the_url() {
    let server = Server::start(vec![]);
    let error = fetcher().fetch(&server.url("/nope.png")).await.unwrap_err();
    assert_eq!(
        error,
        FetchError::Status {
            url: server.url("/nope.png"),
            status: 404
        }
    );
    assert_eq!(
        error.to_string(),
        format!("`{}`: HTTP 404", server.url("/nope.png"))
    );

    let error = fetcher().fetch("file:///etc/passwd").await.unwrap_err();
    assert!(matches!(error, FetchError::UnsupportedScheme { .. }));

    // Nothing listens on a port the OS just handed out and closed again.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = fetcher()
        .fetch(&format!("http://{closed}/x.png"))
        .await
        .unwrap_err();
    assert!(error.is_unreachable(), "{error:?}");
}

#[tokio::test]
async fn internal_addresses_are_refused_without_connecting() {
    let server = Server::start(vec![("/a.png", Reply::Ok("image/png", photo_png()))]);
    let public_only = Fetcher::new(FetchLimits {
        allow_loopback: false,
        ..limits()
    });
    let error = public_only.fetch(&server.url("/a.png")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}`: 127.0.0.1 (loopback address); only public addresses are fetched",
            server.url("/a.png")
        )
    );
    // A name is judged by what it resolves to: `localhost` is loopback too.
    let by_name = format!("http://localhost:{}/a.png", server.addr.port());
    let error = public_only.fetch(&by_name).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::InternalAddress { address, .. }
            if address.name.as_deref() == Some("localhost") && address.ip.is_loopback()),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("`localhost` resolves to"),
        "{error}"
    );
    assert_eq!(server.hits("/a.png"), 0, "nothing reached the server");
    // Allowed, the same URL is fetched: the refusal above was the address, not the URL.
    assert!(fetcher().fetch(&server.url("/a.png")).await.is_ok());
}

#[tokio::test]
async fn a_redirect_to_an_internal_address_is_refused() {
    let server = Server::start(vec![
        (
            "/to-metadata",
            Reply::Redirect("http://169.254.169.254/latest/meta-data/".into()),
        ),
        (
            "/to-lan",
            Reply::Redirect("http://10.0.0.5:8500/v1/kv".into()),
        ),
        ("/to-ula", Reply::Redirect("http://[fd00::5]/admin".into())),
    ]);
    // Loopback is allowed (the first hop is there); nothing else non-public is.
    for (path, kind) in [
        ("/to-metadata", "link-local"),
        ("/to-lan", "private"),
        ("/to-ula", "private"),
    ] {
        let error = fetcher().fetch(&server.url(path)).await.unwrap_err();
        assert!(
            matches!(&error, FetchError::RedirectRefused { reason, .. }
                if reason.contains(&format!("({kind} address); only public addresses are fetched"))),
            "{path}: {error:?}"
        );
    }
}
