//! Home pages show each person the work waiting for them, and only theirs.

use crate::both_engines;
use crate::helpers::*;
use serde_json::Value;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const ACME_SECONDARY: &str = "secondary@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const GLOBEX_ADMIN: &str = "admin@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn work(app: &TestApp, who: &str) -> Value {
    let c = app.signed_in(who).await;
    app.expect(&c, "home/work", &[], 200).await
}

fn numbers(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|c| c["number"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn home_pages_show_each_person_their_own_work(app: TestApp) {
    assert_eq!(app.call(&client(), "home/work", &[]).await.0, 401);

    // A customer's case, which staff answer with a question: it waits for the customer.
    let user = app.signed_in(ACME_USER).await;
    let f = crate::cases::form(&app, ACME_USER).await;
    let number = app.expect(&user, "cases/create", &f.fields(), 200).await;
    let number = number.as_str().unwrap().to_string();
    let before = work(&app, ACME_USER).await;
    assert!(
        numbers(&before["Customer"]["recent"]).contains(&number),
        "{before}"
    );
    assert!(!numbers(&before["Customer"]["awaiting_you"]).contains(&number));
    assert!(
        before["Customer"]["to_authorize"].is_null(),
        "a user authorizes nothing"
    );

    let agent = app.signed_in(AGENT).await;
    app.expect(
        &agent,
        "cases/step",
        &[
            ("number", &number),
            ("step", "ask_info"),
            ("comment", "Which version of the agent runs there?"),
        ],
        200,
    )
    .await;
    let after = work(&app, ACME_USER).await;
    assert!(
        numbers(&after["Customer"]["awaiting_you"]).contains(&number),
        "{after}"
    );
    let page = app.page_text(&user, "/").await;
    assert!(page.contains("Waiting for your answer"));
    assert!(page.contains(&format!("/cases/{number}")));
    assert!(page.contains("Search the knowledge base"));

    // Another account's people never see it.
    for other in [GLOBEX_USER, GLOBEX_ADMIN] {
        let theirs = work(&app, other).await;
        assert!(!theirs.to_string().contains(&number), "{other}: {theirs}");
    }

    // A change request raised on the account's behalf waits for its administrators.
    let acme = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let platform = app.signed_in(PLATFORM_ADMIN).await;
    let change = crate::changes::form(&app, ACME_USER)
        .await
        .with("account_id", acme.clone());
    let change = app
        .expect(&platform, "changes/create", &change.fields(), 200)
        .await;
    let change = change.as_str().unwrap().to_string();
    for admin in [ACME_ADMIN, ACME_SECONDARY] {
        let theirs = work(&app, admin).await;
        assert!(
            numbers(&theirs["Customer"]["to_authorize"]).contains(&change),
            "{admin}: {theirs}"
        );
    }
    assert!(numbers(&work(&app, GLOBEX_ADMIN).await["Customer"]["to_authorize"]).is_empty());

    // Staff: their queues with counts; their own cases.
    let group = app
        .scalar("SELECT id FROM assignment_groups WHERE name = 'Technical Support'")
        .await
        .to_string();
    app.expect(
        &agent,
        "cases/fields",
        &[
            ("number", &number),
            ("assigned_to", "me"),
            ("assignment_group_id", &group),
        ],
        200,
    )
    .await;
    let staff = work(&app, AGENT).await;
    let queues: Vec<(String, i64)> = staff["Staff"]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["queue"].as_str().unwrap().to_string(),
                q["total"].as_i64().unwrap(),
            )
        })
        .collect();
    let unassigned = app
        .scalar(
            "SELECT COUNT(*) FROM cases WHERE assigned_to IS NULL \
             AND state IN ('new', 'open', 'awaiting_info')",
        )
        .await;
    // Each total is what the queue's own page counts, in the order the home page lists them.
    let agent_id = app
        .scalar(&format!("SELECT id FROM users WHERE email = '{AGENT}'"))
        .await;
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let expected = vec![
        ("unassigned".to_string(), unassigned),
        (
            "mine".to_string(),
            app.scalar(&format!(
                "SELECT COUNT(*) FROM cases WHERE assigned_to = {agent_id} \
                 AND state IN ('new', 'open', 'awaiting_info', 'resolved')"
            ))
            .await,
        ),
        (
            "groups".to_string(),
            app.scalar(&format!(
                "SELECT COUNT(*) FROM cases WHERE assignment_group_id IN \
                 (SELECT group_id FROM group_members WHERE user_id = {agent_id}) \
                 AND state IN ('new', 'open', 'awaiting_info')"
            ))
            .await,
        ),
        (
            "breaching".to_string(),
            app.scalar(&format!(
                "SELECT COUNT(*) FROM cases WHERE due_at IS NOT NULL AND due_at < {soon}"
            ))
            .await,
        ),
    ];
    assert_eq!(queues, expected);
    assert!(expected[1].1 >= 1 && expected[2].1 >= 1, "{expected:?}");
    assert!(
        numbers(&staff["Staff"]["mine"]).contains(&number),
        "{staff}"
    );
    assert!(
        staff["Staff"]["platform"].is_null(),
        "agents get no oversight"
    );
    let page = app.page_text(&agent, "/").await;
    assert!(page.contains("/staff/cases?queue=unassigned"));

    // Platform admins: accounts without a contact or an administrator, failed mail.
    app.exec("UPDATE accounts SET primary_contact_id = NULL WHERE account_key = 'INITECH'")
        .await;
    app.exec("UPDATE mail_outbox SET failed_at = next_attempt_at WHERE id = (SELECT MIN(id) FROM mail_outbox)")
        .await;
    let oversight = work(&app, PLATFORM_ADMIN).await;
    let gaps: Vec<&str> = oversight["Staff"]["platform"]["without_contact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(gaps.iter().any(|n| n.starts_with("Initech")), "{gaps:?}");
    assert!(!gaps.iter().any(|n| n.starts_with("Acme")), "{gaps:?}");
    assert_eq!(oversight["Staff"]["platform"]["failed_mails"], 1);
    let page = app.page_text(&platform, "/").await;
    assert!(page.contains("Accounts without an active primary contact"));
    assert!(page.contains("1 mail could not be delivered"));
}

