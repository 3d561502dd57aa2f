//! Knowledge base (SPEC §9): who reads, lists and finds what (visibility × state × reader), that a
//! hidden article is indistinguishable from a missing one, authoring and its versions, the
//! sanitizer, votes and views, and what search engines get.

use crate::both_engines;
use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

/// Demo articles (see `seed_kb`): a public, a customer-only and an internal one.
const PUBLIC: &str = "KB0010001";
const CUSTOMERS: &str = "KB0010003";
const INTERNAL: &str = "KB0010007";

pub(crate) async fn category(app: &TestApp, name: &str) -> String {
    app.scalar(&format!(
        "SELECT id FROM kb_categories WHERE name = '{name}'"
    ))
    .await
    .to_string()
}

/// Saves an article as `staff`; answers the status and the body (the number on success).
/// The article editor's form: a new draft of `title` for readers of `visibility`; a scenario
/// changes its other fields (`number`, `intent`) by name.
fn article(title: &str, body: &str, category_id: &str, visibility: &str) -> Form {
    Form::new(vec![
        ("number", String::new()),
        ("title", title.into()),
        ("body", body.into()),
        ("category_id", category_id.into()),
        ("visibility", visibility.into()),
        ("intent", "draft".into()),
    ])
}

async fn save(app: &TestApp, staff: &reqwest::Client, form: Form) -> (u16, Value) {
    app.call(staff, "kb/save", &form.fields()).await
}

