//! Customer accounts and their contacts (SPEC §2, §3.2): only platform admins create and edit
//! them; setting a contact makes them an administrator; replacing one does what is answered.

use crate::both_engines;
use crate::helpers::*;

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const OTHER_ADMIN: &str = "admin@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn id_of(app: &TestApp, email: &str) -> String {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

async fn acme(app: &TestApp) -> String {
    app.scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string()
}

async fn accounts_are_created_and_edited_by_platform_admins_only(app: TestApp) {
    let form = [
        ("name", "Umbrella Ltd"),
        ("account_key", "umbrella"),
        ("service_tier", "managed"),
        ("environments", "Production\nDR\n\nproduction"),
    ];
    assert_eq!(app.call(&client(), "accounts/save", &form).await.0, 401);
    for who in [CUSTOMER_USER, CUSTOMER_ADMIN, AGENT] {
        let c = app.signed_in(who).await;
        assert_eq!(app.call(&c, "accounts/save", &form).await.0, 403, "{who}");
        assert_eq!(app.call(&c, "accounts/staff", &[]).await.0, 403, "{who}");
    }
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let body = app.expect(&staff, "accounts/save", &form, 200).await;
    let id = body.as_i64().unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounts WHERE id = {id} AND account_key = 'UMBRELLA' \
             AND environments = 'Production\nDR'"
        ))
        .await,
        1,
        "key upper-cased, blank and repeated environments dropped"
    );
    // Bad input: every problem named, nothing changed.
    let body = app
        .expect(
            &staff,
            "accounts/save",
            &[
                ("account_id", &id.to_string()),
                ("name", ""),
                ("account_key", "acme"),
                ("service_tier", "gold"),
                ("environments", " "),
                ("tam_user_id", "999999"),
            ],
            422,
        )
        .await;
    let text = body.to_string();
    for field in ["name", "service_tier", "environments", "tam_user_id"] {
        assert!(text.contains(field), "{field}: {text}");
    }
    // A taken key is reported on its field.
    let agent_id = id_of(&app, AGENT).await;
    let body = app
        .expect(
            &staff,
            "accounts/save",
            &[
                ("account_id", &id.to_string()),
                ("name", "Umbrella Corporation"),
                ("account_key", "acme"),
                ("service_tier", "self-hosted"),
                ("environments", "Production"),
            ],
            422,
        )
        .await;
    assert!(body.to_string().contains("account_key"), "{body}");
    app.expect(
        &staff,
        "accounts/save",
        &[
            ("account_id", &id.to_string()),
            ("name", "Umbrella Corporation"),
            ("account_key", "UMB"),
            ("service_tier", "self-hosted"),
            ("environments", "Production"),
            ("tam_user_id", &agent_id),
            ("csm_user_id", ""),
        ],
        200,
    )
    .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounts WHERE id = {id} AND name = 'Umbrella Corporation' \
             AND tam_user_id = {agent_id} AND csm_user_id IS NULL AND service_tier = 'self-hosted'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('account.created', 'account.updated')"
        )
        .await,
        2
    );

    // Agents may look at any account; customers at none through the staff console.
    let agent = app.signed_in(AGENT).await;
    let args = [
        ("account_id", id.to_string()),
        ("search", "".into()),
        ("status", "".into()),
        ("sort", "name".into()),
        ("page", "1".into()),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = app.expect(&agent, "accounts/get", &args, 200).await;
    assert_eq!(body["can_manage"], false);
    assert_eq!(body["account"]["name"], "Umbrella Corporation");
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    assert_eq!(app.call(&admin, "accounts/get", &args).await.0, 403);
    // Searching the console by name or key.
    let (_, body) = app
        .call(&agent, "accounts/list", &[("page", "1"), ("search", "umb")])
        .await;
    assert_eq!(body["total"], 1, "{body}");
}

