//! The search index: typo tolerance, prefixes and ranking, visibility inside the index, another
//! instance following the change feed, and rebuilds (missing index, `reindex`, pruned feed).

use crate::both_engines;
use crate::helpers::*;
use app::server::search::{self, SearchIndex};
use serde_json::Value;

const ACME_USER: &str = "user@acme.example";
const ACME_SECONDARY: &str = "secondary@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";

fn numbers(found: &Value) -> Vec<String> {
    found["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r["number"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Misspelt longer words, word beginnings and title words, each only within the reader's reach.
async fn knowledge_base_search_forgives_typos_and_ranks_titles_first(app: TestApp) {
    let visitor = plain_client();
    let customer = app.signed_in(ACME_USER).await;
    let agent = app.signed_in(AGENT).await;
    // A swapped or missing letter in a word of five letters or more still finds it.
    for q in ["terrafrom", "authentcation errors", "Terraform credentails"] {
        let (status, found) = app.call(&visitor, "kb/search", &[("q", q)]).await;
        assert_eq!(status, 200, "{q}: {found}");
        assert_eq!(numbers(&found), vec!["KB0010006"], "{q}: {found}");
    }
    // …but a short word must be spelt right, and every word must be found.
    for q in ["terraform zzq", "tls1 terraform"] {
        let (_, found) = app.call(&visitor, "kb/search", &[("q", q)]).await;
        assert_eq!(found["total"], 0, "{q}: {found}");
    }
    // An internal article is out of a visitor's and a customer's reach, misspelt or not.
    for q in ["triage checklist", "traige checklist"] {
        for (who, client, hits) in [
            ("visitor", &visitor, 0),
            ("customer", &customer, 0),
            ("agent", &agent, 1),
        ] {
            let (_, found) = app.call(client, "kb/search", &[("q", q)]).await;
            assert_eq!(found["total"], hits, "{who} searching {q}: {found}");
        }
    }
    let (_, found) = app.call(&agent, "kb/search", &[("q", "traige")]).await;
    assert_eq!(numbers(&found), vec!["KB0010007"]);
    // A word in a title ranks above the same word in a body ("Pipelines as Code").
    let (_, found) = app.call(&customer, "kb/search", &[("q", "pipeline")]).await;
    let hits = numbers(&found);
    assert_eq!(
        hits.first().map(String::as_str),
        Some("KB0010003"),
        "{found}"
    );
    assert!(hits.contains(&"KB0010005".to_string()), "{found}");
    // While typing, the last word is a beginning.
    let (_, suggested) = app
        .call(&visitor, "kb/suggest", &[("q", "terraform authent")])
        .await;
    assert_eq!(suggested[0]["number"], "KB0010006", "{suggested}");
    let (_, suggested) = app
        .call(&customer, "kb/suggest", &[("q", "collecting diagn")])
        .await;
    assert_eq!(suggested[0]["number"], "KB0010004", "{suggested}");
    // Retiring an article takes it out of search at once.
    app.exec("UPDATE kb_articles SET state = 'retired' WHERE number = 'KB0010006'")
        .await;
    let (_, found) = app.call(&visitor, "kb/search", &[("q", "terraform")]).await;
    assert_eq!(found["total"], 0, "{found}");
}

/// Opens a case as the ACME user with `subject` and `description`; answers its number.
async fn open_case(app: &TestApp, subject: &str, description: &str) -> String {
    open_case_as(app, ACME_USER, subject, description).await
}

async fn open_case_as(app: &TestApp, email: &str, subject: &str, description: &str) -> String {
    let user = app.signed_in(email).await;
    let mut f = crate::cases::form(app, email).await;
    f.set("subject", subject);
    f.set("description", description);
    let body = app.expect(&user, "cases/create", &f.fields(), 200).await;
    body.as_str().expect("a case number").to_string()
}

fn queue(search: &str, more: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut form = vec![("queue", "all".to_string()), ("search", search.to_string())];
    for (key, value) in more {
        form.retain(|(k, _)| k != key);
        form.push((key, value.to_string()));
    }
    form
}

async fn searched(
    app: &TestApp,
    client: &reqwest::Client,
    form: &[(&'static str, String)],
) -> Value {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.expect(client, "cases/queue", &pairs, 200).await
}

/// A second portal instance on the same database follows cases written through the first: new
/// cases, changed subjects and states, with the queue's own conditions applied in the index.
async fn another_instance_follows_case_changes(engine: Engine) {
    let Some(first) = spawn(engine).await else {
        return;
    };
    let url = first.settings.database_url.expose().to_string();
    let second = spawn_on(&url, app::server::Settings::default()).await;
    let agent = second.signed_in(AGENT).await;
    let older = open_case(&first, "Quokka telemetry gap", "Metrics stop at midnight.").await;
    let newer = open_case(
        &first,
        "Dashboard slow",
        "Loading the telemetry panel takes a minute.",
    )
    .await;
    // Best match first (the subject's word), then newest or oldest when asked.
    let found = searched(&second, &agent, &queue("telemetry", &[])).await;
    assert_eq!(
        numbers(&found),
        vec![older.clone(), newer.clone()],
        "{found}"
    );
    assert_eq!(found["total"], 2);
    let found = searched(&second, &agent, &queue("telemetry", &[("sort", "newest")])).await;
    assert_eq!(
        numbers(&found),
        vec![newer.clone(), older.clone()],
        "{found}"
    );
    let found = searched(&second, &agent, &queue("telemetry", &[("sort", "oldest")])).await;
    assert_eq!(
        numbers(&found),
        vec![older.clone(), newer.clone()],
        "{found}"
    );
    // A misspelt word.
    let found = searched(&second, &agent, &queue("quoka", &[])).await;
    assert_eq!(numbers(&found), vec![older.clone()], "{found}");
    // The queue and filters narrow inside the index.
    for (more, hits) in [
        (vec![("queue", "unassigned")], 2),
        (vec![("queue", "mine")], 0),
        (vec![("queue", "breaching")], 0),
        (vec![("account", "ACME")], 2),
        (vec![("account", "GLOBEX")], 0),
        (vec![("account", "NOSUCHKEY")], 0),
        (vec![("state_filter", "new")], 2),
        (vec![("state_filter", "closed")], 0),
        (vec![("priority", "3")], 2),
        (vec![("priority", "1")], 0),
    ] {
        let found = searched(&second, &agent, &queue("telemetry", &more)).await;
        assert_eq!(found["total"], hits, "{more:?}: {found}");
    }
    // Changed on the first instance: the second finds the new words, not the old.
    first
        .exec(&format!(
            "UPDATE cases SET subject = 'Wombat telemetry gap' WHERE number = '{older}'"
        ))
        .await;
    let found = searched(&second, &agent, &queue("wombat", &[])).await;
    assert_eq!(numbers(&found), vec![older.clone()], "{found}");
    let found = searched(&second, &agent, &queue("quokka", &[])).await;
    assert_eq!(found["total"], 0, "{found}");
    // Taken by the agent: out of the unassigned queue's search, into theirs.
    let me = second
        .scalar(&format!("SELECT id FROM users WHERE email = '{AGENT}'"))
        .await;
    first
        .exec(&format!(
            "UPDATE cases SET assigned_to = {me}, state = 'open' WHERE number = '{newer}'"
        ))
        .await;
    let found = searched(&second, &agent, &queue("telemetry", &[("queue", "mine")])).await;
    assert_eq!(numbers(&found), vec![newer.clone()], "{found}");
    let found = searched(
        &second,
        &agent,
        &queue("telemetry", &[("queue", "unassigned")]),
    )
    .await;
    assert_eq!(numbers(&found), vec![older.clone()], "{found}");
    // Customers and visitors cannot search the staff queues at all.
    let customer = second.signed_in(ACME_USER).await;
    second
        .expect(
            &customer,
            "cases/queue",
            &[("queue", "all"), ("search", "telemetry")],
            403,
        )
        .await;
    second
        .expect(
            &plain_client(),
            "cases/queue",
            &[("queue", "all"), ("search", "telemetry")],
            401,
        )
        .await;
}

/// An index is built when missing, carries on where it stopped after a restart, and is rebuilt
/// when asked (`reindex`) or when the changes it has not read were pruned.
async fn indexes_are_rebuilt_when_missing_asked_for_or_behind(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let path = path.to_str().unwrap();
    open_case(&app, "Quokka telemetry gap", "Metrics stop at midnight.").await;
    let cases = app.scalar("SELECT COUNT(*) FROM cases").await as u64;
    let published = app
        .scalar("SELECT COUNT(*) FROM kb_articles WHERE state = 'published'")
        .await as u64;
    assert!(cases > 0 && published > 0);
    let index = SearchIndex::open(path).unwrap();
    assert!(!index.ready());
    // Only one process may write an index directory.
    assert!(SearchIndex::open(path).is_err());
    let done = index.catch_up(&app.db).await.unwrap();
    assert!(done.rebuilt, "{done:?}");
    assert_eq!(index.documents(), (cases, published));
    drop(index);
    // Reopened: it goes on from where it stopped.
    let index = SearchIndex::open(path).unwrap();
    assert!(index.ready());
    assert_eq!(index.documents(), (cases, published));
    let done = index.catch_up(&app.db).await.unwrap();
    assert!(!done.rebuilt, "{done:?}");
    app.exec("UPDATE kb_articles SET state = 'draft' WHERE number = 'KB0010001'")
        .await;
    let done = index.catch_up(&app.db).await.unwrap();
    assert_eq!((done.rebuilt, done.articles), (false, 1), "{done:?}");
    assert_eq!(index.documents(), (cases, published - 1));
    // Asked for by `reindex`.
    search::request_rebuild(&app.db).await.unwrap();
    assert!(index.catch_up(&app.db).await.unwrap().rebuilt);
    assert_eq!(index.documents(), (cases, published - 1));
    // Changes it has not read are pruned: rebuilt.
    app.exec("UPDATE kb_articles SET state = 'published' WHERE number = 'KB0010001'")
        .await;
    let now = app::server::now();
    assert!(search::prune_changes(&app.db, now + 10, 0).await.unwrap() > 0);
    assert!(index.catch_up(&app.db).await.unwrap().rebuilt);
    assert_eq!(index.documents(), (cases, published));
    drop(index);
    // Missing (deleted): rebuilt.
    std::fs::remove_dir_all(path).unwrap();
    let index = SearchIndex::open(path).unwrap();
    assert!(!index.ready());
    assert!(index.catch_up(&app.db).await.unwrap().rebuilt);
    assert_eq!(index.documents(), (cases, published));
    // Pointed at another database (whose change numbers mean something else): rebuilt from it.
    let other = spawn(engine).await.unwrap();
    assert!(index.catch_up(&other.db).await.unwrap().rebuilt);
    assert_eq!(index.documents(), (0, published));
}

/// Customers search their own account's cases (or their own), never another account's, through
/// the index; the page keeps the words.
async fn customers_search_only_their_account(app: TestApp) {
    let acme = open_case(&app, "Quokka telemetry gap", "Metrics stop at midnight.").await;
    let globex = open_case_as(
        &app,
        GLOBEX_USER,
        "Quokka exporter crash",
        "After the upgrade.",
    )
    .await;
    let list = |scope: &'static str, q: &'static str| [("scope", scope), ("search", q)];
    for (email, scope, expected) in [
        (ACME_USER, "mine", vec![acme.clone()]),
        (ACME_USER, "team", vec![acme.clone()]),
        (ACME_SECONDARY, "mine", vec![]),
        (ACME_SECONDARY, "team", vec![acme.clone()]),
        (GLOBEX_USER, "team", vec![globex.clone()]),
    ] {
        let client = app.signed_in(email).await;
        let found = app
            .expect(&client, "cases/list", &list(scope, "quokka"), 200)
            .await;
        assert_eq!(numbers(&found), expected, "{email} {scope}: {found}");
        assert_eq!(found["total"], expected.len(), "{email} {scope}");
    }
    // A misspelling, several words, no match.
    let user = app.signed_in(ACME_USER).await;
    for (q, hits) in [("quoka", 1), ("quokka midnight", 1), ("quokka exporter", 0)] {
        let found = app.expect(&user, "cases/list", &list("team", q), 200).await;
        assert_eq!(found["total"], hits, "{q}: {found}");
    }
    let page = app.page_text(&user, "/cases?scope=team&q=quokka").await;
    assert!(page.contains(&acme) && !page.contains(&globex), "{page}");
    assert!(
        page.contains("value=\"quokka\""),
        "the search stays in its field"
    );
    // Staff use the queues; a visitor nothing.
    let agent = app.signed_in(AGENT).await;
    app.expect(&agent, "cases/list", &list("team", "quokka"), 403)
        .await;
    app.expect(&plain_client(), "cases/list", &list("team", "quokka"), 401)
        .await;
}

/// Cases copied from case `number` `copies` times, numbered `prefix` and 1, 2…, in one statement
/// (as an import or a bulk change writes them): one change each in the search feed.
async fn copy_case(app: &TestApp, number: &str, prefix: &str, copies: usize) {
    let columns = "account_id, contact_id, created_by, on_behalf, product_version_id, impact_id, \
                   workaround, feature_id, service_id, environment, availability_id, subject, \
                   description, state, priority, assignment_group_id, created_at, updated_at";
    app.exec(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {copies}) \
         INSERT INTO cases (number, {columns}) SELECT '{prefix}' || n.i, {columns} FROM cases, n \
         WHERE number = '{number}'"
    ))
    .await;
}

/// A search index of its own (in a directory removed when the first value is dropped), caught up
/// with one case just opened, whose number is the third value.
async fn index_with_one_case(app: &TestApp) -> (tempfile::TempDir, SearchIndex, String) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path().join("index").to_str().unwrap()).unwrap();
    let first = open_case(app, "Quokka telemetry gap", "Metrics stop at midnight.").await;
    index.catch_up(&app.db).await.unwrap();
    (dir, index, first)
}

