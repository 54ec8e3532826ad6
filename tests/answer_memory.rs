//! Decoding a status answer is bounded in memory by the bytes read: a 16 MiB answer
//! of small JSON values (in any unknown field) must not cost hundreds of MiB, as
//! keeping every unknown value as a tree would (about 35 bytes per value). Measured
//! with a counting global allocator, in a binary of its own; one test, so nothing
//! else allocates meanwhile. Over HTTP on 127.0.0.1.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use support::*;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ANSWER_BYTES: usize = 16 * 1024 * 1024 - 4096;

/// `[1,1,1,…]` or `{"k0":1,"k1":1,…}` of about `bytes` bytes.
fn small_values(bytes: usize, object: bool) -> String {
    let mut out = String::with_capacity(bytes + 32);
    out.push(if object { '{' } else { '[' });
    let mut i = 0usize;
    while out.len() < bytes {
        if i > 0 {
            out.push(',');
        }
        if object {
            out.push_str(&format!("\"k{i}\":1"));
        } else {
            out.push('1');
        }
        i += 1;
    }
    out.push(if object { '}' } else { ']' });
    out
}

/// A status answer with `junk` (raw JSON) spliced in where `place` says.
fn answer(place: &str, junk: &str) -> Vec<u8> {
    let mut data = json!({"status": "processing", "task_id": "task-big", "model_id": "m/x"});
    let marker = "\"__JUNK__\"";
    let mut top = json!({"code": 0, "message": "success"});
    match place {
        "data" => data["junk"] = json!("__JUNK__"),
        "top" => top["junk"] = json!("__JUNK__"),
        "result" => data["result"] = json!({"resources": [], "junk": "__JUNK__"}),
        "resource" => {
            data["result"] = json!({"resources": [
                {"type": "video", "url": "https://cdn.example.com/a.mp4", "junk": "__JUNK__"}
            ]});
        }
        "error" => {
            data["status"] = json!("failed");
            data["error"] = json!("__JUNK__");
        }
        _ => unreachable!(),
    }
    top["data"] = data;
    let text = serde_json::to_string(&top).unwrap();
    let at = text.find(marker).unwrap();
    let mut out = String::with_capacity(text.len() + junk.len());
    out.push_str(&text[..at]);
    out.push_str(junk);
    out.push_str(&text[at + marker.len()..]);
    out.into_bytes()
}

#[tokio::test(flavor = "current_thread")]
async fn a_16_mib_status_answer_of_small_values_costs_a_small_multiple_of_its_size() {
    let server = MockServer::start();
    let client = client_builder(&server).build().unwrap();
    let task = client.task("task-big").unwrap();
    let path = task_path("task-big");
    let mut report = Vec::new();
    for (place, object) in [
        ("data", false),
        ("top", true),
        ("result", false),
        ("resource", false),
        ("error", false),
    ] {
        let body = answer(place, &small_values(ANSWER_BYTES, object));
        let len = body.len();
        assert!(len <= 16 * 1024 * 1024, "{len}");
        server.script(
            "GET",
            &path,
            [Reply::Raw {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body,
            }],
        );
        // The scripted body is already held by the server: only what the query
        // adds (reading, decoding) counts.
        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let info = task.status().await;
        let added = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        let info = info.unwrap_or_else(|e| panic!("{place}: {e}"));
        assert_eq!(info.task_id, "task-big");
        assert!(info.status.to_string() == "processing" || place == "error");
        if place == "resource" {
            let resources = &info.result.as_ref().unwrap().resources;
            assert_eq!(
                resources[0].url.as_deref(),
                Some("https://cdn.example.com/a.mp4")
            );
        }
        report.push(format!(
            "{place}{}: {:.1} MiB added for a {:.1} MiB answer",
            if object { " (object)" } else { "" },
            added as f64 / 1048576.0,
            len as f64 / 1048576.0
        ));
        drop(info);
        // A small multiple of the bytes read: the body, its raw text kept once, and
        // the connection's buffers.
        assert!(added < 5 * len, "{}", report.join("\n"));
    }
    eprintln!("{}", report.join("\n"));
}