async fn publish(
    app: &TestApp,
    staff: &reqwest::Client,
    title: &str,
    body: &str,
    visibility: &str,
) -> String {
    let cat = category(app, "Getting started").await;
    let (status, body) = save(
        app,
        staff,
        article(title, body, &cat, visibility).with("intent", "publish"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_str().unwrap().to_string()
}

fn numbers(list: &Value, key: &str) -> BTreeSet<String> {
    list[key]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| r["number"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Nine articles, one per visibility × state, each with its own word and a shared one; every
/// reader reads, lists and finds exactly the ones they may, and search counts no hidden one.
async fn visibility_matrix_for_reading_listing_and_search(app: TestApp) {
    let staff = app.signed_in(AGENT).await;
    app.expect(
        &staff,
        "kb/category",
        &[("name", "Matrix"), ("description", "Test articles")],
        200,
    )
    .await;
    let cat = category(&app, "Matrix").await;
    let mut articles: Vec<(String, &str, &str, String)> = Vec::new();
    for visibility in ["public", "customers", "internal"] {
        for state in ["draft", "published", "retired"] {
            let word = format!("zq{visibility}{state}");
            let intent = if state == "draft" { "draft" } else { "publish" };
            let (status, body) = save(
                &app,
                &staff,
                article(
                    &format!("Quasar flux {word}"),
                    &format!("How the quasar flux capacitor behaves: {word}."),
                    &cat,
                    visibility,
                )
                .with("intent", intent),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let number = body.as_str().unwrap().to_string();
            if state == "retired" {
                app.expect(&staff, "kb/retire", &[("number", number.as_str())], 200)
                    .await;
            }
            articles.push((number, visibility, state, word));
        }
    }
    let missing = app
        .call(&client(), "kb/article", &[("number", "KB0999999")])
        .await;
    assert_eq!(missing.0, 404);

    // (reader, client, visibilities they see, whether they also read drafts and retired ones)
    let readers = [
        ("anonymous", client(), vec!["public"], false),
        (
            "customer user",
            app.signed_in(ACME_USER).await,
            vec!["public", "customers"],
            false,
        ),
        (
            "customer admin",
            app.signed_in(ACME_ADMIN).await,
            vec!["public", "customers"],
            false,
        ),
        (
            "other account's user",
            app.signed_in(GLOBEX_USER).await,
            vec!["public", "customers"],
            false,
        ),
        (
            "agent",
            app.signed_in(AGENT).await,
            vec!["public", "customers", "internal"],
            true,
        ),
        (
            "platform admin",
            app.signed_in(PLATFORM_ADMIN).await,
            vec!["public", "customers", "internal"],
            true,
        ),
    ];
    for (who, c, sees, writer) in &readers {
        let listed: BTreeSet<String> = articles
            .iter()
            .filter(|(_, v, s, _)| sees.contains(v) && *s == "published")
            .map(|(n, ..)| n.clone())
            .collect();
        for (number, visibility, state, word) in &articles {
            let readable = sees.contains(visibility) && (*state == "published" || *writer);
            let (status, body) = app
                .call(c, "kb/article", &[("number", number.as_str())])
                .await;
            if readable {
                assert_eq!(status, 200, "{who} reads {visibility}/{state}: {body}");
                assert_eq!(body["number"], number.as_str());
            } else {
                // Exactly the answer for a number that does not exist.
                assert_eq!(
                    (status, &body),
                    (missing.0, &missing.1),
                    "{who} × {visibility}/{state}"
                );
            }
            // Its own word finds it only when it is published and visible; never counted else.
            let (status, found) = app.call(c, "kb/search", &[("q", word.as_str())]).await;
            assert_eq!(status, 200, "{found}");
            let expected = i64::from(listed.contains(number));
            assert_eq!(found["total"], expected, "{who} searching {word}: {found}");
            assert_eq!(found["rows"].as_array().unwrap().len() as i64, expected);
            let page = app.page_text(c, &format!("/kb/{number}")).await;
            assert_eq!(
                page.contains(word.as_str()),
                readable,
                "{who} opening the page of {visibility}/{state}"
            );
        }
        // The shared words: exactly the published articles they may see, and the right total.
        let (_, found) = app.call(c, "kb/search", &[("q", "quasar flux")]).await;
        assert_eq!(numbers(&found, "rows"), listed, "{who}: {found}");
        assert_eq!(found["total"], listed.len() as i64, "{who}");
        // Suggestions while typing use the same rule.
        let (_, suggested) = app.call(c, "kb/suggest", &[("q", "quasar fl")]).await;
        let suggested: BTreeSet<String> = suggested
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["number"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(suggested, listed, "{who} suggestions");
        // Listing: the category shows exactly those; the newest and most read lists no others.
        let (status, home) = app.call(c, "kb/home", &[("category", cat.as_str())]).await;
        assert_eq!(status, 200, "{home}");
        assert_eq!(
            numbers(&home["listing"], "rows"),
            listed,
            "{who} category listing"
        );
        assert_eq!(home["listing"]["total"], listed.len() as i64);
        for list in ["recent", "popular"] {
            for n in numbers(&home, list) {
                let hidden = articles
                    .iter()
                    .any(|(num, v, s, _)| *num == n && (!sees.contains(v) || *s != "published"));
                assert!(!hidden, "{who} sees {n} in {list}");
            }
        }
    }
    // The demo articles obey the same rule for a visitor.
    let visitor = client();
    for (number, readable) in [(PUBLIC, true), (CUSTOMERS, false), (INTERNAL, false)] {
        let (status, _) = app
            .call(&visitor, "kb/article", &[("number", number)])
            .await;
        assert_eq!(status == 200, readable, "{number}");
    }
}

/// Every authoring endpoint: anonymous → 401, customers of any account → 403, staff allowed;
/// a refused call changes nothing.
async fn authoring_is_for_staff_only(app: TestApp) {
    let cat = category(&app, "Pipelines").await;
    let calls: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "kb/save",
            vec![
                ("title", "Written by whom".into()),
                ("body", "Text".into()),
                ("category_id", cat.clone()),
                ("visibility", "public".into()),
                ("intent", "publish".into()),
            ],
        ),
        ("kb/retire", vec![("number", PUBLIC.into())]),
        (
            "kb/restore",
            vec![("number", PUBLIC.into()), ("version", "1".into())],
        ),
        ("kb/preview", vec![("body", "**hi**".into())]),
        ("kb/editor", vec![("number", PUBLIC.into())]),
        ("kb/list", vec![]),
        ("kb/category", vec![("name", "By whom".into())]),
    ];
    let before = (
        app.scalar("SELECT COUNT(*) FROM kb_articles").await,
        app.scalar("SELECT COUNT(*) FROM kb_versions").await,
        app.scalar("SELECT COUNT(*) FROM kb_categories").await,
        app.text("SELECT state FROM kb_articles WHERE number = 'KB0010001'")
            .await,
    );
    let refused = [
        (client(), 401),
        (app.signed_in(ACME_USER).await, 403),
        (app.signed_in(ACME_ADMIN).await, 403),
        (app.signed_in(GLOBEX_USER).await, 403),
    ];
    for (c, expected) in &refused {
        for (endpoint, form) in &calls {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = app.call(c, endpoint, &form).await;
            assert_eq!(status, *expected, "{endpoint}: {body}");
        }
    }
    let after = (
        app.scalar("SELECT COUNT(*) FROM kb_articles").await,
        app.scalar("SELECT COUNT(*) FROM kb_versions").await,
        app.scalar("SELECT COUNT(*) FROM kb_categories").await,
        app.text("SELECT state FROM kb_articles WHERE number = 'KB0010001'")
            .await,
    );
    assert_eq!(before, after, "a refused call changed something");
    // Staff: the agent and the platform admin may do each.
    for (email, name) in [(AGENT, "By the agent"), (PLATFORM_ADMIN, "By the admin")] {
        let c = app.signed_in(email).await;
        for (endpoint, form) in &calls {
            let mut form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if *endpoint == "kb/category" {
                form = vec![("name", name)];
            }
            if *endpoint == "kb/retire" && email == PLATFORM_ADMIN {
                continue; // retired by the agent already
            }
            let (status, body) = app.call(&c, endpoint, &form).await;
            assert_eq!(status, 200, "{email} {endpoint}: {body}");
        }
    }
    let (_, body) = app
        .call(
            &app.signed_in(AGENT).await,
            "kb/preview",
            &[("body", "**hi**")],
        )
        .await;
    assert_eq!(body, "<p><strong>hi</strong></p>\n");
}

/// Drafts wait for publishing, every save is a version with who and when, an old version can be
/// restored, retiring hides an article, versions cannot be edited, and bad input saves nothing.
async fn versions_keep_every_edit(app: TestApp) {
    let staff = app.signed_in(AGENT).await;
    let customer = app.signed_in(ACME_USER).await;
    let cat = category(&app, "Pipelines").await;
    let read_title = |c: reqwest::Client, number: String| {
        let app = &app;
        async move {
            let (status, body) = app
                .call(&c, "kb/article", &[("number", number.as_str())])
                .await;
            (
                status,
                body["title"].as_str().unwrap_or_default().to_string(),
            )
        }
    };

    // Bad input: errors next to each field, nothing stored.
    let articles = app.scalar("SELECT COUNT(*) FROM kb_articles").await;
    let (status, body) = save(
        &app,
        &staff,
        article(" ", "", "999999", "everyone").with("intent", "publish"),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        invalid_fields(&body),
        ["title", "body", "category_id", "visibility"]
    );
    let long = "x".repeat(161);
    let (status, body) = save(&app, &staff, article(&long, "Body", &cat, "public")).await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["title".to_string()])
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM kb_articles").await,
        articles
    );

    // v1: a draft nobody but staff reads.
    let (status, body) = save(
        &app,
        &staff,
        article("Cache warmup v1", "First text", &cat, "customers"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let number = body.as_str().unwrap().to_string();
    assert_eq!(read_title(customer.clone(), number.clone()).await.0, 404);
    assert_eq!(
        read_title(staff.clone(), number.clone()).await,
        (200, "Cache warmup v1".into())
    );
    // v2: published with a new title.
    let (status, _) = save(
        &app,
        &staff,
        article("Cache warmup v2", "Second text", &cat, "customers")
            .with("number", &number)
            .with("intent", "publish"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        read_title(customer.clone(), number.clone()).await,
        (200, "Cache warmup v2".into())
    );
    // v3: a draft of the published article: readers still see v2.
    let v3 = article("Cache warmup v3", "Third text", &cat, "customers").with("number", &number);
    let (status, _) = save(&app, &staff, v3.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        read_title(customer.clone(), number.clone()).await.1,
        "Cache warmup v2"
    );
    let (_, editor) = app
        .call(&staff, "kb/editor", &[("number", number.as_str())])
        .await;
    assert_eq!(
        (
            editor["title"].as_str(),
            editor["version"].as_i64(),
            editor["latest_version"].as_i64()
        ),
        (Some("Cache warmup v3"), Some(2), Some(3))
    );
    let (_, list) = app.call(&staff, "kb/list", &[("q", number.as_str())]).await;
    assert_eq!(list["rows"][0]["pending"], true, "{list}");
    // Saving the same draft again adds no version; publishing it publishes v3 without a new one.
    save(&app, &staff, v3.clone()).await;
    let (status, _) = save(&app, &staff, v3.with("intent", "publish")).await;
    assert_eq!(status, 200);
    assert_eq!(
        read_title(customer.clone(), number.clone()).await.1,
        "Cache warmup v3"
    );
    // Restore v1: a new version 4 copying it, shown to readers once published.
    let (status, body) = app
        .call(
            &staff,
            "kb/restore",
            &[("number", number.as_str()), ("version", "1")],
        )
        .await;
    assert_eq!((status, body.as_i64()), (200, Some(4)));
    assert_eq!(
        read_title(customer.clone(), number.clone()).await.1,
        "Cache warmup v3"
    );
    let (_, shown) = app
        .call(
            &staff,
            "kb/editor",
            &[("number", number.as_str()), ("version", "1")],
        )
        .await;
    assert_eq!(shown["shown"][1], "<p>First text</p>\n");
    save(
        &app,
        &staff,
        article("Cache warmup v1", "First text", &cat, "customers")
            .with("number", &number)
            .with("intent", "publish"),
    )
    .await;
    assert_eq!(
        read_title(customer.clone(), number.clone()).await.1,
        "Cache warmup v1"
    );
    let (_, editor) = app
        .call(&staff, "kb/editor", &[("number", number.as_str())])
        .await;
    let history: Vec<(i64, String, Option<i64>, String)> = editor["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["action"].as_str().unwrap().to_string(),
                v["restored_from"].as_i64(),
                v["edited_by"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let agent = "Alex Lindqvist".to_string();
    assert_eq!(
        history,
        vec![
            (4, "restore".into(), Some(1), agent.clone()),
            (3, "draft".into(), None, agent.clone()),
            (2, "publish".into(), None, agent.clone()),
            (1, "draft".into(), None, agent.clone()),
        ]
    );
    // Published three times, restored once: each in the audit trail with the actor.
    let id = app
        .scalar(&format!("SELECT id FROM users WHERE email = '{AGENT}'"))
        .await;
    let audited = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE target = '{number}' AND actor_id = {id} \
             AND action IN ('kb.article_published', 'kb.version_restored')"
        ))
        .await;
    assert_eq!(audited, 4);
    // Versions cannot be changed, not even directly in the database.
    let sql = "UPDATE kb_versions SET title = 'forged' WHERE version = 1";
    let forged =
        app::server::db::on_db!(&app.db, |c| sqlx::query(sql).execute(c).await.map(|_| ()));
    assert!(forged.is_err(), "a version was edited");
    // Retire: readers get not-found, staff still read it; retiring twice is refused.
    app.expect(&staff, "kb/retire", &[("number", number.as_str())], 200)
        .await;
    assert_eq!(read_title(customer.clone(), number.clone()).await.0, 404);
    assert_eq!(read_title(staff.clone(), number.clone()).await.0, 200);
    app.expect(&staff, "kb/retire", &[("number", number.as_str())], 409)
        .await;
    // Unknown numbers and versions are not found.
    app.expect(
        &staff,
        "kb/restore",
        &[("number", number.as_str()), ("version", "99")],
        404,
    )
    .await;
    app.expect(&staff, "kb/editor", &[("number", "KB0999999")], 404)
        .await;
    // Categories: a name is needed and unique.
    let (status, body) = app
        .call(&staff, "kb/category", &[("name", "pipelines")])
        .await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["name".to_string()])
    );
}

/// Cross-site scripting vectors, in Markdown and raw HTML: none survives into an article page,
/// and the editor's preview is exactly as safe.
const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(2)>",
    "<img src=\"javascript:alert(3)\">",
    "<svg onload=alert(4)>",
    "<svg><script>alert(5)</script></svg>",
    "<iframe src=\"javascript:alert(6)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(7)</script>\"></iframe>",
    "<a href=\"javascript:alert(8)\">click</a>",
    "<a href=\"JaVaScRiPt:alert(9)\">click</a>",
    "<a href=\"jav&#x09;ascript:alert(10)\">click</a>",
    "<a href=\"&#106;avascript:alert(11)\">click</a>",
    "<a href=\"vbscript:msgbox(12)\">click</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxMyk8L3NjcmlwdD4=\">click</a>",
    "[markdown link](javascript:alert(14))",
    "[spaced](  javascript:alert(15)  )",
    "![image](javascript:alert(16))",
    "<javascript:alert(17)>",
    "[ref link][r]\n\n[r]: javascript:alert(18)",
    "<div onclick=\"alert(19)\">click</div>",
    "<body onload=alert(20)>",
    "<input autofocus onfocus=alert(21)>",
    "<details open ontoggle=alert(22)>",
    "<object data=\"javascript:alert(23)\"></object>",
    "<embed src=\"javascript:alert(24)\">",
    "<form action=\"javascript:alert(25)\"><button>go</button></form>",
    "<button formaction=\"javascript:alert(26)\">go</button>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(27)>",
    "<style>body{background:url(javascript:alert(28))}</style>",
    "<p style=\"background:url(javascript:alert(29))\">styled</p>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(30)\">",
    "<base href=\"javascript:alert(31)//\">",
    "<link rel=stylesheet href=\"javascript:alert(32)\">",
    "<video><source onerror=\"alert(33)\"></video>",
    "<audio src=x onerror=alert(34)>",
    "<marquee onstart=alert(35)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(36)>\"></noscript>",
    "<template><script>alert(37)</script></template>",
    "<a href=\"https://example.com\" onmouseover=\"alert(38)\">hover</a>",
    "<img src=\"x\" alt=\"\" onerror=\"alert(39)\" />",
    "<xmp><script>alert(40)</script></xmp>",
];

const FORBIDDEN_TAGS: &[&str] = &[
    "script", "iframe", "object", "embed", "svg", "math", "style", "form", "input", "button",
    "meta", "base", "link", "frame", "frameset", "textarea", "select", "video", "audio", "source",
    "template", "noscript", "xmp", "body", "marquee",
];

/// Every tag in `html`, lower case.
fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        out.push(rest[start..start + end + 1].to_lowercase());
        rest = &rest[start + end + 1..];
    }
    out
}

