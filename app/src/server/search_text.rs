//! The words of a knowledge-base search, and the highlighted snippets shown with each result.
//!
//! Both engines are asked the same question — every remaining word must occur, English stemming,
//! and the word someone is still typing as a prefix — and the snippet is cut and
//! highlighted here rather than by the engine (`snippet()` in FTS5, `ts_headline` in PostgreSQL),
//! so results read the same on both and the page only ever receives text, never engine-made HTML.

use crate::model::Fragment;
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

/// The letters typed so far of the word being typed, as an FTS5 prefix. FTS5's Porter stemmer
/// also stems a prefix, and rewrites a few endings ("analy" → "anali", which no stem begins
/// with): those letters are left off ("anal"), which finds at least every completion.
fn typed_prefix(word: &str) -> String {
    let trimmed = word.trim_end_matches(['e', 'i', 's', 'y']);
    if trimmed.chars().count() >= 2 {
        trimmed.to_string()
    } else {
        word.to_string()
    }
}

/// An FTS5 query over the title and body: every term must occur (stemmed by the index's Porter
/// tokenizer; the last as a prefix while `typing`); `tags` adds a condition on the tags column.
/// Terms are letters and digits only, so quoting them is safe.
pub fn fts5_query(terms: &[String], typing: bool, tags: Option<&str>) -> String {
    let last = terms.len().saturating_sub(1);
    let words: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if typing && i == last {
                format!("\"{}\"*", typed_prefix(t))
            } else {
                format!("\"{t}\"")
            }
        })
        .collect();
    let mut query = format!("{{title plain}} : ({})", words.join(" "));
    if let Some(tags) = tags {
        query.push_str(&format!(" AND tags : ({tags})"));
    }
    query
}

/// The same for PostgreSQL: the complete words for `to_tsquery('english', …)` (stemmed like
/// the index), and the word being typed as a prefix for `to_tsquery('simple', …)` (the index's
/// stems begin with the letters typed). Either may be empty.
pub fn tsqueries(terms: &[String], typing: bool) -> (String, String) {
    let split = if typing {
        terms.len().saturating_sub(1)
    } else {
        terms.len()
    };
    let english = terms[..split].join(" & ");
    let simple = terms[split..]
        .iter()
        .map(|t| format!("{t}:*"))
        .collect::<Vec<_>>()
        .join(" & ");
    (english, simple)
}

/// Decides which words of a text match the query: same stem as a term, or for the word being
/// typed, starting with its letters.
pub struct Matcher {
    stemmer: Stemmer,
    stems: Vec<String>,
    typed: Option<String>,
    /// The first letters of the stems and of the word being typed.
    firsts: Vec<char>,
}

/// The first letter of `word` in lower case.
fn first_letter(word: &str) -> Option<char> {
    word.chars().next()?.to_lowercase().next()
}

impl Matcher {
    pub fn new(terms: &[String], typing: bool) -> Matcher {
        let stemmer = Stemmer::create(Algorithm::English);
        let stems: Vec<String> = terms.iter().map(|t| stemmer.stem(t).into_owned()).collect();
        let typed = if typing { terms.last().cloned() } else { None };
        let firsts = stems
            .iter()
            .chain(typed.iter())
            .filter_map(|w| first_letter(w))
            .collect();
        Matcher {
            stemmer,
            stems,
            typed,
            firsts,
        }
    }

    fn matches(&self, word: &str) -> bool {
        // The English stemmer changes a word's ending only, never its first letter: a word
        // beginning with no stem's first letter matches none, and most words of a text are passed
        // over without being lower-cased and stemmed.
        if !first_letter(word).is_some_and(|c| self.firsts.contains(&c)) {
            return false;
        }
        let lower = word.to_lowercase();
        if self.typed.as_deref().is_some_and(|p| lower.starts_with(p)) {
            return true;
        }
        let stem = self.stemmer.stem(&lower);
        self.stems.iter().any(|s| *s == stem)
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

    #[test]
    fn stems_keep_their_word_s_first_letter() {
        let stemmer = Stemmer::create(Algorithm::English);
        for word in [
            "dying",
            "skies",
            "yelling",
            "ýes",
            "Ünïcode",
            "42nd",
            "generously",
            "news",
            "İstanbul",
        ] {
            let lower = word.to_lowercase();
            let stem = stemmer.stem(&lower);
            assert_eq!(first_letter(&stem), first_letter(word), "{word} → {stem}");
        }
        let m = Matcher::new(&["dying".to_string(), "sky".to_string()], false);
        assert!(m.matches("Dies") && m.matches("skies") && !m.matches("pies"));
    }

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
        assert_eq!(
            fts5_query(&terms("crashes analy"), true, Some("\"zzpubpublic\"")),
            "{title plain} : (\"crashes\" \"anal\"*) AND tags : (\"zzpubpublic\")"
        );
        assert_eq!(
            fts5_query(&terms("canary pipeline"), false, None),
            "{title plain} : (\"canary\" \"pipeline\")"
        );
        assert_eq!(
            tsqueries(&terms("crashes analy"), true),
            ("crashes".to_string(), "analy:*".to_string())
        );
        assert_eq!(
            tsqueries(&terms("crashes analysis"), false),
            ("crashes & analysis".to_string(), String::new())
        );
    }

    #[test]
    fn matching_words_are_marked_by_stem() {
        let m = Matcher::new(&terms("restart crashes"), false);
        assert_eq!(
            render(&m.mark("Crashed after restarting; a crash.")),
            "[Crashed] after [restarting]; a [crash]."
        );
        let m = Matcher::new(&terms("pass"), true);
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
        let m = Matcher::new(&terms("failover"), false);
        let s = render(&m.snippet(&text, 10));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("[failover]"), "{s}");
        assert_eq!(s.split_whitespace().count(), 12, "{s}");
        let short = render(&m.snippet("Configure failover\nthen test", 30));
        assert_eq!(short, "Configure [failover] then test");
        assert!(m.snippet("", 30).is_empty());
    }
}
