//! Portcullis: the Leptos app. Pages are rendered on the server alone; the components marked
//! `#[island]` (a case subject's article suggestions, the KB editor's preview, passkeys) also run
//! in the browser, and only they are compiled into its bundle.

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod server;

use components::layout::{Footer, Header};
use components::time::DisplayZone;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};
use pages::{
    audit::{AccountHistoryPage, StaffAuditPage},
    cases::{CasePage, CasesPage, NewCasePage},
    catalog::CatalogPage,
    changes::{ChangePage, ChangesPage, NewChangePage},
    communications::{CommunicationsPage, MyNoticesPage, NewNoticePage, NoticePage},
    errors::NotFound,
    home::HomePage,
    imports::{ImportPage, ImportUploadPage},
    kb::{ArticlePage, KbHomePage},
    kb_admin::{KbArticlesPage, KbEditorPage},
    links::{AcceptInvitationPage, ForgotPasswordPage, ResetPasswordPage},
    mail::HeldMailPage,
    manage::{AddUserPage, ManageAccountsPage},
    password::ChangePasswordPage,
    provisioning::ProvisioningPage,
    queue::{MatrixPage, StaffQueuePage},
    reviews::{ReviewOverviewPage, ReviewPage, ReviewsPage, StaffReviewPage, StaffReviewsPage},
    security::{RecoveryCodesPage, SecurityPage, SignInCodePage, SignInSetUpPage, StaffSignInPage},
    sso::{ManageSsoPage, StaffSsoPage},
    staff::{NewAccountPage, StaffAccountPage, StaffConsolePage},
    surveys::{NewSurveyPage, NpsPage, SurveyPage},
};

/// The HTML document around the app. On the server it also fixes this response's
/// Content-Security-Policy, whose nonce lets through only the scripts Leptos itself writes.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    server_security_headers();
    // The signed-in person's time zone, in which the server writes every time on the page.
    #[cfg(feature = "ssr")]
    let zone = server::request::parts()
        .and_then(|p| p.extensions.get::<DisplayZone>().cloned())
        .unwrap_or_else(|| DisplayZone("UTC".into()));
    #[cfg(not(feature = "ssr"))]
    let zone = DisplayZone("UTC".into());
    provide_context(zone);
    // Its address is this build's, known to the server.
    #[cfg(feature = "ssr")]
    let stylesheet = server::assets::fingerprints().stylesheet();
    #[cfg(not(feature = "ssr"))]
    let stylesheet = String::from("/pkg/portcullis.css");
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
                <components::scripts::IslandScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[cfg(feature = "ssr")]
