//! SCIM 2.0 provisioning per customer account (RFC 7643/7644): tokens, users, the Administrators
//! group, and that a token never reaches past its own account. scim2-tester (from PyPI) checks
//! the service's compliance.

use crate::both_engines;
use crate::helpers::*;
use serde_json::{json, Value};

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const OTHER_ADMIN: &str = "admin@globex.example";
const AGENT: &str = "agent@vendor.example";

/// A token for `admin`'s account, made through the provisioning page as they would.
async fn token_for(app: &TestApp, admin: &str) -> String {
    let c = app.signed_in(admin).await;
    app.expect(&c, "accounts/scim_token", &[("label", "Entra ID")], 200)
        .await;
    let page = app.expect(&c, "accounts/provisioning", &[], 200).await;
    page["new_token"]
        .as_str()
        .expect("the new token, once")
        .to_string()
}

/// A SCIM request with `token`; the status and the JSON answer (Null when empty).
async fn scim(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = app.url(&format!("/scim/v2{path}"));
    let mut req = client()
        .request(method.parse().unwrap(), url)
        .bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn id_of(app: &TestApp, email: &str) -> String {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

async fn tokens_are_made_by_administrators_shown_once_and_revocable(app: TestApp) {
    // Who may make one: the account's administrators only.
    app.expect_each(
        "accounts/scim_token",
        &[("label", "x")],
        &[
            (&client(), 401),
            (&app.signed_in(CUSTOMER_USER).await, 403),
            (&app.signed_in(AGENT).await, 403),
        ],
    )
    .await;
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let body = app
        .expect(&admin, "accounts/scim_token", &[("label", " ")], 422)
        .await;
    assert_eq!(invalid_fields(&body), vec!["label".to_string()]);
    app.expect(&admin, "accounts/scim_token", &[("label", "Okta")], 200)
        .await;
    let page = app.expect(&admin, "accounts/provisioning", &[], 200).await;
    let token = page["new_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("scim_"));
    assert!(page["base_url"].as_str().unwrap().ends_with("/scim/v2"));
    let again = app.expect(&admin, "accounts/provisioning", &[], 200).await;
    assert_eq!(again["new_token"], Value::Null, "shown once");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM scim_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    // Another account's administrator sees none of it.
    let other = app.signed_in(OTHER_ADMIN).await;
    let theirs = app.expect(&other, "accounts/provisioning", &[], 200).await;
    assert_eq!(theirs["tokens"], json!([]));

    // Without a token, with a wrong one: 401 with a Bearer challenge.
    let res = client()
        .get(app.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(scim(&app, "scim_wrong", "GET", "/Users", None).await.0, 401);
    assert_eq!(scim(&app, &token, "GET", "/Users", None).await.0, 200);

    let id = page["tokens"][0]["id"].as_i64().unwrap().to_string();
    app.expect_each(
        "accounts/revoke_scim_token",
        &[("id", &id)],
        &[(&other, 404), (&admin, 200)],
    )
    .await;
    assert_eq!(
        scim(&app, &token, "GET", "/Users", None).await.0,
        401,
        "revoked at once"
    );
    for action in ["scim.token_created", "scim.token_revoked"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await,
            1
        );
    }
}

async fn a_provider_creates_updates_deactivates_and_reactivates_its_users(app: TestApp) {
    let token = token_for(&app, CUSTOMER_ADMIN).await;
    let (status, list) = scim(&app, &token, "GET", "/Users", None).await;
    assert_eq!(status, 200);
    let emails: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    assert!(emails.contains(&CUSTOMER_USER.to_string()));
    assert!(
        emails.iter().all(|e| e.ends_with("@acme.example")),
        "{emails:?}"
    );

    let new_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Kim.Park@acme.example",
        "externalId": "00u1",
        "name": { "givenName": "Kim", "familyName": "Park" },
        "emails": [{ "value": "kim.park@acme.example", "type": "work", "primary": true }],
        "active": true,
    });
    let (status, created) = scim(&app, &token, "POST", "/Users", Some(new_user.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"]["givenName"], "Kim");
    assert_eq!(created["active"], true);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "invited"
    );
    app.wait_for_mail("kim.park@acme.example", "invit").await;
    let audit = app
        .text("SELECT after_state FROM audit_log WHERE action = 'user.invited'")
        .await;
    assert!(
        audit.contains("Entra ID") && audit.contains("scim"),
        "{audit}"
    );
    // The same userName or email twice is a uniqueness conflict.
    assert_eq!(
        scim(&app, &token, "POST", "/Users", Some(new_user)).await.0,
        409
    );
    let (status, found) = scim(
        &app,
        &token,
        "GET",
        "/Users?filter=userName%20eq%20%22kim.park%40acme.example%22",
        None,
    )
    .await;
    assert_eq!((status, found["totalResults"].as_i64()), (200, Some(1)));
    let (status, _) = scim(
        &app,
        &token,
        "GET",
        "/Users?filter=title%20sw%20%22x%22",
        None,
    )
    .await;
    assert_eq!(status, 400);
    // Bad input: a 400 that names the problem, and nothing changes.
    let (status, body) = scim(
        &app,
        &token,
        "POST",
        "/Users",
        Some(json!({ "userName": "no-email" })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["scimType"], "invalidValue");

    // Deactivation, as Entra sends it, ends the person's sessions at once.
    let uma = id_of(&app, CUSTOMER_USER).await;
    let session = app.signed_in(CUSTOMER_USER).await;
    let off = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] });
    let (status, body) = scim(&app, &token, "PATCH", &format!("/Users/{uma}"), Some(off)).await;
    assert_eq!((status, &body["active"]), (200, &json!(false)), "{body}");
    assert_eq!(app.me(&session).await, None);
    assert!(app.sign_in(&client(), CUSTOMER_USER, PASSWORD).await.0 >= 400);
    let on = json!({ "Operations": [{ "op": "replace", "value": { "active": true, "name": { "givenName": "Umaa" } } }] });
    let (status, body) = scim(&app, &token, "PATCH", &format!("/Users/{uma}"), Some(on)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {uma}"))
            .await,
        "active"
    );
    assert_eq!(
        app.text(&format!("SELECT first_name FROM users WHERE id = {uma}"))
            .await,
        "Umaa"
    );
    assert!(app.sign_in(&client(), CUSTOMER_USER, PASSWORD).await.0 < 400);

    // PUT replaces; DELETE disables and the user is no longer the provider's.
    let put = json!({ "userName": "kim.park@acme.example", "name": { "givenName": "Kim", "familyName": "Park-Lee" },
        "emails": [{ "value": "kim.park@acme.example", "primary": true }] });
    let (status, body) = scim(&app, &token, "PUT", &format!("/Users/{id}"), Some(put)).await;
    assert_eq!(
        (status, &body["name"]["familyName"]),
        (200, &json!("Park-Lee"))
    );
    assert_eq!(
        scim(&app, &token, "DELETE", &format!("/Users/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        scim(&app, &token, "GET", &format!("/Users/{id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "disabled"
    );
    // Made inactive, then activated: the invitation goes out only then.
    let later = json!({ "userName": "lee@acme.example", "active": false,
        "emails": [{ "value": "lee@acme.example" }] });
    let (status, body) = scim(&app, &token, "POST", "/Users", Some(later)).await;
    assert_eq!((status, &body["active"]), (201, &json!(false)), "{body}");
    let lee = body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'lee@acme.example'")
            .await,
        0
    );
    let on = json!({ "Operations": [{ "op": "replace", "path": "active", "value": true }] });
    assert_eq!(
        scim(&app, &token, "PATCH", &format!("/Users/{lee}"), Some(on))
            .await
            .0,
        200
    );
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {lee}"))
            .await,
        "invited"
    );
    app.wait_for_mail("lee@acme.example", "invit").await;
    for action in ["user.disabled", "user.enabled", "user.updated"] {
        assert!(app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND after_state LIKE '%scim_token%'")).await >= 1, "{action}");
    }
}

async fn a_token_never_reaches_past_its_account(app: TestApp) {
    let token = token_for(&app, CUSTOMER_ADMIN).await;
    let before = app
        .scalar("SELECT COUNT(*) + SUM(CASE WHEN status = 'disabled' THEN 1 ELSE 0 END) FROM users")
        .await;
    for email in [
        "user@globex.example",
        OTHER_ADMIN,
        AGENT,
        "platform.admin@vendor.example",
    ] {
        let id = id_of(&app, email).await;
        assert_eq!(
            scim(&app, &token, "GET", &format!("/Users/{id}"), None)
                .await
                .0,
            404,
            "{email}"
        );
        let off = json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] });
        assert_eq!(
            scim(&app, &token, "PATCH", &format!("/Users/{id}"), Some(off))
                .await
                .0,
            404,
            "{email}"
        );
        assert_eq!(
            scim(&app, &token, "DELETE", &format!("/Users/{id}"), None)
                .await
                .0,
            404,
            "{email}"
        );
        let add = json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": id }] }] });
        assert_eq!(
            scim(&app, &token, "PATCH", "/Groups/administrators", Some(add))
                .await
                .0,
            400,
            "{email}"
        );
    }
    let (_, list) = scim(
        &app,
        &token,
        "GET",
        "/Users?filter=userName%20eq%20%22user%40globex.example%22",
        None,
    )
    .await;
    assert_eq!(list["totalResults"], 0);
    // Taking another account's person by email is a conflict, without saying whose.
    let taken = json!({ "userName": "user@globex.example" });
    let (status, body) = scim(&app, &token, "POST", "/Users", Some(taken)).await;
    assert_eq!(status, 409);
    assert!(!body.to_string().contains("Globex"), "{body}");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) + SUM(CASE WHEN status = 'disabled' THEN 1 ELSE 0 END) FROM users"
        )
        .await,
        before
    );
    // Contact designations are not SCIM's: the account's contacts stay as they were.
    let contacts = app.text("SELECT CAST(primary_contact_id AS TEXT) || '/' || CAST(secondary_contact_id AS TEXT) FROM accounts WHERE account_key = 'ACME'").await;
    let admins = json!({ "Operations": [{ "op": "replace", "path": "members", "value": [{ "value": id_of(&app, CUSTOMER_USER).await }] }] });
    let (status, _) = scim(
        &app,
        &token,
        "PATCH",
        "/Groups/administrators",
        Some(admins),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.text("SELECT CAST(primary_contact_id AS TEXT) || '/' || CAST(secondary_contact_id AS TEXT) FROM accounts WHERE account_key = 'ACME'").await, contacts);
}

