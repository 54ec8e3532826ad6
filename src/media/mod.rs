//! Local media: images loaded into base64 `data:` URIs, and the one sniffer that judges
//! a file's type from its first bytes.
//!
//! May use `schema::operation` (which fields take what); knows nothing of HTTP.

pub(crate) mod image;
pub(crate) mod sniff;