/// Fails naming the first dangerous thing in sanitized `html`.
fn assert_harmless(html: &str, context: &str) {
    for tag in tags(html) {
        let name: String = tag
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            !FORBIDDEN_TAGS.contains(&name.as_str()),
            "{context}: tag {tag}"
        );
        for bad in [
            "javascript:",
            "vbscript:",
            "data:text",
            "srcdoc",
            "formaction",
            "style=",
        ] {
            assert!(!tag.contains(bad), "{context}: {bad} in {tag}");
        }
        // No event-handler attribute: ` on…=` anywhere inside the tag.
        let handler = tag
            .split(|c: char| c.is_whitespace() || c == '/' || c == '"')
            .any(|word| word.starts_with("on") && word.contains('='));
        assert!(!handler, "{context}: event handler in {tag}");
    }
}

async fn sanitizer_corpus_never_survives(app: TestApp) {
    assert!(XSS.len() >= 30);
    let staff = app.signed_in(AGENT).await;
    let body = XSS
        .iter()
        .enumerate()
        .map(|(i, v)| format!("Vector {i}:\n\n{v}\n\nEnd of vector {i}."))
        .collect::<Vec<_>>()
        .join("\n\n");
    let number = publish(&app, &staff, "Hostile article", &body, "public").await;
    // The article as a visitor's browser receives it.
    let page = app.page_text(&client(), &format!("/kb/{number}")).await;
    let start = page.find("class=\"kb-body\"").expect("the article body");
    let end = start
        + page[start..]
            .find("</article>")
            .expect("the end of the article");
    let html = &page[start..end];
    // Raw HTML left open (an unclosed <style> or <xmp>) may swallow what follows it, as in any
    // browser; what is shown is harmless either way.
    assert!(html.contains("End of vector 0."), "{html}");
    assert_harmless(html, "article page");
    // Each vector alone, through the editor's preview.
    for (i, vector) in XSS.iter().enumerate() {
        let (status, preview) = app.call(&staff, "kb/preview", &[("body", vector)]).await;
        assert_eq!(status, 200);
        assert_harmless(
            preview.as_str().unwrap(),
            &format!("preview of vector {i}: {vector}"),
        );
    }
    // And what stays is still useful: a safe link keeps its target.
    let (_, preview) = app
        .call(
            &staff,
            "kb/preview",
            &[("body", "[docs](https://example.com/a) and KB0010001")],
        )
        .await;
    let preview = preview.as_str().unwrap();
    assert!(
        preview.contains("href=\"https://example.com/a\""),
        "{preview}"
    );
    assert!(preview.contains("href=\"/kb/KB0010001\""), "{preview}");
}

