//! The library's hints for Rust callers, put as a shell user acts on them.

/// `text` with the library's Rust hints for local images put as a shell user acts on
/// them (give the path: `run` inlines or uploads it).
pub fn shell_hints(text: &str) -> String {
    text.replace(
        "encode local files with modellix::Image",
        "give a local file as its path (./image.png)",
    )
    .replace(
        "encode the image with modellix::Image",
        "give a local file as its path (./image.png)",
    )
}
