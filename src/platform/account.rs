//! `client.check()`: is the API reachable, is the key valid, what is the balance, and
//! how far is the local clock from the server's.
//!
//! The answers are decoded with the types generated from `spec/modellix/`:
//! `GET /api/v1/apikey/validate` → `data.is_valid` (an invalid key gets HTTP 200 with
//! `false`), `GET /api/v1/team/balance` → `data.balance` (USD; a decimal text is read
//! too).

use std::time::{Duration, SystemTime};

use reqwest::Method;

use crate::error::Error;
use crate::platform::endpoint::{call, endpoint_name, envelope_data};
use crate::shared::Shared;
use crate::types::{ApiKeyValidity, TeamBalance};

const VALIDATE_PATH: &str = "/api/v1/apikey/validate";
const BALANCE_PATH: &str = "/api/v1/team/balance";

/// What [`Client::check`](crate::client::Client::check) found. Nothing here is an error: each question has its own
/// answer, and `problems` says why one could not be answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccountCheck {
    /// The API answered at all.
    pub reachable: bool,
    /// `Some(true)` valid, `Some(false)` invalid (or revoked), `None` unknown (the API
    /// was not reachable or answered something else).
    pub key_valid: Option<bool>,
    /// The team's balance in USD, when the key is valid and the balance was read.
    pub balance_usd: Option<f64>,
    /// Server time minus local time, in seconds (from the `Date` header, ±1 s):
    /// positive when the local clock is behind.
    pub clock_offset_secs: Option<f64>,
    /// Time the key check took.
    pub round_trip: Option<Duration>,
    /// Why a question has no answer, one line each (never the key).
    pub problems: Vec<String>,
}

impl AccountCheck {
    /// True when the API is reachable, the key valid and the balance above zero.
    pub fn is_ready(&self) -> bool {
        self.reachable && self.key_valid == Some(true) && self.balance_usd.is_some_and(|b| b > 0.0)
    }
}

/// Server time minus the middle of the request, from an HTTP `Date` value.
fn clock_offset(date: &str, sent: SystemTime, received: SystemTime) -> Option<f64> {
    let server = httpdate::parse_http_date(date).ok()?;
    let half = received.duration_since(sent).unwrap_or_default() / 2;
    let local = sent + half;
    Some(match server.duration_since(local) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    })
}

/// [`Client::check`](crate::client::Client::check)(crate::client::Client::check).
pub(crate) async fn check(shared: &Shared) -> AccountCheck {
    let mut check = AccountCheck {
        reachable: false,
        key_valid: None,
        balance_usd: None,
        clock_offset_secs: None,
        round_trip: None,
        problems: Vec::new(),
    };
    let validate = endpoint_name(&Method::GET, VALIDATE_PATH);
    let sent = SystemTime::now();
    let started = tokio::time::Instant::now();
    let answer = call(shared, Method::GET, VALIDATE_PATH).await;
    check.round_trip = Some(started.elapsed());
    let received = SystemTime::now();
    match answer {
        Ok(answer) => {
            check.reachable = true;
            check.clock_offset_secs = answer
                .headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|date| clock_offset(date, sent, received));
            match envelope_data::<ApiKeyValidity>(&validate, &answer.body) {
                Ok(validity) => check.key_valid = Some(validity.is_valid),
                Err(e) => check.problems.push(e.to_string()),
            }
        }
        // Modellix answers a malformed or revoked key with 401 too.
        Err(Error::Endpoint { api, .. }) if api.status == 401 || api.status == 403 => {
            check.reachable = true;
            check.key_valid = Some(false);
        }
        Err(e @ Error::Endpoint { .. }) => {
            check.reachable = true;
            check.problems.push(e.to_string());
        }
        Err(e) => check.problems.push(e.to_string()),
    }
    if check.key_valid != Some(true) {
        return check;
    }
    match balance(shared).await {
        Ok(balance) => check.balance_usd = Some(balance),
        Err(e) => check.problems.push(e.to_string()),
    }
    check
}

/// [`Client::balance`](crate::client::Client::balance).
pub(crate) async fn balance(shared: &Shared) -> Result<f64, Error> {
    let endpoint = endpoint_name(&Method::GET, BALANCE_PATH);
    let answer = call(shared, Method::GET, BALANCE_PATH).await?;
    let data: TeamBalance = envelope_data(&endpoint, &answer.body)?;
    Ok(data.balance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_and_clock_offsets() {
        let balance = |data: &str| {
            let body = format!(r#"{{"code":0,"message":"success","data":{data}}}"#);
            envelope_data::<TeamBalance>("GET /b", body.as_bytes()).map(|b| b.balance)
        };
        assert_eq!(balance(r#"{"balance":12.3456}"#).unwrap(), 12.3456);
        assert_eq!(
            balance(r#"{"balance":"0.5000","currency":"USD"}"#).unwrap(),
            0.5
        );
        for bad in [r#"{"balance":null}"#, r#"{"balance":"much"}"#, "[]", "7"] {
            assert!(balance(bad).is_err(), "{bad}");
        }
        let sent = httpdate::parse_http_date("Fri, 27 Nov 2026 20:00:00 GMT").unwrap();
        let received = sent + Duration::from_secs(2);
        let offset = clock_offset("Fri, 27 Nov 2026 20:00:11 GMT", sent, received).unwrap();
        assert!((offset - 10.0).abs() < 1e-9);
        let offset = clock_offset("Fri, 27 Nov 2026 19:59:51 GMT", sent, received).unwrap();
        assert!((offset + 10.0).abs() < 1e-9);
        assert_eq!(clock_offset("yesterday", sent, received), None);
    }
}
