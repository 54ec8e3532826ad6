//! Local images as base64 `data:` URIs, ready for any image field of a request.
//!
//! The MIME type comes from the content (magic bytes), never from the file name, and a
//! file is encoded while it is read: the only memory held is the finished string plus
//! one small read buffer per encoding thread.

use std::convert::Infallible;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use base64::engine::general_purpose::STANDARD;
use base64::{DecodeError, DecodeSliceError, Engine};

/// The longest prefix the image checks hand to the sniffer: enough for every image
/// signature it knows (BMP's header reserved bytes end at 10, WebP's tag at 12).
const SNIFF_LEN: usize = 14;

/// The formats [`sniff`] takes, for messages.
pub(crate) const FORMAT_NAMES: &str = "PNG, JPEG, WebP, GIF or BMP";

/// The MIME type of image data, from its first bytes: the crate's one sniffer
/// ([`crate::media::sniff::sniff`]), kept to images; `None` for anything else.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    crate::media::sniff::sniff(bytes).filter(|mime| mime.starts_with("image/"))
}

/// Checks that `payload` is standard, padded base64 of a known image format, decoding
/// in small chunks so that a large image is never held twice. The error completes
/// "must be base64 image data, but …".
pub(crate) fn check_base64_image(payload: &str) -> Result<(), String> {
    // 4 KiB of base64 decodes to exactly 3 KiB when not at the end.
    const IN: usize = 4096;
    let mut out = [0u8; IN / 4 * 3];
    let mut head: Option<&'static str> = None;
    let chunks = payload.as_bytes().chunks(IN);
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.enumerate() {
        let decoded = STANDARD
            .decode_slice(chunk, &mut out)
            .map_err(|e| base64_problem(e, i * IN))?;
        // Padding is only allowed at the very end.
        if i < last && decoded != out.len() {
            return Err("it is not valid base64 (padding before the end)".to_owned());
        }
        if i == 0 {
            head = sniff(&out[..decoded.min(SNIFF_LEN)]);
        }
    }
    match head {
        Some(_) => Ok(()),
        None => Err(format!("its data is not a {FORMAT_NAMES} image")),
    }
}

/// Describes a decoding error with offsets into the whole payload, not the chunk.
fn base64_problem(error: DecodeSliceError, chunk_start: usize) -> String {
    let detail = match error {
        DecodeSliceError::DecodeError(
            DecodeError::InvalidByte(at, byte)
            | DecodeError::InvalidLastSymbol {
                offset: at,
                symbol: byte,
                ..
            },
        ) => format!(
            "unexpected {:?} at offset {}",
            char::from(byte),
            chunk_start + at
        ),
        DecodeSliceError::DecodeError(DecodeError::InvalidPadding) => {
            "its `=` padding is missing or wrong".to_owned()
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLength(_)) => {
            "its length is not a whole number of base64 groups".to_owned()
        }
        other => other.to_string(),
    };
    format!("it is not valid base64 ({detail})")
}

/// A base64 `data:` URI holding an image, made from a local file or from bytes.
///
/// Pass it to any image field of a request builder: it converts into the `String` the
/// field holds.
///
/// ```
/// use modellix::Image;
/// use modellix::types::Seedance20V2vRequest;
///
/// // A 1×1 GIF; the MIME type is read from the bytes, not from a name.
/// let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
/// let image = Image::from_bytes(gif)?;
/// assert_eq!(image.mime_type(), "image/gif");
/// assert!(image.as_str().starts_with("data:image/gif;base64,R0lGODlh"));
///
/// let request = Seedance20V2vRequest::builder()
///     .prompt("Extend [Video 1], starting from this frame")
///     .video_urls(vec!["https://example.com/source.mp4".to_string()])
///     .first_frame_image(image)
///     .build()?;
/// request.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    data_uri: String,
    mime_type: &'static str,
}

impl Image {
    /// Files and byte slices larger than this are refused unless the limit is raised
    /// with [`Image::loader`]: 30 MiB of image, 40 MiB once encoded.
    pub const DEFAULT_MAX_BYTES: u64 = 30 * 1024 * 1024;

