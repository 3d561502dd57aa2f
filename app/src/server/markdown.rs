//! Text people write — case descriptions and comments — rendered as Markdown and sanitized
//! (SPEC §4.1): pulldown-cmark makes the HTML, ammonia keeps only harmless tags and attributes,
//! so raw HTML, scripts, event handlers and `javascript:` links never reach a browser.

use pulldown_cmark::{html, Event, Options, Parser};

/// Safe HTML for `text`. Single line breaks are kept as written: most people type plain text.
pub fn render(text: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::SoftBreak => Event::HardBreak,
        other => other,
    });
    let mut unsafe_html = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_becomes_html() {
        let html = render("**Down** since 9:00\nsee `error.log`\n\n- one\n- two");
        assert!(html.contains("<strong>Down</strong>"), "{html}");
        assert!(html.contains("<br>"), "{html}");
        assert!(html.contains("<code>error.log</code>"), "{html}");
        assert!(html.contains("<li>two</li>"), "{html}");
    }

    #[test]
    fn scripts_handlers_and_script_links_are_removed() {
        let html = render(
            "<script>alert(1)</script><img src=x onerror=alert(2)> <a href=\"https://example.com\">ok</a>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
        // A Markdown link to a script URL keeps its text and loses its target.
        let html =
            render("see [the docs](javascript:alert(3)) and <a href=\"vbscript:x\">this</a>");
        assert!(html.contains("the docs"), "{html}");
        assert!(
            !html.contains("javascript:") && !html.contains("vbscript:"),
            "{html}"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(render("1 < 2 & 3 > 2"), "<p>1 &lt; 2 &amp; 3 &gt; 2</p>\n");
    }
}