/// Helpful votes (one per reader, changeable), views, links between articles, and the server-
/// rendered page a search engine gets.
async fn votes_views_links_and_indexable_pages(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let visitor = client();
    let counts = |number: &'static str| {
        let app = &app;
        async move {
            (
                app.scalar(&format!(
                    "SELECT helpful FROM kb_articles WHERE number = '{number}'"
                ))
                .await,
                app.scalar(&format!(
                    "SELECT unhelpful FROM kb_articles WHERE number = '{number}'"
                ))
                .await,
            )
        }
    };
    let form = same_origin_form(&app, &format!("/kb/{PUBLIC}"));
    let vote = |c: reqwest::Client, number: &'static str, helpful: &'static str| {
        let app = &app;
        let form = form.clone();
        async move {
            let res = app
                .post_form(
                    &c,
                    "/api/kb/vote",
                    form,
                    &[("number", number), ("helpful", helpful)],
                )
                .await;
            res.status().as_u16()
        }
    };
    // A visitor votes yes, then changes to no: one vote, moved.
    assert!(vote(visitor.clone(), PUBLIC, "yes").await < 400);
    assert_eq!(counts(PUBLIC).await, (1, 0));
    assert!(vote(visitor.clone(), PUBLIC, "yes").await < 400);
    assert_eq!(counts(PUBLIC).await, (1, 0));
    assert!(vote(visitor.clone(), PUBLIC, "no").await < 400);
    assert_eq!(counts(PUBLIC).await, (0, 1));
    // A signed-in customer's vote is their own.
    let customer = app.signed_in(ACME_USER).await;
    assert!(vote(customer.clone(), PUBLIC, "yes").await < 400);
    assert_eq!(counts(PUBLIC).await, (1, 1));
    let (_, article) = app
        .call(&customer, "kb/article", &[("number", PUBLIC)])
        .await;
    assert_eq!(article["my_vote"], true);
    // Nobody votes on what they cannot read; a bad answer is refused.
    app.expect(
        &visitor,
        "kb/vote",
        &[("number", CUSTOMERS), ("helpful", "yes")],
        404,
    )
    .await;
    assert_eq!(counts(CUSTOMERS).await, (0, 0));
    app.expect(
        &customer,
        "kb/vote",
        &[("number", PUBLIC), ("helpful", "maybe")],
        422,
    )
    .await;
    assert_eq!(counts(PUBLIC).await, (1, 1));

    // Views count a reader's reads of a published article once a day (a page embedding the URL
    // cannot inflate them); another reader counts again.
    let views = app
        .scalar(&format!(
            "SELECT views FROM kb_articles WHERE number = '{PUBLIC}'"
        ))
        .await;
    let reader = app.signed_in("admin@acme.example").await;
    for _ in 0..3 {
        app.call(&reader, "kb/article", &[("number", PUBLIC)]).await;
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT views FROM kb_articles WHERE number = '{PUBLIC}'"
        ))
        .await,
        views + 1
    );

    // KB0010002 cites KB0010001: linked in the text and listed as related, for readers who may see
    // it; an article citing a customer-only one shows a visitor no title of it.
    let (_, cites) = app
        .call(&visitor, "kb/article", &[("number", "KB0010002")])
        .await;
    assert!(
        cites["body_html"]
            .as_str()
            .unwrap()
            .contains("href=\"/kb/KB0010001\""),
        "{cites}"
    );
    assert_eq!(cites["related"][0]["number"], PUBLIC);
    let staff = app.signed_in(AGENT).await;
    let citing = publish(
        &app,
        &staff,
        "Stalled executions overview",
        &format!("See {CUSTOMERS}."),
        "public",
    )
    .await;
    let (_, seen) = app
        .call(&visitor, "kb/article", &[("number", citing.as_str())])
        .await;
    assert_eq!(seen["related"], serde_json::json!([]));
    let (_, seen) = app
        .call(&customer, "kb/article", &[("number", citing.as_str())])
        .await;
    assert_eq!(
        seen["related"][0]["title"],
        "Pipeline stuck in RUNNING after an Orca restart"
    );

    // What a search engine gets: title, description and canonical URL in the served HTML.
    let page = app
        .page_text(&plain_client(), &format!("/kb/{PUBLIC}"))
        .await;
    assert!(
        page.contains("<title>Reset your portal password · Portcullis</title>"),
        "{page}"
    );
    assert!(
        page.contains("<meta name=\"description\" content=\"Forgot your password? On the sign-in page choose Forgot your password?"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<link href=\"{}/kb/{PUBLIC}\" rel=\"canonical\">",
            app.base
        )),
        "{page}"
    );
    assert!(!page.contains("noindex"));
    // A customer-only article's page is, for a visitor, the page of a number that does not exist.
    let hidden = plain_client()
        .get(app.url(&format!("/kb/{CUSTOMERS}")))
        .send()
        .await
        .unwrap();
    let nothing = plain_client()
        .get(app.url("/kb/KB0999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (hidden.status().as_u16(), nothing.status().as_u16()),
        (404, 404)
    );
    let hidden = hidden.text().await.unwrap();
    assert!(hidden.contains("Page not found") && !hidden.contains("Orca restart"));
    // A signed-in customer's copy of it is marked not to be indexed.
    let page = app.page_text(&customer, &format!("/kb/{CUSTOMERS}")).await;
    assert!(
        page.contains("Orca restart") && page.contains("noindex"),
        "{page}"
    );
}