/// The first page of public articles with `terms`: any search, which catches the index up first.
fn public_articles(terms: &[String]) -> search::ArticleQuery<'_> {
    search::ArticleQuery {
        terms,
        typing: false,
        visibilities: &["public"],
        category: None,
        offset: 0,
        limit: 10,
        count_cap: 100,
    }
}

/// A burst of changes (cases closed in bulk, an import) does not hold searches up: they answer
/// from the index as it is while the burst is applied behind them. A few changes, a person's own,
/// are waited for, so a case just opened is found at once.
async fn a_burst_of_changes_is_applied_behind_the_searches(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let (_dir, index, first) = index_with_one_case(&app).await;
    let (before, _) = index.documents();
    let terms = vec!["telemetry".to_string()];
    let query = public_articles(&terms);
    // A few: the search waits for them.
    copy_case(&app, &first, "CSFEW", 3).await;
    index.articles(&app.db, &query).await.unwrap();
    assert_eq!(index.documents().0, before + 3);
    // Many: the search answers at once, from the index without them.
    copy_case(&app, &first, "CSMANY", 150).await;
    index.articles(&app.db, &query).await.unwrap();
    assert_eq!(index.documents().0, before + 3);
    // They are in it once the catch-up the search started is done.
    index.catch_up(&app.db).await.unwrap();
    assert_eq!(index.documents().0, before + 3 + 150);
}

