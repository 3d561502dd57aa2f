//! HTTP hardening and operations endpoints.

use crate::both_engines;
use crate::helpers::*;

async fn cross_site_state_changes_are_refused(app: TestApp) {
    let form = [("email", "user@acme.example"), ("password", PASSWORD)];
    let evil_origin = app
        .post_form(
            &client(),
            "/api/auth/sign_in",
            header("origin", "https://evil.example"),
            &form,
        )
        .await;
    assert_eq!(evil_origin.status().as_u16(), 403);
    let cross_site = app
        .post_form(
            &client(),
            "/api/auth/sign_in",
            header("sec-fetch-site", "cross-site"),
            &form,
        )
        .await;
    assert_eq!(cross_site.status().as_u16(), 403);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions").await,
        0,
        "nothing happened"
    );
    let same_site = app
        .post_form(
            &client(),
            "/api/auth/sign_in",
            same_origin_form(&app, "/"),
            &form,
        )
        .await;
    assert_eq!(same_site.status().as_u16(), 302);
    assert_eq!(same_site.headers()["location"], "/");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}

async fn plain_form_sign_in_error_comes_back_on_the_page(app: TestApp) {
    let c = client();
    let wrong = [
        ("email", "admin@acme.example"),
        ("password", "wrong password guess"),
    ];
    let res = app
        .post_form(&c, "/api/auth/sign_in", same_origin_form(&app, "/"), &wrong)
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        !location.contains("__err"),
        "the error is not in the URL: {location}"
    );
    let page = app.page_text(&c, &location).await;
    assert!(page.contains("There is a problem"), "error summary shown");
    assert!(page.contains("The email address or password is incorrect."));

    let res = app
        .post_form(
            &c,
            "/api/auth/sign_in",
            same_origin_form(&app, "/"),
            &[("email", "not-an-email"), ("password", "")],
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let page = app.page_text(&c, &location).await;
    assert!(
        page.contains("href=\"#email\""),
        "summary links to the field"
    );
    assert!(page.contains("Enter an email address in the correct format"));
    assert!(page.contains("Enter your password"));
    assert!(page.contains("aria-invalid=\"true\""));
}

async fn pages_carry_security_headers_and_a_matching_csp_nonce(app: TestApp) {
    let res = client().get(app.url("/")).send().await.unwrap();
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\"")),
        "hydration script carries the nonce"
    );
    // Each response gets its own nonce.
    let again = client().get(app.url("/")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
    // Non-page answers forbid everything.
    let api = client().post(app.url("/api/auth/me")).send().await.unwrap();
    assert!(api.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
}

async fn responses_are_compressed(app: TestApp) {
    let res = plain_client()
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
}

async fn unknown_pages_are_404(app: TestApp) {
    let res = client().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

async fn health_readiness_and_metrics(app: TestApp) {
    let c = client();
    assert_eq!(app.page_text(&c, "/healthz").await, "ok");
    let ready = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    c.get(app.url("/")).send().await.unwrap();
    let metrics = app.page_text(&c, "/metrics").await;
    assert!(
        metrics.contains("portcullis_http_requests_total"),
        "{metrics}"
    );
    // A closed database makes the portal not ready.
    app.db.close().await;
    assert_eq!(
        c.get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        503
    );
}

/// A fingerprinted file never changes under its name: cached for a year, immutable. Other files
/// are checked each time; pages and answers are never stored.
async fn fingerprinted_assets_are_cached_for_good(engine: Engine) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(
        site.path().join("pkg/portcullis.0123456789abcdef.js"),
        "export {}",
    )
    .unwrap();
    std::fs::write(site.path().join("pkg/portcullis.css"), "body{}").unwrap();
    std::fs::write(site.path().join("favicon.svg"), "<svg/>").unwrap();
    let root = site.path().display().to_string();
    let Some(app) = spawn_with(engine, |s| s.site_root = root).await else {
        return;
    };
    let cache = |path: &'static str| {
        let url = app.url(path);
        async move {
            let res = client().get(url).send().await.unwrap();
            (
                res.status().as_u16(),
                res.headers()["cache-control"].to_str().unwrap().to_string(),
            )
        }
    };
    assert_eq!(
        cache("/pkg/portcullis.0123456789abcdef.js").await,
        (200, "public, max-age=31536000, immutable".to_string())
    );
    assert_eq!(
        cache("/pkg/portcullis.css").await,
        (200, "no-cache".to_string())
    );
    assert_eq!(cache("/favicon.svg").await, (200, "no-cache".to_string()));
    let (status, missing) = cache("/pkg/portcullis.fedcba9876543210.js").await;
    assert_eq!(status, 404);
    assert_ne!(
        missing, "public, max-age=31536000, immutable",
        "a miss is not cached"
    );
    assert_eq!(cache("/kb").await.1, "no-store");

    // The build's precompressed copy is sent as it is to a browser that takes it.
    std::fs::write(
        site.path().join("pkg/portcullis.0123456789abcdef.js.br"),
        b"brotli bytes",
    )
    .unwrap();
    let res = client()
        .get(app.url("/pkg/portcullis.0123456789abcdef.js"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"brotli bytes");
}

both_engines!(
    cross_site_state_changes_are_refused,
    plain_form_sign_in_error_comes_back_on_the_page,
    pages_carry_security_headers_and_a_matching_csp_nonce,
    responses_are_compressed,
    unknown_pages_are_404,
    health_readiness_and_metrics
);
both_engines!(engine: fingerprinted_assets_are_cached_for_good);
