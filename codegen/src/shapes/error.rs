//! Why a schema page cannot be rewritten into the classic shape.

use std::fmt;

/// A schema page that cannot be read, naming what is wrong and where (a JSON pointer
/// into the page as given).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeError {
    /// The page is not a JSON object.
    NotAPage,
    /// A `$ref` leads back to itself: `chain` lists the pointers followed, the first
    /// again at the end.
    Cycle {
        /// Where the `$ref` that closed the loop is.
        pointer: String,
        /// The pointers followed, in order.
        chain: Vec<String>,
    },
    /// A `$ref` to another document (anything not starting with `#`).
    Outside {
        /// Where the `$ref` is.
        pointer: String,
        /// The reference as written.
        reference: String,
    },
    /// A local `$ref` whose pointer names nothing in the page.
    Missing {
        /// Where the `$ref` is.
        pointer: String,
        /// The reference as written.
        reference: String,
    },
    /// A `$ref` that is not a valid JSON pointer (a bad `~` or `%` escape).
    BadPointer {
        /// Where the `$ref` is.
        pointer: String,
        /// The reference as written.
        reference: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Parts of an `allOf` (or a `$ref` and the keywords beside it) that cannot be merged.
    Conflict {
        /// Where the `allOf` is.
        pointer: String,
        /// The keyword the parts disagree on.
        keyword: String,
        /// How they disagree.
        detail: String,
    },
    /// Schemas nested deeper than any published page goes.
    TooDeep {
        /// Where the limit was reached.
        pointer: String,
        /// The limit.
        limit: usize,
    },
    /// Resolving the references would make the page larger than the limit.
    TooLarge {
        /// The limit, in schema objects.
        limit: usize,
    },
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::NotAPage => f.write_str(
                "expected a JSON object \
                 {\"servers\": [...], \"<method>\": {...}} as the schema page",
            ),
            ShapeError::Cycle { pointer, chain } => write!(
                f,
                "{}: $ref cycle {}: a schema that contains itself cannot be checked; \
                 the page must be corrected by its publisher",
                at(pointer),
                chain.join(" -> ")
            ),
            ShapeError::Outside { pointer, reference } => write!(
                f,
                "{}: $ref {reference:?} points outside the document (only local \"#/...\" \
                 pointers are followed)",
                at(pointer)
            ),
            ShapeError::Missing { pointer, reference } => write!(
                f,
                "{}: $ref {reference:?} points at nothing in the document",
                at(pointer)
            ),
            ShapeError::BadPointer {
                pointer,
                reference,
                problem,
            } => write!(
                f,
                "{}: $ref {reference:?} is not a valid JSON pointer: {problem}",
                at(pointer)
            ),
            ShapeError::Conflict {
                pointer,
                keyword,
                detail,
            } => write!(
                f,
                "{}: allOf cannot be merged on {keyword:?}: {detail}",
                at(pointer)
            ),
            ShapeError::TooDeep { pointer, limit } => {
                write!(f, "{}: schemas nested more than {limit} deep", at(pointer))
            }
            ShapeError::TooLarge { limit } => write!(
                f,
                "resolving the page's $ref pointers makes more than {limit} schemas; refused"
            ),
        }
    }
}

fn at(pointer: &str) -> String {
    if pointer.is_empty() {
        "the page".to_owned()
    } else {
        format!("at {pointer}")
    }
}

impl std::error::Error for ShapeError {}
