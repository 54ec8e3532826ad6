//! Encode throughput and peak memory of `Image::from_path` for a 50 MB image, beside
//! the baseline: the previous implementation (768 KiB reads, each chunk appended with
//! the `base64` crate's `encode_string`), kept here and run on the same file in the
//! same process, alternating with the library's; and the floor every encoder that
//! writes a fresh string pays, the kernel handing out its pages.
//!
//! Run with `cargo bench --bench image_encode`. Not a test: it prints figures.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Instant;

use modellix::Image;

/// Counts live heap bytes and their peak, so the encoder's own footprint is exact.
/// While `ONLY_CLIENT` is set, only threads marked as the client's count (the upload
/// section: the sandbox in the same process keeps every uploaded byte).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static ONLY_CLIENT: AtomicBool = AtomicBool::new(false);

thread_local! {
    static CLIENT_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    !ONLY_CLIENT.load(Ordering::Relaxed) || CLIENT_THREAD.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && counted() {
            grew(layout.size() as isize);
        }
        ptr
    }

    // Forwarded, not left to the trait's default: that one allocates and then writes
    // the zeros itself, touching every page of a large buffer on the calling thread,
    // where the system allocator hands out pages the kernel zeroes when first written.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && counted() {
            grew(layout.size() as isize);
        }
        ptr
    }

    // Forwarded too (the default copies into a new block): counts the change of size.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && counted() {
            grew(new_size as isize - layout.size() as isize);
        }
        new
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }
}

/// Adds `size` bytes (negative: fewer) to the live count and its peak.
fn grew(size: isize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SIZE: usize = 50_000_000;
const RUNS: usize = 5;

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("image.png");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"\x89PNG\r\n\x1a\n").unwrap();
    let mut written = 8;
    let mut chunk = vec![0u8; 1 << 20];
    while written < SIZE {
        let n = chunk.len().min(SIZE - written);
        fastrand::fill(&mut chunk[..n]);
        file.write_all(&chunk[..n]).unwrap();
        written += n;
    }
    drop((file, chunk));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let loader = Image::loader().max_bytes(SIZE as u64);
    // Reset the kernel's high-water mark so it reflects the encodes (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let hwm_before = common::proc_kb("VmHWM:");
    let rss_before = common::proc_kb("VmRSS:");

    let mut library = Figures::default();
    let mut baseline = Figures::default();
    let mut fresh_pages = Vec::new();
    for _ in 0..RUNS {
        fresh_pages.push(first_touch(SIZE.div_ceil(3) * 4));
        library.measure(|| {
            runtime
                .block_on(loader.from_path(&path))
                .unwrap()
                .into_data_uri()
        });
        baseline.measure(|| baseline_encode(&path));
    }
    let hwm_after = common::proc_kb("VmHWM:");

    println!(
        "Image::from_path, {} MB PNG-like file, {RUNS} runs each, alternating",
        mb(SIZE)
    );
    println!(
        "| implementation | MB/s of input (median) | median ms | best ms | peak heap MB | peak / encoded size |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, figures) in [
        ("modellix (parts on threads, base64-simd)", &mut library),
        ("baseline (chunked, base64 encode_string)", &mut baseline),
    ] {
        figures.times.sort_by(f64::total_cmp);
        let median = figures.times[RUNS / 2];
        println!(
            "| {name} | {:.0} | {:.1} | {:.1} | {:.2} | {:.3} |",
            mb(SIZE) / median,
            median * 1e3,
            figures.times[0] * 1e3,
            mb(figures.peak_heap),
            figures.peak_heap as f64 / figures.encoded as f64
        );
    }
    println!(
        "speed-up: {:.2}x; encoded size {:.2} MB",
        baseline.times[RUNS / 2] / library.times[RUNS / 2],
        mb(library.encoded)
    );
    let floor = common::median(&mut fresh_pages);
    println!(
        "floor: writing the {:.2} MB of fresh pages alone, on one thread, takes {:.1} ms \
         (median), {:.0} MB/s of input at most for any one-thread encoder",
        mb(library.encoded),
        floor * 1e3,
        mb(SIZE) / floor
    );
    println!(
        "process VmHWM: {:.1} MB before, {:.1} MB after (RSS before {:.1} MB)",
        hwm_before as f64 / 1e3,
        hwm_after as f64 / 1e3,
        rss_before as f64 / 1e3
    );
    uploads(&dir);
    println!("reproduce: cargo bench --bench image_encode");
}

