//! The layers as a reader expects them: the domain knows neither face (nor
//! axum, async-graphql, OpenAPI or the shared HTTP plumbing), and the REST
//! and GraphQL faces never use each other. A slip names the file and line.

use std::path::{Path, PathBuf};

/// What the code (comments aside) of each layer must not mention.
const RULES: [(&str, &[&str]); 3] = [
    (
        "src/domain",
        &[
            "axum",
            "async_graphql",
            "utoipa",
            "crate::rest",
            "crate::graphql",
            "crate::openapi",
            "crate::http",
        ],
    ),
    ("src/rest", &["crate::graphql"]),
    ("src/graphql", &["crate::rest"]),
];

#[test]
fn no_layer_mentions_what_it_must_not_know() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for (dir, forbidden) in RULES {
        let files = rust_files(&root.join(dir));
        assert!(!files.is_empty(), "no Rust files under {dir}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
            found.extend(
                offences(&text, forbidden).into_iter().map(|(line, word)| format!("{shown}:{line}: {word}")),
            );
        }
    }
    assert!(found.is_empty(), "layer rules broken:\n{}", found.join("\n"));
}

/// The check itself finds a mention in code and none in comments.
#[test]
fn mentions_in_code_are_found_and_comments_are_ignored() {
    let text = "//! Unlike crate::rest, this\n/* crate::rest /* nested */ crate::rest */\nlet s = \"// \"; use crate::rest::x;\nuse axum::Json; // crate::rest\n";
    assert_eq!(offences(text, &["crate::rest", "axum"]), [(3, "crate::rest"), (4, "axum")]);
    assert_eq!(offences("let c = '\"'; use crate::rest;", &["crate::rest"]), [(1, "crate::rest")]);
    assert!(offences("use crate::restful;", &["crate::rest"]).is_empty());
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Each forbidden word in `text`'s code, with its line (1-based). A word
/// counts as a whole path segment: `crate::rest` is not `crate::restful`.
fn offences<'a>(text: &str, forbidden: &[&'a str]) -> Vec<(usize, &'a str)> {
    let code = without_comments(text);
    let mut found = Vec::new();
    for (index, line) in code.lines().enumerate() {
        for word in forbidden {
            let whole = line.match_indices(word).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + word.len()..].chars().next();
                !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
            });
            if whole {
                found.push((index + 1, *word));
            }
        }
    }
    found
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `text` with every comment blanked out (line breaks kept, so line numbers
/// hold). String literals are kept: `"//"` in one starts no comment.
fn without_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(next);
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == '\'' && next == Some('"') && chars.get(i + 2) == Some(&'\'') {
            // The character literal '"' opens no string.
            out.push_str("'\"'");
            i += 3;
        } else {
            in_string = c == '"';
            out.push(c);
            i += 1;
        }
    }
    out
}
