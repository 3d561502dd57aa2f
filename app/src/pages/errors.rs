//! Pages for refusals and missing things. Each sets the matching HTTP status during SSR.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

fn set_status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(_code),
    ) {
        options.set_status(status);
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Page not found"/>
        <h1>"Page not found"</h1>
        <p>"If you typed the web address, check it is correct. If you followed a link, it may be out of date."</p>
        <p><a href="/">"Go to the home page"</a></p>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    view! {
        <Title text="Access denied"/>
        <h1>"You do not have access to this page"</h1>
        <p>"Your role does not include this. If you need it, ask an administrator of your account."</p>
        <p><a href="/">"Go to the home page"</a></p>
    }
}

#[component]
pub fn SignInRequired() -> impl IntoView {
    view! {
        <Title text="Sign in required"/>
        <h1>"Sign in to continue"</h1>
        <p>"This page is only for signed-in users, or your session has ended."</p>
        <p><a class="button" href="/">"Sign in"</a></p>
    }
}

/// Shows the page that fits a failed page load.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    set_status(error.status());
    match error {
        AppError::Unauthorized => view! { <SignInRequired/> }.into_any(),
        AppError::Forbidden => view! { <Forbidden/> }.into_any(),
        AppError::NotFound => view! { <NotFound/> }.into_any(),
        other => view! {
            <Title text="Something went wrong"/>
            <h1>"Something went wrong"</h1>
            <p>{other.to_string()}</p>
        }
        .into_any(),
    }
}