/// Peak client heap while `Client::upload` sends files of growing size to a sandbox
/// served by its own runtime in this process (its threads not counted): a streamed
/// upload holds the same few buffers whatever the file's size.
fn uploads(dir: &tempfile::TempDir) {
    let server = common::SandboxThread::start(modellix_sandbox::Sandbox::builder());
    CLIENT_THREAD.set(true);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(|| CLIENT_THREAD.set(true))
        .build()
        .unwrap();
    let client = server.sandbox.client().unwrap();
    println!(
        "\nClient::upload to a sandbox in this process (its threads not counted), 3 runs each"
    );
    println!("| file MB | peak client heap MB (max of runs) | peak / file size | median ms |");
    println!("|---|---|---|---|");
    ONLY_CLIENT.store(true, Ordering::Relaxed);
    for size in [1usize << 20, 4 << 20, 16 << 20] {
        let path = dir.path().join(format!("upload-{size}.png"));
        let mut bytes = vec![0u8; size];
        fastrand::fill(&mut bytes);
        bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        std::fs::write(&path, &bytes).unwrap();
        drop(bytes);
        let (mut peak, mut times) = (0isize, Vec::new());
        for _ in 0..3 {
            let before = LIVE.load(Ordering::Relaxed);
            PEAK.store(before, Ordering::Relaxed);
            let start = Instant::now();
            let file = runtime.block_on(client.upload(&path)).expect("the upload");
            times.push(start.elapsed().as_secs_f64());
            peak = peak.max(PEAK.load(Ordering::Relaxed) - before);
            runtime
                .block_on(client.delete_file(&file.file_id))
                .expect("the delete");
        }
        println!(
            "| {:.1} | {:.2} | {:.3} | {:.1} |",
            mb(size),
            mb(peak.max(0) as usize),
            peak as f64 / size as f64,
            common::median(&mut times) * 1e3
        );
    }
    ONLY_CLIENT.store(false, Ordering::Relaxed);
}

/// Times and peak heap of one implementation.
#[derive(Default)]
struct Figures {
    times: Vec<f64>,
    peak_heap: usize,
    encoded: usize,
}

impl Figures {
    fn measure(&mut self, encode: impl FnOnce() -> String) {
        let live_before = LIVE.load(Ordering::Relaxed);
        PEAK.store(live_before, Ordering::Relaxed);
        let start = Instant::now();
        let uri = encode();
        self.times.push(start.elapsed().as_secs_f64());
        let peak = PEAK.load(Ordering::Relaxed) - live_before;
        self.peak_heap = self.peak_heap.max(peak.max(0) as usize);
        self.encoded = uri.len();
    }
}

/// The previous `Image::from_path` (without its checks): 768 KiB reads, each appended
/// to a pre-sized string with `base64::Engine::encode_string`.
fn baseline_encode(path: &std::path::Path) -> String {
    use base64::Engine;
    const CHUNK: usize = 3 * 256 * 1024;
    let mut file = std::fs::File::open(path).unwrap();
    let size = file.metadata().unwrap().len() as usize;
    let prefix = "data:image/png;base64,";
    let mut uri = String::with_capacity(prefix.len() + size.div_ceil(3) * 4);
    uri.push_str(prefix);
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            match file.read(&mut buffer[filled..]).unwrap() {
                0 => break,
                n => filled += n,
            }
        }
        base64::engine::general_purpose::STANDARD.encode_string(&buffer[..filled], &mut uri);
        if filled < CHUNK {
            return uri;
        }
    }
}

/// Seconds to allocate `len` bytes and write one byte per 4 KiB page: what the kernel
/// takes to hand out the pages of a fresh buffer of that size.
fn first_touch(len: usize) -> f64 {
    let start = Instant::now();
    let mut buffer = vec![0u8; len];
    for at in (0..len).step_by(4096) {
        buffer[at] = 1;
    }
    std::hint::black_box(&buffer);
    start.elapsed().as_secs_f64()
}
