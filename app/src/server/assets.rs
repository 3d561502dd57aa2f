//! The built site's fingerprinted file names (`scripts/build-site.sh` writes them to `hash.txt`
//! beside the binary), so pages link the bundle and stylesheet of this very build and the files
//! can be cached for ever. Without the file (a development build) the plain names are used.

use std::sync::OnceLock;

/// The fingerprints of the built files, by kind (`js`, `wasm`, `css`).
#[derive(Debug, Default)]
pub struct Fingerprints {
    lines: Vec<(String, String)>,
}

impl Fingerprints {
    /// Reads `name: fingerprint` lines.
    pub fn parse(text: &str) -> Fingerprints {
        Fingerprints {
            lines: text
                .lines()
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .collect(),
        }
    }

    fn of(&self, kind: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the build fingerprinted its files.
    pub fn present(&self) -> bool {
        self.of("js").is_some() && self.of("wasm").is_some()
    }

    /// The fingerprints of the script and the WASM of the browser half, in a built site.
    pub fn bundle(&self) -> Option<(&str, &str)> {
        self.of("js").zip(self.of("wasm"))
    }

    /// The stylesheet's address.
    pub fn stylesheet(&self) -> String {
        match self.of("css") {
            Some(hash) => format!("/pkg/portcullis.{hash}.css"),
            None => "/pkg/portcullis.css".into(),
        }
    }
}

/// This binary's fingerprints, read once.
pub fn fingerprints() -> &'static Fingerprints {
    static READ: OnceLock<Fingerprints> = OnceLock::new();
    READ.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| Fingerprints::parse(&text))
            .unwrap_or_default()
    })
}

/// Whether an asset path names a fingerprinted file (`/pkg/portcullis.0123456789abcdef.js`):
/// its content never changes under that name.
pub fn is_fingerprinted(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/portcullis.") else {
        return false;
    };
    match name.split_once('.') {
        Some((hash, ext)) => {
            hash.len() == 16
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && matches!(ext, "js" | "wasm" | "css")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_name_the_built_files() {
        let f = Fingerprints::parse(
            "js: 0123456789abcdef\nwasm: fedcba9876543210\ncss: 00112233aabbccdd\n",
        );
        assert!(f.present());
        assert_eq!(f.stylesheet(), "/pkg/portcullis.00112233aabbccdd.css");
        let none = Fingerprints::parse("");
        assert!(!none.present());
        assert_eq!(none.stylesheet(), "/pkg/portcullis.css");
    }

    #[test]
    fn only_fingerprinted_names_are_immutable() {
        assert!(is_fingerprinted("/pkg/portcullis.0123456789abcdef.wasm"));
        assert!(is_fingerprinted("/pkg/portcullis.0123456789abcdef.css"));
        assert!(!is_fingerprinted("/pkg/portcullis.css"));
        assert!(!is_fingerprinted("/pkg/portcullis.js"));
        assert!(!is_fingerprinted("/pkg/portcullis.0123456789abcdeg.js"));
        assert!(!is_fingerprinted("/pkg/snippets/x/inline0.js"));
        assert!(!is_fingerprinted("/favicon.svg"));
    }
}