    /// Reads and encodes an image file, refusing files over
    /// [`Image::DEFAULT_MAX_BYTES`]; see [`ImageLoader::from_path`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), modellix::MediaError> {
    /// let frame = modellix::Image::from_path("first-frame.png").await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_path(path: impl AsRef<Path>) -> Result<Image, MediaError> {
        Image::loader().from_path(path).await
    }

    /// Encodes image bytes already in memory, refusing more than
    /// [`Image::DEFAULT_MAX_BYTES`]; see [`ImageLoader::from_bytes`].
    ///
    /// ```
    /// let err = modellix::Image::from_bytes(b"plain text").unwrap_err();
    /// assert!(err.to_string().contains("not a PNG, JPEG, WebP, GIF or BMP image"));
    /// ```
    pub fn from_bytes(bytes: impl AsRef<[u8]>) -> Result<Image, MediaError> {
        Image::loader().from_bytes(bytes)
    }

    /// Settings for reading images, such as a different size limit.
    ///
    /// ```
    /// let loader = modellix::Image::loader().max_bytes(1024);
    /// let err = loader.from_bytes(vec![0xff; 2048]).unwrap_err();
    /// assert!(matches!(err, modellix::MediaError::TooLarge { size: 2048, max: 1024, .. }));
    /// ```
    pub fn loader() -> ImageLoader {
        ImageLoader {
            max_bytes: Image::DEFAULT_MAX_BYTES,
        }
    }

    /// The MIME type found in the content, such as `image/png`.
    ///
    /// ```
    /// let png = modellix::Image::from_bytes(b"\x89PNG\r\n\x1a\n")?;
    /// assert_eq!(png.mime_type(), "image/png");
    /// # Ok::<(), modellix::MediaError>(())
    /// ```
    pub fn mime_type(&self) -> &'static str {
        self.mime_type
    }

    /// The `data:image/…;base64,…` URI.
    ///
    /// ```
    /// let png = modellix::Image::from_bytes(b"\x89PNG\r\n\x1a\n")?;
    /// assert_eq!(png.as_str(), "data:image/png;base64,iVBORw0KGgo=");
    /// # Ok::<(), modellix::MediaError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.data_uri
    }

    /// The `data:` URI, without copying it.
    ///
    /// ```
    /// let png = modellix::Image::from_bytes(b"\x89PNG\r\n\x1a\n")?;
    /// let uri: String = png.into_data_uri();
    /// assert!(uri.starts_with("data:image/png;base64,"));
    /// # Ok::<(), modellix::MediaError>(())
    /// ```
    pub fn into_data_uri(self) -> String {
        self.data_uri
    }
}

/// How a request field takes an image written out in the request, as the model's
/// rules file says ([`crate::schema::operation::Operation::inline_form`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InlineForm {
    /// `data:image/png;base64,…` (the field lists `data_uri`).
    DataUri,
    /// The base64 payload alone (the field lists `base64` but not `data_uri`).
    Base64,
}

impl InlineForm {
    /// `image` written in this form.
    ///
    /// ```
    /// use modellix::{Image, InlineForm};
    /// let png = Image::from_bytes(b"\x89PNG\r\n\x1a\n")?;
    /// assert_eq!(InlineForm::Base64.write(png.clone()), "iVBORw0KGgo=");
    /// assert_eq!(InlineForm::DataUri.write(png), "data:image/png;base64,iVBORw0KGgo=");
    /// # Ok::<(), modellix::MediaError>(())
    /// ```
    pub fn write(self, image: Image) -> String {
        let mut uri = image.into_data_uri();
        match self {
            InlineForm::DataUri => uri,
            InlineForm::Base64 => {
                // Drop the `data:…;base64,` prefix in place: no second copy of the payload.
                let start = uri.find(',').map_or(0, |comma| comma + 1);
                uri.drain(..start);
                uri
            }
        }
    }
}

// Not derived: the URI can be tens of megabytes.
impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("mime_type", &self.mime_type)
            .field("data_uri_len", &self.data_uri.len())
            .finish()
    }
}

impl AsRef<str> for Image {
    fn as_ref(&self) -> &str {
        &self.data_uri
    }
}

impl From<Image> for String {
    fn from(image: Image) -> String {
        image.data_uri
    }
}

/// For the builders' optional image fields (`.first_frame_image(image)`).
impl From<Image> for Option<String> {
    fn from(image: Image) -> Option<String> {
        Some(image.data_uri)
    }
}

/// Reads images with a chosen size limit; made by [`Image::loader`].
#[derive(Debug, Clone, Copy)]
pub struct ImageLoader {
    max_bytes: u64,
}