async fn contacts_become_administrators_and_replacement_does_what_is_answered(app: TestApp) {
    let acme = acme(&app).await;
    let user = id_of(&app, CUSTOMER_USER).await;
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let set = |user_id: String, stays: Option<&'static str>| {
        let acme = acme.clone();
        let app = &app;
        let staff = &staff;
        async move {
            let mut form = vec![
                ("account_id", acme),
                ("role", "primary".to_string()),
                ("user_id", user_id),
                ("reason", "Customer asked in writing".to_string()),
                ("reference", "CS0000042".to_string()),
            ];
            if let Some(s) = stays {
                form.push(("previous_stays_admin", s.to_string()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call(staff, "accounts/contact", &form).await
        }
    };
    // Who may: nobody but platform admins.
    for who in [CUSTOMER_ADMIN, AGENT] {
        let c = app.signed_in(who).await;
        let (status, _) = app
            .call(
                &c,
                "accounts/contact",
                &[
                    ("account_id", &acme),
                    ("role", "primary"),
                    ("user_id", &user),
                    ("reason", "x"),
                    ("previous_stays_admin", "yes"),
                ],
            )
            .await;
        assert_eq!(status, 403, "{who}");
    }
    // Replacing the current primary (admin@acme) without answering is refused.
    let (status, body) = set(user.clone(), None).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("previous_stays_admin"), "{body}");
    // A user of another account cannot be ACME's contact.
    let (status, _) = set(id_of(&app, "user@globex.example").await, Some("yes")).await;
    assert_eq!(status, 422);
    // The plain user becomes primary contact and administrator; the previous one is demoted as answered.
    let (status, body) = set(user.clone(), Some("no")).await;
    assert_eq!(status, 200, "{body}");
    let said = body.as_str().unwrap();
    assert!(
        said.contains("was made an administrator") && said.contains("no longer an administrator"),
        "{said}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounts WHERE id = {acme} AND primary_contact_id = {user}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {user} AND is_admin"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email = 'admin@acme.example' AND is_admin")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'contact.set' AND reason = 'Customer asked in writing' AND reference = 'CS0000042'").await,
        1
    );
    // The person now primary cannot also be secondary.
    app.expect(
        &staff,
        "accounts/contact",
        &[
            ("account_id", &acme),
            ("role", "secondary"),
            ("user_id", &user),
            ("reason", "x"),
            ("previous_stays_admin", "yes"),
        ],
        422,
    )
    .await;
    // Clearing, keeping the administrator flag.
    let (status, body) = set(String::new(), Some("yes")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.as_str().unwrap().contains("stays an administrator"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {user} AND is_admin"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounts WHERE id = {acme} AND primary_contact_id IS NULL"
        ))
        .await,
        1
    );
    // The database itself refuses a contact from another account.
    let other = id_of(&app, "user@globex.example").await;
    let refused = app::server::db::on_db!(&app.db, |pool| sqlx::query(&format!(
        "UPDATE accounts SET primary_contact_id = {other} WHERE id = {acme}"
    ))
    .execute(pool)
    .await
    .is_err());
    assert!(refused, "the schema keeps contacts within their account");
}

async fn the_last_administrator_cannot_be_dropped_as_a_contact(app: TestApp) {
    // INITECH: one administrator, who is primary contact.
    let initech = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'INITECH'")
        .await
        .to_string();
    let admins = app
        .scalar(&format!("SELECT COUNT(*) FROM users WHERE account_id = {initech} AND is_admin AND status = 'active'"))
        .await;
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let current = app
        .scalar(&format!(
            "SELECT primary_contact_id FROM accounts WHERE id = {initech}"
        ))
        .await;
    assert!(
        current > 0 && admins == 1,
        "demo data: INITECH has one administrator, the primary contact"
    );
    app.expect(
        &staff,
        "accounts/contact",
        &[
            ("account_id", &initech),
            ("role", "primary"),
            ("user_id", ""),
            ("previous_stays_admin", "no"),
            ("reason", "Leaving"),
        ],
        409,
    )
    .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounts WHERE id = {initech} AND primary_contact_id = {current}"
        ))
        .await,
        1,
        "nothing changed"
    );
}

async fn impersonation_shows_the_users_view_and_records_both_identities(app: TestApp) {
    let admin_id = id_of(&app, CUSTOMER_ADMIN).await;
    let form = [
        ("user_id", admin_id.as_str()),
        ("reason", "Check their Manage Accounts page"),
    ];
    assert_eq!(app.call(&client(), "staff/impersonate", &form).await.0, 401);
    for who in [CUSTOMER_USER, CUSTOMER_ADMIN, OTHER_ADMIN, AGENT] {
        let c = app.signed_in(who).await;
        assert_eq!(
            app.call(&c, "staff/impersonate", &form).await.0,
            403,
            "{who}"
        );
    }
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    // Staff cannot be impersonated; a reason is required.
    let agent_id = id_of(&app, AGENT).await;
    assert_eq!(
        app.call(
            &staff,
            "staff/impersonate",
            &[("user_id", agent_id.as_str()), ("reason", "x")]
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.call(
            &staff,
            "staff/impersonate",
            &[("user_id", admin_id.as_str())]
        )
        .await
        .0,
        422
    );
    let (status, body) = app.call(&staff, "staff/impersonate", &form).await;
    assert!(status < 400, "{status} {body}");
    let (_, me) = app.call(&staff, "auth/me", &[]).await;
    assert_eq!(me["email"], CUSTOMER_ADMIN);
    assert!(
        me["impersonated_by"]
            .as_str()
            .unwrap()
            .contains(PLATFORM_ADMIN),
        "{me}"
    );
    let page = app.page_text(&staff, "/manage").await;
    assert!(
        page.contains("Manage Accounts") && page.contains("Stop impersonating"),
        "{page}"
    );
    // Impersonation only shows: a change in the person's name is refused, and names the staff tool.
    let user_id = id_of(&app, CUSTOMER_USER).await;
    let body = app
        .expect(
            &staff,
            "users/access",
            &[("user_id", &user_id), ("change", "grant_admin")],
            403,
        )
        .await;
    assert!(
        body["ViewOnly"].as_str().unwrap().contains("staff console"),
        "{body}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'administrator.granted'")
            .await,
        0
    );
    // Staff-only things stay out of reach while impersonating.
    assert_eq!(
        app.call(&staff, "accounts/list", &[("page", "1")]).await.0,
        403
    );
    let (status, _) = app.call(&staff, "staff/stop_impersonating", &[]).await;
    assert!(status < 400);
    assert_eq!(app.me(&staff).await.as_deref(), Some(PLATFORM_ADMIN));
    for action in ["impersonation.started", "impersonation.stopped"] {
        assert_eq!(
            app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND impersonator_id IS NOT NULL")).await,
            1,
            "{action}"
        );
    }
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    // Signing out of an impersonation ends it on the record too.
    app.call(&staff, "staff/impersonate", &form).await;
    app.call(&staff, "auth/sign_out", &[]).await;
    assert_eq!(app.me(&staff).await, None);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'impersonation.stopped'")
            .await,
        2
    );
    // Someone not impersonating has nothing to stop.
    let user = app.signed_in(CUSTOMER_USER).await;
    assert_eq!(
        app.call(&user, "staff/stop_impersonating", &[]).await.0,
        403
    );
}