both_engines!(home_pages_show_each_person_their_own_work);

/// A customer's home lists, newest first, the cases waiting for them (a question to answer, a
/// resolution to confirm) and apart from those their five newest new or open cases; a cancelled
/// case is in neither.
async fn a_customer_home_shows_the_newest_of_each_kind(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let agent = app.signed_in(AGENT).await;
    let f = crate::cases::form(&app, ACME_USER).await;
    let mut opened = Vec::new();
    for _ in 0..9 {
        let number = app.expect(&user, "cases/create", &f.fields(), 200).await;
        opened.push(number.as_str().unwrap().to_string());
    }
    for (number, steps) in [
        (&opened[0], &["ask_info"][..]),
        (&opened[1], &["start", "resolve"][..]),
        (&opened[2], &["cancel"][..]),
        (&opened[3], &["start"][..]),
    ] {
        for step in steps {
            app.expect(
                &agent,
                "cases/step",
                &[
                    ("number", number.as_str()),
                    ("step", step),
                    ("comment", "Done as asked."),
                ],
                200,
            )
            .await;
        }
    }
    let home = work(&app, ACME_USER).await;
    let newest: Vec<String> = opened[4..].iter().rev().cloned().collect();
    assert_eq!(numbers(&home["Customer"]["recent"]), newest, "{home}");
    let awaiting = numbers(&home["Customer"]["awaiting_you"]);
    assert_eq!(
        awaiting[..2],
        [opened[1].clone(), opened[0].clone()],
        "{home}"
    );
    assert!(!home.to_string().contains(&opened[2]), "{home}");
    assert!(!home.to_string().contains(&opened[3]), "only five: {home}");
    // Another person of the account sees none of them on their home.
    let theirs = work(&app, ACME_SECONDARY).await;
    for number in &opened {
        assert!(!theirs.to_string().contains(number.as_str()), "{theirs}");
    }
}

both_engines!(a_customer_home_shows_the_newest_of_each_kind);