impl ImageLoader {
    /// Refuses images larger than `max_bytes` (before encoding).
    ///
    /// ```
    /// let loader = modellix::Image::loader().max_bytes(50 * 1024 * 1024);
    /// ```
    pub fn max_bytes(mut self, max_bytes: u64) -> ImageLoader {
        self.max_bytes = max_bytes;
        self
    }

    /// Reads and encodes an image file.
    ///
    /// Async: the file is read on Tokio's blocking pool (call it inside a Tokio
    /// runtime), in chunks encoded as they arrive into a string sized from the file
    /// length, so memory stays at the encoded string plus one buffer. Fails, naming the
    /// file, when it cannot be read, is larger than the limit or is not a PNG, JPEG,
    /// WebP, GIF or BMP image.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), modellix::MediaError> {
    /// let big = modellix::Image::loader()
    ///     .max_bytes(50 * 1024 * 1024)
    ///     .from_path("poster.webp")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_path(self, path: impl AsRef<Path>) -> Result<Image, MediaError> {
        let path = path.as_ref().to_owned();
        let io_path = path.clone();
        tokio::task::spawn_blocking(move || self.read_file(path))
            .await
            .unwrap_or_else(|e| {
                Err(MediaError::Io {
                    path: io_path,
                    source: io::Error::other(e),
                })
            })
    }

    /// Encodes image bytes already in memory; fails when they are larger than the
    /// limit or are not a PNG, JPEG, WebP, GIF or BMP image.
    ///
    /// ```
    /// let image = modellix::Image::loader().from_bytes(b"\xff\xd8\xff\xe0")?;
    /// assert_eq!(image.mime_type(), "image/jpeg");
    /// # Ok::<(), modellix::MediaError>(())
    /// ```
    pub fn from_bytes(self, bytes: impl AsRef<[u8]>) -> Result<Image, MediaError> {
        let bytes = bytes.as_ref();
        self.check_size(None, bytes.len() as u64)?;
        encode(None, bytes)
    }

    fn check_size(&self, path: Option<&Path>, size: u64) -> Result<(), MediaError> {
        if size > self.max_bytes {
            return Err(MediaError::TooLarge {
                path: path.map(Path::to_owned),
                size,
                max: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Reads the file in pieces, each encoded as it arrives straight into its place in
    /// the `data:` URI (see [`encode_input`]): memory is the URI plus one small buffer
    /// per thread. Files whose size the metadata does not tell (pipes, devices) are
    /// read whole first.
    fn read_file(self, path: PathBuf) -> Result<Image, MediaError> {
        let io_error = |source| MediaError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            let mut bytes = Vec::new();
            (&mut file)
                .take(self.max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(io_error)?;
            self.check_size(Some(&path), bytes.len() as u64)?;
            return encode(Some(&path), &bytes);
        }
        let size = metadata.len();
        // Refuse before reading anything.
        self.check_size(Some(&path), size)?;
        let size = usize::try_from(size).map_err(|_| MediaError::TooLarge {
            path: Some(path.clone()),
            size,
            max: self.max_bytes,
        })?;
        let mut head = [0u8; SNIFF_LEN];
        let head = &mut head[..size.min(SNIFF_LEN)];
        read_exactly(&mut file, head).map_err(io_error)?;
        let mime_type = mime_type_of(Some(&path), head)?;
        let uri_len = uri_len(Some(&path), mime_type, size)?;
        let file = Mutex::new(file);
        let image =
            encode_input(mime_type, uri_len, &file, size, parts_for(size)).map_err(io_error)?;
        let mut file = file.into_inner().unwrap_or_else(PoisonError::into_inner);
        // One more byte means the file grew while it was read: its end is not here.
        file.seek(SeekFrom::Start(size as u64)).map_err(io_error)?;
        if file.read(&mut [0u8; 1]).map_err(io_error)? != 0 {
            return Err(io_error(changed_size()));
        }
        Ok(image)
    }
}

fn changed_size() -> io::Error {
    io::Error::other("the file changed size while it was read")
}

/// Fills `buffer` from `file`; a file that ends first changed size while it was read.
fn read_exactly(file: &mut File, buffer: &mut [u8]) -> io::Result<()> {
    file.read_exact(buffer).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => changed_size(),
        _ => e,
    })
}

/// Encodes bytes already in memory into a `data:` URI.
fn encode(path: Option<&Path>, bytes: &[u8]) -> Result<Image, MediaError> {
    let mime_type = mime_type_of(path, &bytes[..bytes.len().min(SNIFF_LEN)])?;
    let uri_len = uri_len(path, mime_type, bytes.len())?;
    let Ok(image) = encode_input(
        mime_type,
        uri_len,
        bytes,
        bytes.len(),
        parts_for(bytes.len()),
    );
    Ok(image)
}

/// The MIME type of an input whose first bytes are `head`.
fn mime_type_of(path: Option<&Path>, head: &[u8]) -> Result<&'static str, MediaError> {
    sniff(head).ok_or_else(|| MediaError::NotAnImage {
        path: path.map(Path::to_owned),
    })
}