/// The KB home and search as pages: categories, newest, most read, highlighted results.
async fn home_and_search_pages(app: TestApp) {
    let visitor = plain_client();
    let page = app.page_text(&visitor, "/kb").await;
    for text in [
        "Knowledge base",
        "Getting started",
        "Newest articles",
        "Most read",
        "Reset your portal password",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    assert!(
        !page.contains("Collecting diagnostic logs"),
        "a customer-only article on the visitor's home"
    );
    let page = app.page_text(&visitor, "/kb?q=terraform+credentials").await;
    assert!(page.contains("1 article match"), "{page}");
    assert!(page.contains("<mark>Terraform</mark>"), "{page}");
    assert!(page.contains("valid <mark>credentials</mark>"), "{page}");
    // Other forms of a word find it ("restarts" → "restart", "canaries" → "Canary"), and so do
    // the letters of a word still being typed.
    let customer = app.signed_in(ACME_USER).await;
    for q in ["orca restarts", "pipelines stuck"] {
        let (_, found) = app.call(&customer, "kb/search", &[("q", q)]).await;
        assert_eq!(found["rows"][0]["number"], CUSTOMERS, "{q}: {found}");
    }
    let (_, found) = app.call(&visitor, "kb/search", &[("q", "canaries")]).await;
    assert_eq!(found["rows"][0]["number"], "KB0010006", "{found}");
    let (_, suggested) = app
        .call(&customer, "kb/suggest", &[("q", "diagnostic lo")])
        .await;
    assert_eq!(suggested[0]["number"], "KB0010004", "{suggested}");
    // An article number goes straight to the article when the reader may see it.
    let (_, found) = app.call(&visitor, "kb/search", &[("q", "kb0010001")]).await;
    assert_eq!(found["rows"][0]["number"], PUBLIC);
    let (_, found) = app.call(&visitor, "kb/search", &[("q", CUSTOMERS)]).await;
    assert_eq!(found["total"], 0);
    // Stop words alone and punctuation find nothing rather than failing.
    for q in ["the of", "\"*:()&|!", "   "] {
        let (status, found) = app.call(&visitor, "kb/search", &[("q", q)]).await;
        assert_eq!((status, found["total"].as_i64()), (200, Some(0)), "{q}");
    }
}

both_engines!(
    visibility_matrix_for_reading_listing_and_search,
    authoring_is_for_staff_only,
    versions_keep_every_edit,
    sanitizer_corpus_never_survives,
    home_and_search_pages
);
both_engines!(engine: votes_views_links_and_indexable_pages);
