//! Encode throughput and peak memory of `Image::from_path` for a 50 MB image.
//!
//! Run with `cargo bench --bench image_encode`. Not a test: it prints figures.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use modellix::Image;

/// Counts live heap bytes and their peak, so the encoder's own footprint is exact.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
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
    // Reset the kernel's high-water mark so it reflects the encode (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let hwm_before = common::proc_kb("VmHWM:");
    let rss_before = common::proc_kb("VmRSS:");

    let mut times = Vec::new();
    let mut peak_heap = 0;
    let mut encoded = 0;
    for _ in 0..RUNS {
        let live_before = LIVE.load(Ordering::Relaxed);
        PEAK.store(live_before, Ordering::Relaxed);
        let start = Instant::now();
        let image = runtime.block_on(loader.from_path(&path)).unwrap();
        times.push(start.elapsed().as_secs_f64());
        peak_heap = peak_heap.max(PEAK.load(Ordering::Relaxed) - live_before);
        encoded = image.as_str().len();
        drop(image);
    }
    let hwm_after = common::proc_kb("VmHWM:");

    times.sort_by(f64::total_cmp);
    let median = times[RUNS / 2];
    println!(
        "Image::from_path, {} MB PNG-like file, {RUNS} runs",
        mb(SIZE)
    );
    println!(
        "  throughput: {:.0} MB/s of input (median {:.1} ms, best {:.1} ms)",
        mb(SIZE) / median,
        median * 1e3,
        times[0] * 1e3
    );
    println!(
        "  peak heap during one encode: {:.2} MB = data URI {:.2} MB + {:.2} MB other (read buffer)",
        mb(peak_heap),
        mb(encoded),
        mb(peak_heap.saturating_sub(encoded))
    );
    println!(
        "  process VmHWM: {:.1} MB before, {:.1} MB after (RSS before {:.1} MB)",
        hwm_before as f64 / 1e3,
        hwm_after as f64 / 1e3,
        rss_before as f64 / 1e3
    );
    println!("  reproduce: cargo bench --bench image_encode");
}
