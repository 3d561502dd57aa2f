//! Text people write — case descriptions and comments, knowledge-base articles — rendered as
//! Markdown and sanitized (SPEC §4.1, §9): pulldown-cmark makes the HTML, ammonia keeps only
//! harmless tags and attributes, so raw HTML, scripts, event handlers and `javascript:` links never
//! reach a browser. Article numbers written in the text (KB0010240) become links to the article.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options
}

/// Where article number `KB` + 7 digits starts in `text`, standing as a word of its own.
fn next_article_number(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find("KB").map(|i| i + from) {
        let end = at + 9;
        let word_before = at > 0 && bytes[at - 1].is_ascii_alphanumeric();
        let digits = end <= bytes.len() && bytes[at + 2..end].iter().all(u8::is_ascii_digit);
        let word_after = end < bytes.len() && bytes[end].is_ascii_alphanumeric();
        if digits && !word_before && !word_after {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

/// The article numbers a text mentions, in order, each once.
pub fn article_numbers(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(at) = next_article_number(rest) {
        let number = rest[at..at + 9].to_string();
        if !found.contains(&number) {
            found.push(number);
        }
        rest = &rest[at + 9..];
    }
    found
}

/// Turns article numbers in plain text (not inside a link or code) into links to the article.
fn link_article_numbers<'a>(events: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    let mut inside = 0usize;
    for event in events {
        match &event {
            Event::Start(Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_)) => inside += 1,
            Event::End(TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock) => {
                inside = inside.saturating_sub(1)
            }
            Event::Text(text) if inside == 0 && next_article_number(text).is_some() => {
                let mut rest: &str = text;
                while let Some(at) = next_article_number(rest) {
                    if at > 0 {
                        out.push(Event::Text(CowStr::from(rest[..at].to_string())));
                    }
                    let number = &rest[at..at + 9];
                    // The number is `KB` and digits only, so it needs no escaping.
                    out.push(Event::InlineHtml(CowStr::from(format!(
                        "<a href=\"/kb/{number}\">{number}</a>"
                    ))));
                    rest = &rest[at + 9..];
                }
                if !rest.is_empty() {
                    out.push(Event::Text(CowStr::from(rest.to_string())));
                }
                continue;
            }
            _ => {}
        }
        out.push(event);
    }
    out
}

/// The words of a Markdown text without its markup or any raw HTML: what search indexes and
/// what descriptions and snippets are cut from. Blocks are separated by a newline.
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_),
            ) => out.push('\n'),
            _ => {}
        }
    }
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

/// HTML for a plain value that was never meant as Markdown (a priority reason, a group name in an
/// activity line): every character shown as typed, line breaks kept, nothing made a link or image.
pub fn plain_html(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|line| html_escape::encode_text(line).into_owned())
        .collect();
    format!("<p>{}</p>", lines.join("<br>"))
}

/// Where the portal serves attachments: the only images written text may show.
pub const ATTACHMENT_PATH: &str = "/attachments/";

/// Whether an image at `url` may load. A browser fetches an image as soon as the text is shown,
/// with the reader's cookies: any other portal URL (`/export/audit.csv`) would run as the reader,
/// and an outside one would tell its owner who read the text and when.
fn image_allowed(url: &str) -> bool {
    url.starts_with(ATTACHMENT_PATH) && !url.contains("..")
}

/// Images in Markdown: the portal's attachments stay images; an outside `https` image becomes a
/// link to it (its alt text as the words); any other image is left as its alt text alone.
fn tame_images<'a>(events: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    // For each open image: whether it became a link (true) or was dropped (false); kept ones
    // are not on the stack.
    let mut open: Vec<Option<bool>> = Vec::new();
    for event in events {
        match event {
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if image_allowed(&dest_url) {
                    open.push(None);
                    out.push(Event::Start(Tag::Image {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                } else if dest_url.starts_with("https://") {
                    open.push(Some(true));
                    out.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url: dest_url.clone(),
                        title,
                        id,
                    }));
                    out.push(Event::Text(CowStr::from(format!("image: {dest_url} "))));
                } else {
                    open.push(Some(false));
                }
            }
            Event::End(TagEnd::Image) => match open.pop().flatten() {
                None => out.push(Event::End(TagEnd::Image)),
                Some(true) => out.push(Event::End(TagEnd::Link)),
                Some(false) => {}
            },
            other => out.push(other),
        }
    }
    out
}

/// Safe HTML for `text`. Single line breaks are kept as written: most people type plain text.
pub fn render(text: &str) -> String {
    let events = Parser::new_ext(text, options()).map(|event| match event {
        Event::SoftBreak => Event::HardBreak,
        other => other,
    });
    let events = tame_images(link_article_numbers(events).into_iter());
    let mut unsafe_html = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events.into_iter());
    let html = ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        // Raw `<img>` written into the text follows the same rule as Markdown images.
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !image_allowed(value) {
                None
            } else {
                Some(value.into())
            }
        })
        .clean(&unsafe_html)
        .to_string();
    complete_images(&html)
}