fn server_security_headers() {
    use http::header::{HeaderValue, CONTENT_SECURITY_POLICY};
    leptos::nonce::provide_nonce();
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let (Some(options), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&csp),
    ) {
        options.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// The signed-in person, as a resource.
pub type MeResource = Resource<Result<Option<model::Me>, error::AppError>>;

/// Loads the signed-in person. Each `<Suspense>` that needs them reads its own resource: Leptos 0.8
/// can stall a server-rendered response when one resource is read under two Suspense boundaries
/// (leptos issue 4851), and the extra lookup is one indexed query.
pub fn me_resource() -> MeResource {
    Resource::new(|| (), |_| api::auth::current_user())
}

/// The document title for a page's own title. leptos_meta writes the server-rendered `<title>`
/// without escaping, and page titles carry what people wrote (a case subject, an article title), so
/// on the server the text is escaped here; in the browser it is set as text and stays as it is.
fn page_title(title: String) -> String {
    let full = if title.is_empty() {
        "Portcullis".to_string()
    } else {
        format!("{title} · Portcullis")
    };
    #[cfg(feature = "ssr")]
    let full = html_escape::encode_text(&full).into_owned();
    full
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    components::forms::provide_refused();

    view! {
        <Title formatter=page_title/>
        <Router>
            <a class="skip-link" href="#main">"Skip to main content"</a>
            <Header/>
            <main id="main" class="container" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/account/password") view=ChangePasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/security") view=SecurityPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/recovery-codes") view=RecoveryCodesPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in/code") view=SignInCodePage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in/set-up") view=SignInSetUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/sign-in") view=StaffSignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/cases") view=CasesPage ssr=SsrMode::Async/>
                    <Route path=path!("/catalog/matrix") view=MatrixPage ssr=SsrMode::Async/>
                    <Route path=path!("/cases/new") view=NewCasePage ssr=SsrMode::Async/>
                    <Route path=path!("/cases/:number") view=CasePage ssr=SsrMode::Async/>
                    <Route path=path!("/changes") view=ChangesPage ssr=SsrMode::Async/>
                    <Route path=path!("/changes/new") view=NewChangePage ssr=SsrMode::Async/>
                    <Route path=path!("/changes/:number") view=ChangePage ssr=SsrMode::Async/>
                    <Route path=path!("/kb") view=KbHomePage ssr=SsrMode::Async/>
                    <Route path=path!("/kb/:number") view=ArticlePage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/kb") view=KbArticlesPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/kb/new") view=KbEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/kb/:number") view=KbEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("/notices") view=MyNoticesPage ssr=SsrMode::Async/>
                    <Route path=path!("/notices/:id") view=NoticePage ssr=SsrMode::Async/>
                    <Route path=path!("/nps") view=NpsPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/communications") view=CommunicationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/notices/new") view=NewNoticePage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/surveys/new") view=NewSurveyPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/surveys/:id") view=SurveyPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage") view=ManageAccountsPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage/new") view=AddUserPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage/history") view=AccountHistoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage/provisioning") view=ProvisioningPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage/sso") view=ManageSsoPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage/reviews") view=ReviewsPage ssr=SsrMode::Async/>
                    <Route path=path!("/manage/reviews/:id") view=ReviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/access-reviews") view=ReviewOverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/access-reviews/:id") view=StaffReviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/accounts/:id/reviews") view=StaffReviewsPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/accounts/:id/sso") view=StaffSsoPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/audit") view=StaffAuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/cases") view=StaffQueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/mail") view=HeldMailPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/catalog") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/accept") view=AcceptInvitationPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset") view=ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff") view=StaffConsolePage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/accounts/new") view=NewAccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/accounts/:id") view=StaffAccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/accounts/:id/import") view=ImportUploadPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/imports/:id") view=ImportPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use leptos::prelude::{provide_context, use_context, Owner};
    use std::sync::{Arc, Mutex};

    /// A context value whose cloning lets go of the owner kept in `held`: the moment another
    /// thread drops a cancelled request's owner, made to fall inside the lookup.
    struct LetsGo {
        held: Arc<Mutex<Option<Owner>>>,
    }

    impl Clone for LetsGo {
        fn clone(&self) -> Self {
            drop(self.held.lock().unwrap().take());
            LetsGo {
                held: self.held.clone(),
            }
        }
    }

    /// A page's owner looks up a context of its request's owner while the request is dropped
    /// (cancelled) elsewhere, so the lookup holds the last reference to the request's owner.
    /// reactive_graph 0.2.16 dropped it while holding the page owner's lock, and the thread
    /// waited on itself for good (vendor/README.md).
    #[test]
    fn a_context_looked_up_while_its_owner_goes_away_does_not_deadlock() {
        let (done, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let request = Owner::new();
            let held = Arc::new(Mutex::new(None));
            request.with(|| provide_context(LetsGo { held: held.clone() }));
            let page = request.with(Owner::new);
            // From here the page's owner reaches the request's only through its weak parent.
            *held.lock().unwrap() = Some(request);
            let found = page.with(|| use_context::<LetsGo>().is_some());
            let _ = done.send((found, held.lock().unwrap().is_none()));
        });
        let (found, let_go) = answer
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the context lookup deadlocked");
        assert!(found, "the request's context is found");
        assert!(let_go, "the request's owner was let go during the lookup");
    }
}
