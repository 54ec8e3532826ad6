//! `modellix upload`: local files into Modellix's file store, for URL fields.
//!
//! One file at a time, never retried: an upload uses the team's quota (10 files), and
//! an unknown outcome says to check with the list of files.

use std::path::PathBuf;

use modellix::WaitOptions;
use serde_json::{Value, json};

use crate::args::Global;
use crate::failure::Outcome;
use crate::output::Out;
use crate::session::Session;

pub async fn run(global: &Global, files: &[PathBuf], out: &Out) -> Outcome {
    let session = Session::open(global, WaitOptions::default()).await?;
    let mut uploaded: Vec<Value> = Vec::new();
    for path in files {
        let file = session.client.upload(path).await?;
        let expires = humantime::format_rfc3339_seconds(file.expires_at).to_string();
        uploaded.push(json!({
            "path": path.display().to_string(),
            "file_id": file.file_id,
            "url": file.url,
            "size": file.size,
            "expires_at": expires,
        }));
        if !out.json {
            println!(
                "{}  {}  {} bytes, until {expires}  {}",
                path.display(),
                file.file_id,
                file.size,
                file.url
            );
        }
    }
    out.data(&json!({ "files": uploaded }), || {});
    Ok(())
}
