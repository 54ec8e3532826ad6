//! What the sandbox's models are and cost: the catalog `type` and display price of
//! every vendored model, and the amount a finished task is billed, as Modellix writes
//! it (`"0.2400"`, a decimal string). Prices are kept in ten-thousandths of a dollar so
//! no float ever touches an amount.

use serde_json::{Value, json};

/// A price in ten-thousandths of a dollar (`2400` is `$0.2400`).
type Cents100 = u64;

/// How a model is priced: per image, or per second of video within a range (the
/// range's low end is what the sandbox bills).
#[derive(Debug, Clone, Copy)]
enum Price {
    PerImage(Cents100),
    /// One price per task, whatever it produces (the sandbox's audio models).
    Flat(Cents100),
    PerSecond {
        min: Cents100,
        max: Cents100,
    },
}

/// The catalog `type` and price of each vendored model; a model not listed here falls
/// back to its id's suffix and [`DEFAULT_PRICE`].
const MODELS: &[(&str, &str, Price)] = &[
    (
        "alibaba/cosyvoice-clone",
        "speech-to-speech",
        Price::Flat(200),
    ),
    (
        "alibaba/qwen-audio-3.0-tts-plus",
        "text-to-speech",
        Price::Flat(100),
    ),
    (
        "alibaba/wan2.7-i2v",
        "image-to-video",
        Price::PerSecond {
            min: 1000,
            max: 1500,
        },
    ),
    (
        "alibaba/wan2.7-image",
        "text-to-image",
        Price::PerImage(300),
    ),
    (
        "bytedance/seedance-1.5-pro-t2v",
        "text-to-video",
        Price::PerSecond {
            min: 480,
            max: 1200,
        },
    ),
    (
        "bytedance/seedance-2.0-fast-i2v",
        "image-to-video",
        Price::PerSecond {
            min: 600,
            max: 1200,
        },
    ),
    (
        "bytedance/seedance-2.0-v2v",
        "video-to-video",
        Price::PerSecond {
            min: 480,
            max: 2400,
        },
    ),
    (
        "bytedance/seedream-5.0-lite",
        "text-to-image",
        Price::PerImage(350),
    ),
    (
        "google/nano-banana-2",
        "text-to-image",
        Price::PerImage(390),
    ),
    (
        "google/veo-3.1-lite-i2v",
        "image-to-video",
        Price::PerSecond { min: 500, max: 800 },
    ),
    (
        "kling/kling-image-o1",
        "image-to-image",
        Price::PerImage(280),
    ),
    (
        "kling/kling-v1-t2v",
        "text-to-video",
        Price::PerSecond { min: 280, max: 560 },
    ),
    (
        "minimax/hailuo-2.3-t2v",
        "text-to-video",
        Price::PerSecond { min: 450, max: 900 },
    ),
    ("openai/gpt-image-2", "text-to-image", Price::PerImage(400)),
    ("openai/whisper-1", "speech-to-text", Price::Flat(60)),
    (
        "vidu/lip-sync",
        "video-to-video",
        Price::PerSecond { min: 500, max: 500 },
    ),
    (
        "vidu/viduq2-pro-multi-frame",
        "image-to-video",
        Price::PerSecond {
            min: 600,
            max: 1000,
        },
    ),
    (
        "vidu/viduq3-turbo-i2v",
        "image-to-video",
        Price::PerSecond { min: 400, max: 800 },
    ),
];

/// The price of a model the table does not know (generic tasks, new fragments).
const DEFAULT_PRICE: Price = Price::PerSecond {
    min: 1000,
    max: 1000,
};

/// Seconds billed for a video whose request names no `duration`.
const DEFAULT_SECONDS: u64 = 5;

fn entry(model_id: &str) -> Option<&'static (&'static str, &'static str, Price)> {
    MODELS.iter().find(|(id, _, _)| *id == model_id)
}

/// The catalog type of a vendored model, when the table knows it.
pub(crate) fn model_type(model_id: &str) -> Option<&'static str> {
    entry(model_id).map(|(_, kind, _)| *kind)
}

fn price(model_id: &str) -> Price {
    entry(model_id).map_or(DEFAULT_PRICE, |(_, _, p)| *p)
}

/// `1234` as `"0.1234"`.
fn dollars(amount: Cents100) -> String {
    format!("{}.{:04}", amount / 10_000, amount % 10_000)
}

/// The catalog entry's `price` object: `{"fixed", "unit"}` or `{"min", "max", "unit"}`,
/// amounts as decimal strings.
pub(crate) fn catalog_price(model_id: &str) -> Value {
    match price(model_id) {
        Price::PerImage(each) => json!({"fixed": dollars(each), "unit": "$/img"}),
        Price::Flat(each) => json!({"fixed": dollars(each), "unit": "$/req"}),
        Price::PerSecond { min, max } if min == max => {
            json!({"fixed": dollars(min), "unit": "$/sec"})
        }
        Price::PerSecond { min, max } => {
            json!({"min": dollars(min), "max": dollars(max), "unit": "$/sec"})
        }
    }
}

/// The catalog entry's `display_price` text: `$0.0300/img`, `$0.0480-$0.2400/sec`.
pub(crate) fn display_price(model_id: &str) -> String {
    match price(model_id) {
        Price::PerImage(each) => format!("${}/img", dollars(each)),
        Price::Flat(each) => format!("${}/req", dollars(each)),
        Price::PerSecond { min, max } if min == max => format!("${}/sec", dollars(min)),
        Price::PerSecond { min, max } => format!("${}-${}/sec", dollars(min), dollars(max)),
    }
}

/// The amount a successful task of `model_id` with `body` and `files` result files is
/// billed: per image produced, or per second of video asked for (`duration`,
/// `durationSeconds`; 5 s when the request names none).
pub(crate) fn billed(model_id: &str, body: &Value, files: usize) -> String {
    let amount = match price(model_id) {
        Price::PerImage(each) => each * files.max(1) as u64,
        Price::Flat(each) => each,
        Price::PerSecond { min, .. } => {
            let seconds = ["duration", "durationSeconds"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_u64))
                .filter(|s| (1..=600).contains(s))
                .unwrap_or(DEFAULT_SECONDS);
            min * seconds
        }
    };
    dollars(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_with_four_places() {
        assert_eq!(dollars(2400), "0.2400");
        assert_eq!(dollars(123_456), "12.3456");
        let body = json!({"duration": 5});
        assert_eq!(billed("bytedance/seedance-2.0-v2v", &body, 2), "0.2400");
        assert_eq!(billed("openai/gpt-image-2", &json!({}), 3), "0.1200");
        assert_eq!(billed("openai/whisper-1", &json!({}), 1), "0.0060");
    }

    #[test]
    fn every_vendored_model_has_a_type_and_a_price() {
        for op in modellix::OPERATIONS {
            let Some(id) = op.model_id else { continue };
            assert!(model_type(id).is_some(), "{id} has no catalog type");
        }
        assert_eq!(model_type("alibaba/wan2.7-image"), Some("text-to-image"));
    }
}
