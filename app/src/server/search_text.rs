//! The words of a knowledge-base search, and the highlighted snippets shown with each result.
//!
//! Both engines are asked the same question — every remaining word must occur, each looked up as
//! a prefix: its English stem, or the letters typed so far for the word someone is still typing —
//! and the snippet is cut and
//! highlighted here rather than by the engine (`snippet()` in FTS5, `ts_headline` in PostgreSQL),
//! so results read the same on both and the page only ever receives text, never engine-made HTML.

use crate::api::types::Fragment;
use rust_stemmers::{Algorithm, Stemmer};

/// Words too common to narrow a search; dropped from the query on both engines.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "its", "my", "no", "not", "of", "on", "or", "our",
    "so", "that", "the", "their", "then", "there", "these", "this", "to", "was", "we", "what",
    "when", "where", "which", "why", "will", "with", "you", "your",
];

/// At most this many words are looked up.
const MAX_TERMS: usize = 8;

/// The words looked up for query `q`: lower case, letters and digits only, without stop words.
pub fn terms(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in q.split(|ch: char| !ch.is_alphanumeric()) {
        let word = word.to_lowercase();
        if word.is_empty() || word.chars().count() > 40 || STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        if !out.contains(&word) {
            out.push(word);
        }
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

/// What each term is looked up as: a prefix — its English stem (so "crashes" finds "crash",
/// "crashed", "crashing"), or for the word still being typed (`typing`), the letters so far.
pub fn prefixes(terms: &[String], typing: bool) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if typing && i == last {
                t.clone()
            } else {
                stemmer.stem(t).into_owned()
            }
        })
        .collect()
}

/// An FTS5 query over the title and body: every prefix must occur (prefixes are letters and
/// digits only, so quoting them is safe); `tags` adds a condition on the tags column.
pub fn fts5_query(prefixes: &[String], tags: Option<&str>) -> String {
    let words: Vec<String> = prefixes.iter().map(|t| format!("\"{t}\"*")).collect();
    let mut query = format!("{{title plain}} : ({})", words.join(" "));
    if let Some(tags) = tags {
        query.push_str(&format!(" AND tags : ({tags})"));
    }
    query
}

