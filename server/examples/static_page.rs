//! The yardstick of the page benchmark (bench/pages.sh): bare axum answering every request with
//! the bytes of one file, as an HTML page. What the portal does on top of sending those bytes —
//! session, policy, queries, rendering — is the difference between the two figures.
//!
//! cargo run --release -p server --example static_page -- FILE [ADDRESS]

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Router;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: static_page FILE [ADDRESS]")?;
    let address = args.next().unwrap_or_else(|| "127.0.0.1:3199".into());
    let body: &'static [u8] = Box::leak(std::fs::read(&file)?.into_boxed_slice());
    let app = Router::new().fallback(move || async move {
        ([(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    });
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
