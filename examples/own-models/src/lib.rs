//! A crate with its own Modellix models, without a fork of `modellix`.
//!
//! `models/bytedance/seedance-1.0-pro-fast-t2v.json` is the model's schema page as
//! Modellix publishes it (`https://www.modellix.ai/models/{provider}/{model}/api_schema`),
//! here in today's shape: the `post` is the body schema itself, with shared pieces in
//! `$defs`. `build.rs` calls `modellix_codegen::generate_models("models")`, and the
//! line below brings the module `models` with one typed request per page.
//!
//! ```no_run
//! use modellix_own_models_example::models::Seedance10ProFastT2vRequest;
//!
//! # async fn run(client: modellix::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let request = Seedance10ProFastT2vRequest::builder()
//!     .prompt("a paper boat drifting down a rainy street")
//!     .duration(5)
//!     .build()?;
//! let task = client.submit(&request).await?;
//! let output = task.wait().await?;
//! # let _ = output;
//! # Ok(()) }
//! ```

modellix::include_models!();