/// A PostgreSQL `to_tsquery('simple', …)` text of the same meaning (prefixes hold no operator
/// characters; the index holds English stems, which the prefixes are).
pub fn tsquery(prefixes: &[String]) -> String {
    prefixes
        .iter()
        .map(|p| format!("{p}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Decides which words of a text match the query: those starting with one of its prefixes.
pub struct Matcher {
    prefixes: Vec<String>,
}

impl Matcher {
    pub fn new(prefixes: &[String]) -> Matcher {
        Matcher {
            prefixes: prefixes.to_vec(),
        }
    }

    fn matches(&self, word: &str) -> bool {
        let lower = word.to_lowercase();
        self.prefixes.iter().any(|p| lower.starts_with(p.as_str()))
    }

    /// `text` cut into fragments, the matching words marked.
    pub fn mark(&self, text: &str) -> Vec<Fragment> {
        let mut out: Vec<Fragment> = Vec::new();
        for (piece, is_word) in split_words(text) {
            push(&mut out, piece, is_word && self.matches(piece));
        }
        out
    }

    /// About `words` words of `text` around the densest run of matching words, marked, with "…"
    /// where the text was cut.
    pub fn snippet(&self, text: &str, words: usize) -> Vec<Fragment> {
        let pieces = split_words(text);
        let word_at: Vec<usize> = pieces
            .iter()
            .enumerate()
            .filter(|(_, (_, is_word))| *is_word)
            .map(|(i, _)| i)
            .collect();
        let hits: Vec<bool> = word_at.iter().map(|&i| self.matches(pieces[i].0)).collect();
        // The window of `words` words holding the most matches; the first such.
        let mut best = (0usize, 0usize);
        let mut count = 0usize;
        for end in 0..hits.len() {
            count += usize::from(hits[end]);
            if end >= words {
                count -= usize::from(hits[end - words]);
            }
            let start = (end + 1).saturating_sub(words);
            if count > best.1 {
                best = (start, count);
            }
        }
        if word_at.is_empty() {
            return Vec::new();
        }
        // The window starts a little before its first match, and is full length where it can be.
        let first_hit = (best.0..hits.len()).find(|&i| hits[i]).unwrap_or(0);
        let start_word = first_hit
            .saturating_sub(words / 3)
            .min(word_at.len().saturating_sub(words));
        let end_word = (start_word + words).min(word_at.len());
        let first = word_at[start_word];
        let last = word_at[end_word - 1];
        let mut out = Vec::new();
        if start_word > 0 {
            push(&mut out, "… ", false);
        }
        for &(piece, is_word) in &pieces[first..=last] {
            // Line breaks between blocks read as spaces in a one-paragraph snippet.
            let piece = if is_word { piece } else { sep(piece) };
            push(&mut out, piece, is_word && self.matches(piece));
        }
        if end_word < word_at.len() {
            push(&mut out, " …", false);
        }
        out
    }
}

fn sep(piece: &str) -> &str {
    if piece.contains('\n') {
        " "
    } else {
        piece
    }
}

/// `text` as alternating runs of word characters (`true`) and everything else (`false`).
fn split_words(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_word: Option<bool> = None;
    for (i, ch) in text.char_indices() {
        let w = ch.is_alphanumeric();
        match in_word {
            Some(prev) if prev != w => {
                out.push((&text[start..i], prev));
                start = i;
            }
            _ => {}
        }
        in_word = Some(w);
    }
    if let Some(w) = in_word {
        out.push((&text[start..], w));
    }
    out
}

/// Appends text to the last fragment when their marking agrees.
fn push(out: &mut Vec<Fragment>, text: &str, marked: bool) {
    match out.last_mut() {
        Some(last) if last.marked == marked && !marked => last.text.push_str(text),
        _ => out.push(Fragment {
            text: text.to_string(),
            marked,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(fragments: &[Fragment]) -> String {
        fragments
            .iter()
            .map(|f| {
                if f.marked {
                    format!("[{}]", f.text)
                } else {
                    f.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn terms_drop_stop_words_punctuation_and_repeats() {
        assert_eq!(
            terms("How do I reset my password? Reset\"; DROP--"),
            vec!["reset", "password", "drop"]
        );
        assert!(terms("the of and").is_empty());
        let typed = prefixes(&terms("crashes analy"), true);
        assert_eq!(typed, ["crash", "analy"]);
        assert_eq!(
            prefixes(&terms("crashes analysis"), false),
            ["crash", "analysi"]
        );
        assert_eq!(
            fts5_query(&typed, Some("\"zzpubpublic\"")),
            "{title plain} : (\"crash\"* \"analy\"*) AND tags : (\"zzpubpublic\")"
        );
        assert_eq!(tsquery(&typed), "crash:* & analy:*");
    }

    #[test]
    fn matching_words_are_marked_by_stem() {
        let m = Matcher::new(&prefixes(&terms("restart crashes"), false));
        assert_eq!(
            render(&m.mark("Crashed after restarting; a crash.")),
            "[Crashed] after [restarting]; a [crash]."
        );
        let m = Matcher::new(&prefixes(&terms("pass"), true));
        assert_eq!(render(&m.mark("Password passes")), "[Password] [passes]");
    }

    #[test]
    fn snippets_center_on_the_matches() {
        let text = (0..100)
            .map(|i| {
                if i == 60 {
                    "failover".to_string()
                } else {
                    format!("w{i}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let m = Matcher::new(&prefixes(&terms("failover"), false));
        let s = render(&m.snippet(&text, 10));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("[failover]"), "{s}");
        assert_eq!(s.split_whitespace().count(), 12, "{s}");
        let short = render(&m.snippet("Configure failover\nthen test", 30));
        assert_eq!(short, "Configure [failover] then test");
        assert!(m.snippet("", 30).is_empty());
    }
}