/// Searches asking at once for the same few changes share a catch-up: each used to run its own,
/// so under a stream of changes (resolved cases closed one by one) the searches stood in line,
/// one index commit each.
async fn searches_waiting_at_once_share_a_catch_up(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let (_dir, index, first) = index_with_one_case(&app).await;
    let (before, _) = index.documents();
    let terms = vec!["telemetry".to_string()];
    let query = public_articles(&terms);
    copy_case(&app, &first, "CSSHARED", 3).await;
    let begun = index.catch_ups();
    let searches = (0..16).map(|_| index.articles(&app.db, &query));
    for found in futures::future::join_all(searches).await {
        found.unwrap();
    }
    // Every search waited for the changes…
    assert_eq!(index.documents().0, before + 3);
    // …and they were applied once, or twice when a search came in the middle of the first.
    let ran = index.catch_ups() - begun;
    assert!((1..=2).contains(&ran), "{ran} catch-ups for 16 searches");
}

both_engines!(
    customers_search_only_their_account,
    knowledge_base_search_forgives_typos_and_ranks_titles_first
);
both_engines!(engine: another_instance_follows_case_changes, indexes_are_rebuilt_when_missing_asked_for_or_behind, a_burst_of_changes_is_applied_behind_the_searches, searches_waiting_at_once_share_a_catch_up);