async fn audit_trail_and_exports_follow_the_matrix(app: TestApp) {
    let acme = acme(&app).await;
    let globex = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'GLOBEX'")
        .await
        .to_string();
    // Some history in both accounts.
    app.signed_in(CUSTOMER_USER).await;
    app.signed_in("user@globex.example").await;
    assert_eq!(app.call(&client(), "audit/list", &[]).await.0, 401);
    let user = app.signed_in(CUSTOMER_USER).await;
    assert_eq!(app.call(&user, "audit/list", &[]).await.0, 403);
    // A customer administrator sees only their account, whatever they ask for.
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let body = app
        .expect(&admin, "audit/list", &[("account_id", &globex)], 200)
        .await;
    let text = body.to_string();
    assert!(
        text.contains("acme.example") && !text.contains("globex.example"),
        "{text}"
    );
    // Filters: action prefix and actor.
    let (_, body) = app
        .call(
            &admin,
            "audit/list",
            &[("action", "sign_in."), ("actor", CUSTOMER_USER)],
        )
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["action"] == "sign_in.succeeded"
            && r["actor"].as_str().unwrap().contains(CUSTOMER_USER)),
        "{body}"
    );
    let body = app
        .expect(&admin, "audit/list", &[("from", "2026-13-45")], 422)
        .await;
    assert!(body.to_string().contains("from"));
    // Staff see every account, or one.
    for who in [AGENT, PLATFORM_ADMIN] {
        let c = app.signed_in(who).await;
        let (_, body) = app.call(&c, "audit/list", &[]).await;
        let text = body.to_string();
        assert!(
            text.contains("acme.example") && text.contains("globex.example"),
            "{who}"
        );
        let (_, body) = app.call(&c, "audit/list", &[("account_id", &globex)]).await;
        assert!(!body.to_string().contains("acme.example"), "{who}");
    }

    // CSV exports: same rules, audited, formula cells defused.
    app.exec("UPDATE users SET first_name = '=HYPERLINK(\"http://x\")' WHERE email = 'user@acme.example'").await;
    let get = |c: &reqwest::Client, path: String| {
        let c = c.clone();
        let url = app.url(&path);
        async move {
            // Exports are POSTs from a button.
            let res = c.post(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(get(&client(), "/export/users.csv".into()).await.0, 401);
    assert_eq!(get(&user, "/export/users.csv".into()).await.0, 403);
    let (status, csv) = get(&admin, format!("/export/users.csv?account_id={globex}")).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("first_name,last_name,email"), "{csv}");
    assert!(
        csv.contains("user@acme.example") && !csv.contains("globex"),
        "{csv}"
    );
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    let (status, csv) = get(&admin, "/export/audit.csv".into()).await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("sign_in.succeeded") && !csv.contains("globex.example"),
        "{csv}"
    );
    let agent = app.signed_in(AGENT).await;
    assert_eq!(
        get(&agent, "/export/users.csv".into()).await.0,
        404,
        "staff name the account"
    );
    let (status, csv) = get(&agent, format!("/export/users.csv?account_id={globex}")).await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("user@globex.example") && !csv.contains("acme"),
        "{csv}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export.users' AND account_id = {acme}"
        ))
        .await,
        1
    );
}

both_engines!(
    accounts_are_created_and_edited_by_platform_admins_only,
    contacts_become_administrators_and_replacement_does_what_is_answered,
    the_last_administrator_cannot_be_dropped_as_a_contact,
    impersonation_shows_the_users_view_and_records_both_identities,
    audit_trail_and_exports_follow_the_matrix
);