async fn the_administrators_group_grants_and_revokes_with_evidence(app: TestApp) {
    let token = token_for(&app, CUSTOMER_ADMIN).await;
    let (status, groups) = scim(&app, &token, "GET", "/Groups", None).await;
    assert_eq!(status, 200);
    assert_eq!(groups["totalResults"], 1);
    let group = &groups["Resources"][0];
    assert_eq!(group["displayName"], "Administrators");
    let members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let admin = id_of(&app, CUSTOMER_ADMIN).await;
    let secondary = id_of(&app, "secondary@acme.example").await;
    let uma = id_of(&app, CUSTOMER_USER).await;
    assert_eq!(members, vec![admin.as_str(), secondary.as_str()]);

    let add =
        json!({ "Operations": [{ "op": "add", "path": "members", "value": [{ "value": uma }] }] });
    let (status, body) = scim(&app, &token, "PATCH", "/Groups/administrators", Some(add)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["members"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {uma} AND is_admin"
        ))
        .await,
        1
    );
    let remove = json!({ "Operations": [{ "op": "remove", "path": format!("members[value eq \"{uma}\"]") }] });
    assert_eq!(
        scim(
            &app,
            &token,
            "PATCH",
            "/Groups/administrators",
            Some(remove)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {uma} AND is_admin"
        ))
        .await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('administrator.granted', 'administrator.revoked') AND after_state LIKE '%scim%'").await, 2);

    // Never without an active administrator; no other groups; no renaming.
    let none = json!({ "Operations": [{ "op": "remove", "path": "members" }] });
    assert_eq!(
        scim(&app, &token, "PATCH", "/Groups/administrators", Some(none))
            .await
            .0,
        409
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users u JOIN accounts a ON a.id = u.account_id WHERE a.account_key = 'ACME' AND u.is_admin").await, 2);
    assert_eq!(
        scim(
            &app,
            &token,
            "POST",
            "/Groups",
            Some(json!({ "displayName": "Ops" }))
        )
        .await
        .0,
        403
    );
    let rename =
        json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "Ops" }] });
    assert_eq!(
        scim(
            &app,
            &token,
            "PATCH",
            "/Groups/administrators",
            Some(rename)
        )
        .await
        .0,
        400
    );
    assert_eq!(
        scim(&app, &token, "GET", "/Groups/other", None).await.0,
        404
    );
    // Deactivating the last active administrator through Users is refused the same way.
    let off = json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    assert_eq!(
        scim(
            &app,
            &token,
            "PATCH",
            &format!("/Users/{secondary}"),
            Some(off.clone())
        )
        .await
        .0,
        200
    );
    assert_eq!(
        scim(&app, &token, "PATCH", &format!("/Users/{admin}"), Some(off))
            .await
            .0,
        409
    );
}

async fn scim2_tester_finds_the_service_compliant(app: TestApp) {
    let token = token_for(&app, CUSTOMER_ADMIN).await;
    let python = std::env::var("PORTCULLIS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scim/compliance.py");
    let base = app.url("/scim/v2");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args([script, base.as_str(), token.as_str()])
            .output()
            .expect("run scim2-tester (scripts/setup-tools.sh installs it)")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scim2-tester found problems:\n{report}"
    );
    assert!(report.contains(" 0 failed"), "{report}");
    println!("{report}");
}

both_engines!(
    tokens_are_made_by_administrators_shown_once_and_revocable,
    a_provider_creates_updates_deactivates_and_reactivates_its_users,
    a_token_never_reaches_past_its_account,
    the_administrators_group_grants_and_revokes_with_evidence,
    scim2_tester_finds_the_service_compliant
);