/// Every image in sanitized HTML ends up with a source and a text alternative: a raw `<img>`
/// whose source was refused (an outside or non-attachment address) is removed — it would show as
/// a broken image — and one written without `alt` gets an empty one (decorative) rather than
/// none, which screen readers announce as the file name.
///
/// Written by hand because no sanitizer option adds a missing attribute without overwriting a
/// present one. The input is ammonia's serialized output: attribute values are double-quoted with
/// `"` escaped, so a `>` inside a value is the only thing to step over.
fn complete_images(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<img") {
        out.push_str(&rest[..start]);
        let tag_and_after = &rest[start..];
        let mut quoted = false;
        let end = tag_and_after
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map(|(i, _)| i + 1)
            .unwrap_or(tag_and_after.len());
        let tag = &tag_and_after[..end];
        if tag.contains(" src=\"") {
            if tag.contains(" alt=\"") {
                out.push_str(tag);
            } else {
                let close = if tag.ends_with("/>") {
                    tag.len() - 2
                } else {
                    tag.len() - 1
                };
                out.push_str(tag[..close].trim_end());
                out.push_str(" alt=\"\"");
                out.push_str(&tag[close..]);
            }
        }
        rest = &tag_and_after[end..];
    }
    out.push_str(rest);
    out
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
    fn article_numbers_become_links_outside_code_and_links() {
        let html = render("See KB0010240, and `KB0010241` and [KB0010242](/x) or XKB0010243.");
        assert!(
            html.contains(
                "<a href=\"/kb/KB0010240\" rel=\"noopener noreferrer nofollow\">KB0010240</a>"
            ),
            "{html}"
        );
        assert!(html.contains("<code>KB0010241</code>"), "{html}");
        assert!(!html.contains("/kb/KB0010242"), "{html}");
        assert!(!html.contains("/kb/KB0010243"), "{html}");
        assert_eq!(
            super::article_numbers("KB0010240 KB001024 KB0010241 KB0010240"),
            vec!["KB0010240", "KB0010241"]
        );
    }

    #[test]
    fn plain_text_drops_markup_and_html() {
        let plain = super::plain_text(
            "# Reset a password\n\nOpen **Settings** and `reset`.\n<script>alert(1)</script>\n\n- one\n- two",
        );
        assert_eq!(
            plain,
            "Reset a password\nOpen Settings and reset.\none\ntwo"
        );
    }

    #[test]
    fn images_load_only_from_the_portals_attachments() {
        let html = render(
            "![log](/export/audit.csv) ![shot](/attachments/7f3a) ![x](https://evil.example/p.png)",
        );
        assert!(!html.contains("/export/audit.csv"), "{html}");
        assert!(html.contains("log"), "the alt text stays: {html}");
        assert!(html.contains("<img src=\"/attachments/7f3a\""), "{html}");
        assert!(!html.contains("<img src=\"https://"), "{html}");
        assert!(
            html.contains("<a href=\"https://evil.example/p.png\""),
            "{html}"
        );
        let raw = render("<img src=\"/export/users.csv\"> <img src=\"https://evil.example/t.gif\"> <img src=\"/attachments/../export/users.csv\">");
        assert!(!raw.contains("src="), "{raw}");
        assert!(
            !raw.contains("<img"),
            "an image with its source refused is removed: {raw}"
        );
        let plain = super::plain_html("[click](https://evil.example) **x** <b>y</b>\nnext");
        assert_eq!(
            plain,
            "<p>[click](https://evil.example) **x** &lt;b&gt;y&lt;/b&gt;<br>next</p>"
        );
    }

    #[test]
    fn every_image_has_a_text_alternative() {
        let html = render("<img src=\"/attachments/1\"> ![chart](/attachments/2) <img src=\"/attachments/3\" alt=\"a > b\">");
        assert!(
            html.contains("<img src=\"/attachments/1\" alt=\"\">"),
            "{html}"
        );
        assert!(
            html.contains("<img src=\"/attachments/2\" alt=\"chart\">"),
            "{html}"
        );
        assert!(
            html.contains("alt=\"a &gt; b\"") || html.contains("alt=\"a > b\""),
            "{html}"
        );
        assert_eq!(html.matches("<img").count(), 3, "{html}");
        assert_eq!(super::complete_images("<p>x</p><img>"), "<p>x</p>");
        assert_eq!(super::complete_images("no images"), "no images");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(render("1 < 2 & 3 > 2"), "<p>1 &lt; 2 &amp; 3 &gt; 2</p>\n");
    }
}
