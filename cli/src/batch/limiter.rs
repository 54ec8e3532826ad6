//! A client-side token bucket, so that every request of the key (polls included)
//! stays under its rate limit instead of meeting 429s.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Limiter {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Limiter {
    /// `per_window` requests every `window` (Modellix: 100 a minute). The bucket holds
    /// a tenth less than the server's, so that the server's keeps a cushion against
    /// requests arriving closer together than they were sent.
    pub fn new(per_window: u32, window: Duration) -> Self {
        let rate = f64::from(per_window.max(1));
        let capacity = (rate * 0.9).floor().max(1.0);
        Limiter {
            capacity,
            per_second: rate / window.as_secs_f64().max(1e-3),
            tokens: capacity,
            at: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let added = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + added).min(self.capacity);
        self.at = now;
    }

    /// Waits until one request may be sent, and takes it.
    pub async fn acquire(&mut self) {
        self.refill();
        if self.tokens < 1.0 {
            let wait = (1.0 - self.tokens) / self.per_second;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.refill();
        }
        self.tokens = (self.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_beyond_the_bucket_wait_for_a_refill() {
        let mut limiter = Limiter::new(10, Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..9 {
            limiter.acquire().await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a full bucket sends at once"
        );
        limiter.acquire().await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(5_990) && waited <= Duration::from_millis(6_010),
            "{waited:?}"
        );
    }
}