/// The length of the `data:` URI of `size` input bytes of `mime_type`.
fn uri_len(path: Option<&Path>, mime_type: &str, size: usize) -> Result<usize, MediaError> {
    size.div_ceil(3)
        .checked_mul(4)
        .and_then(|encoded| encoded.checked_add(uri_prefix(mime_type).len()))
        .ok_or_else(|| MediaError::TooLarge {
            path: path.map(Path::to_owned),
            size: size as u64,
            max: (usize::MAX / 4 * 3) as u64,
        })
}

fn uri_prefix(mime_type: &str) -> String {
    format!("data:{mime_type};base64,")
}

/// Input bytes encoded per step: small enough to stay in cache between being read and
/// being encoded, a multiple of 3 so that no step but the last pads.
const STEP: usize = 3 * 64 * 1024;
/// Most threads an encode uses.
const MAX_PARTS: usize = 4;
/// Least input per thread: below this a thread costs more than it saves.
const MIN_PART: usize = 4 * 1024 * 1024;

/// Where an encode's input comes from; read from several threads at once.
trait Input: Sync {
    type Error: Send;

    /// Runs `encode` on the input bytes in `range`, read into `buffer` first if they
    /// are not in memory.
    fn piece<R>(
        &self,
        range: Range<usize>,
        buffer: &mut Vec<u8>,
        encode: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, Self::Error>;
}

impl Input for [u8] {
    type Error = Infallible;

    fn piece<R>(
        &self,
        range: Range<usize>,
        _: &mut Vec<u8>,
        encode: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, Infallible> {
        Ok(encode(&self[range]))
    }
}

/// A file, read by offset: the reads take turns (they are copies out of the page
/// cache), the encoding and the writing of fresh pages of the URI run in parallel.
impl Input for Mutex<File> {
    type Error = io::Error;

    fn piece<R>(
        &self,
        range: Range<usize>,
        buffer: &mut Vec<u8>,
        encode: impl FnOnce(&[u8]) -> R,
    ) -> io::Result<R> {
        buffer.resize(range.len(), 0);
        {
            let mut file = self.lock().unwrap_or_else(PoisonError::into_inner);
            file.seek(SeekFrom::Start(range.start as u64))?;
            read_exactly(&mut file, buffer)?;
        }
        Ok(encode(buffer))
    }
}

/// How many threads to encode `size` bytes with: one per core, up to [`MAX_PARTS`], at
/// least [`MIN_PART`] of input each.
fn parts_for(size: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.min(MAX_PARTS).min(size / MIN_PART).max(1)
}

/// Encodes the `size` bytes of `input` into a `data:` URI of `uri_len` bytes, in up to
/// `parts` parts on threads of their own.
///
/// The URI is allocated once at its final size and cut into parts, each encoding its
/// own range of the input into its own range of the URI. Most of the time goes into
/// the kernel handing out the URI's fresh pages as they are first written (16,000 of
/// them for a 50 MB image), which the threads do side by side.
fn encode_input<I: Input + ?Sized>(
    mime_type: &'static str,
    uri_len: usize,
    input: &I,
    size: usize,
    parts: usize,
) -> Result<Image, I::Error> {
    let prefix = uri_prefix(mime_type);
    // Zeroed allocation: fresh pages from the system, each written once below.
    let mut uri = vec![0u8; uri_len];
    let (head, mut out) = uri.split_at_mut(prefix.len());
    head.copy_from_slice(prefix.as_bytes());

    // Whole steps per part, so every part but the last ends on a multiple of 3.
    let part_len = size.div_ceil(parts.max(1)).div_ceil(STEP).max(1) * STEP;
    let mut jobs = Vec::with_capacity(parts);
    let mut start = 0;
    while start < size {
        let end = start.saturating_add(part_len).min(size);
        let (part_out, rest) = out.split_at_mut(encoded_len(end - start));
        jobs.push((start..end, part_out));
        out = rest;
        start = end;
    }

    // Every thread takes parts until none are left; a thread that cannot be started
    // leaves its share to the others.
    let jobs = Mutex::new(jobs);
    let work = || {
        let mut result = Ok(());
        while result.is_ok() {
            let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let Some((range, out)) = job else { break };
            result = encode_part(input, range, out);
        }
        result
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..parts)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("modellix-encode".into())
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut result = work();
        for helper in helpers {
            let theirs = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            result = result.and(theirs);
        }
        result
    })?;

