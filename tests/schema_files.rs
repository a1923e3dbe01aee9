//! The schema file committed at the repo root must equal what the code
//! prints, so clients (and reviewers) can read the contract without a build.
//!
//! To refresh it: `cargo run -q -- schema graphql > schema.graphql`,
//! or `UPDATE_SCHEMA=1 cargo test --test schema_files`.

const SCHEMA_GRAPHQL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");

fn updating() -> bool {
    std::env::var("UPDATE_SCHEMA").is_ok_and(|value| value == "1")
}

#[test]
fn schema_graphql_is_up_to_date() {
    if updating() {
        return; // `update_schema_graphql_when_asked` rewrites the file instead.
    }
    let expected = storegate::graphql::sdl();
    let committed = std::fs::read_to_string(SCHEMA_GRAPHQL).unwrap_or_default().replace("\r\n", "\n");
    if committed != expected {
        let shorter = committed.lines().count().min(expected.lines().count());
        let line = committed.lines().zip(expected.lines()).position(|(a, b)| a != b).unwrap_or(shorter);
        panic!(
            "{} is stale (first difference at line {}).\n\
             Regenerate it with:\n\n    cargo run -q -- schema graphql > schema.graphql\n\n\
             (or UPDATE_SCHEMA=1 cargo test --test schema_files) and commit the result.",
            SCHEMA_GRAPHQL,
            line + 1,
        );
    }
}

#[test]
fn update_schema_graphql_when_asked() {
    if updating() {
        std::fs::write(SCHEMA_GRAPHQL, storegate::graphql::sdl()).expect("could not write schema.graphql");
    }
}