    let data_uri = String::from_utf8(uri).expect("a data URI prefix and base64 output are ASCII");
    Ok(Image {
        data_uri,
        mime_type,
    })
}

/// Encodes the input bytes in `range` into `out`, [`STEP`] bytes at a time.
fn encode_part<I: Input + ?Sized>(
    input: &I,
    range: Range<usize>,
    out: &mut [u8],
) -> Result<(), I::Error> {
    let mut buffer = Vec::new();
    let mut written = 0;
    for start in range.clone().step_by(STEP) {
        let piece = start..start.saturating_add(STEP).min(range.end);
        written += input.piece(piece, &mut buffer, |bytes| {
            base64_simd::STANDARD
                .encode(bytes, base64_simd::Out::from_slice(&mut out[written..]))
                .len()
        })?;
    }
    Ok(())
}

/// Length of the padded base64 encoding of `n` bytes (`n` is at most a buffer's size).
fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Why an image could not be made; the message names the file.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = modellix::Image::from_path("notes.txt").await.unwrap_err();
/// assert!(err.to_string().contains("notes.txt"));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MediaError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The image is larger than the loader's limit.
    TooLarge {
        /// The file; `None` for bytes in memory.
        path: Option<PathBuf>,
        /// Bytes found (at least).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The content is not a PNG, JPEG, WebP, GIF or BMP image.
    NotAnImage {
        /// The file; `None` for bytes in memory.
        path: Option<PathBuf>,
    },
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |path: &Option<PathBuf>| match path {
            Some(path) => path.display().to_string(),
            None => "the image bytes".to_owned(),
        };
        match self {
            MediaError::Io { path, source } => {
                write!(f, "cannot read image {}: {source}", path.display())
            }
            MediaError::TooLarge { path, size, max } => write!(
                f,
                "{} is {size} bytes, over the {max}-byte limit for images; \
                 make it smaller or raise the limit with Image::loader().max_bytes(…)",
                name(path)
            ),
            MediaError::NotAnImage { path } => write!(
                f,
                "{} is not a {FORMAT_NAMES} image (judged by its content, not its name)",
                name(path)
            ),
        }
    }
}

impl std::error::Error for MediaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MediaError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// PNG-signed bytes of `len`, varied so that misplaced parts show.
    fn image(len: usize) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        bytes
    }

    #[test]
    fn every_split_encodes_like_the_base64_crate() {
        // Lengths around step and part boundaries, each 0, 1 and 2 past a multiple of 3.
        for len in [
            14,
            STEP - 1,
            STEP,
            STEP + 1,
            2 * STEP + 2,
            3 * STEP + 5,
            1_000_001,
        ] {
            let bytes = image(len);
            let want = format!("data:image/png;base64,{}", STANDARD.encode(&bytes));
            let uri_len = uri_len(None, "image/png", len).unwrap();
            for parts in [1, 2, 3, MAX_PARTS] {
                let Ok(got) = encode_input("image/png", uri_len, &bytes[..], len, parts);
                assert!(got.as_str() == want, "len {len}, {parts} parts");

                let file = tempfile::tempfile().unwrap();
                std::io::Write::write_all(&mut &file, &bytes).unwrap();
                let got =
                    encode_input("image/png", uri_len, &Mutex::new(file), len, parts).unwrap();
                assert!(got.as_str() == want, "file, len {len}, {parts} parts");
            }
        }
    }
}
