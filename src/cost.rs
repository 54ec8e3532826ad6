//! What a task cost: an exact decimal amount in USD, as Modellix writes it
//! (`"0.2400"`). Never a float: amounts add up exactly, digit for digit.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Most digits after the point an amount may have.
const MAX_SCALE: u32 = 12;

/// Most digits before the point (a trillion dollars is plenty): with [`MAX_SCALE`] an
/// amount stays under 10^27, so sums of many of them fit an `i128`.
const MAX_INTEGER_DIGITS: usize = 15;

/// An exact decimal amount of US dollars, such as a task's billed amount.
///
/// Parsed from the decimal text Modellix sends and shown with the digits it had
/// (`"0.2400"` stays `0.2400`); sums keep the most decimal places of their terms.
///
/// ```
/// use modellix::Cost;
///
/// let a: Cost = "0.2400".parse()?;
/// let b: Cost = "0.1".parse()?;
/// let total = a.checked_add(b).unwrap();
/// assert_eq!(total.to_string(), "0.3400");
/// assert_eq!(total, "0.34".parse()?); // equal by value
/// assert!("1e3".parse::<Cost>().is_err()); // only plain decimals
/// # Ok::<(), modellix::CostParseError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// The amount times 10^scale.
    units: i128,
    /// Digits after the point.
    scale: u32,
}

/// Why a text is not a [`Cost`]: it is not a plain decimal (`12`, `0.2400`, `-1.5`) of
/// at most 15 digits before the point and 12 after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostParseError {
    text: String,
}

impl fmt::Display for CostParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a decimal amount such as \"0.2400\" (digits, an optional point, at \
             most {MAX_INTEGER_DIGITS} digits before it and {MAX_SCALE} after)",
            self.text
        )
    }
}

impl std::error::Error for CostParseError {}

impl Cost {
    /// Nothing: the start of a total.
    pub const ZERO: Cost = Cost { units: 0, scale: 0 };

    /// `self + other`, exact; `None` only if the sum leaves the range an `i128` of
    /// 10^-12 dollars holds (far beyond any bill).
    pub fn checked_add(self, other: Cost) -> Option<Cost> {
        let scale = self.scale.max(other.scale);
        let a = self
            .units
            .checked_mul(10i128.checked_pow(scale - self.scale)?)?;
        let b = other
            .units
            .checked_mul(10i128.checked_pow(scale - other.scale)?)?;
        Some(Cost {
            units: a.checked_add(b)?,
            scale,
        })
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.units == 0
    }

    /// Reads an amount as an answer gives it: a decimal string, or a JSON number
    /// (taken by its text, never through a float's arithmetic).
    pub(crate) fn from_json(value: &serde_json::Value) -> Option<Cost> {
        match value {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            serde_json::Value::Number(n) => n.to_string().parse().ok(),
            _ => None,
        }
    }
}

impl FromStr for Cost {
    type Err = CostParseError;

    fn from_str(text: &str) -> Result<Cost, CostParseError> {
        let fail = || CostParseError {
            text: text.chars().take(40).collect(),
        };
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !plain(whole)
            || !plain(fraction)
            || (digits.contains('.') && fraction.is_empty())
            || whole.len() > MAX_INTEGER_DIGITS
            || fraction.len() > MAX_SCALE as usize
        {
            return Err(fail());
        }
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units * 10 + i128::from(b - b'0');
        }
        Ok(Cost {
            units: if negative { -units } else { units },
            scale: fraction.len() as u32,
        })
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let magnitude = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let base = 10u128.pow(self.scale);
        write!(
            f,
            "{sign}{}.{:0width$}",
            magnitude / base,
            magnitude % base,
            width = self.scale as usize
        )
    }
}

impl PartialEq for Cost {
    fn eq(&self, other: &Cost) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Cost {}

impl PartialOrd for Cost {
    fn partial_cmp(&self, other: &Cost) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cost {
    /// By value: `0.24` equals `0.2400`.
    fn cmp(&self, other: &Cost) -> Ordering {
        let scale = self.scale.max(other.scale);
        // Parsed amounts fit (at most 10^27 once aligned); a sum far beyond any bill
        // saturates rather than overflows.
        let a = self.units.saturating_mul(10i128.pow(scale - self.scale));
        let b = other.units.saturating_mul(10i128.pow(scale - other.scale));
        a.cmp(&b)
    }
}

impl serde::Serialize for Cost {
    /// As its decimal text (`"0.2400"`): JSON numbers are floats to most readers.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cost {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cost, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Cost::from_json(&value)
            .ok_or_else(|| serde::de::Error::custom(format!("{value} is not a decimal amount")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cost {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_shows_the_digits_given() {
        for s in [
            "0.2400",
            "0",
            "12",
            "-1.50",
            "0.000000000001",
            "999999999999999.5",
        ] {
            assert_eq!(c(s).to_string(), s);
        }
        for bad in [
            "", ".5", "5.", "1e3", "0x1", "+1", "1.2.3", " 1", "NaN", "1,5", "--1",
        ] {
            assert!(bad.parse::<Cost>().is_err(), "{bad:?}");
        }
        assert!("1234567890123456".parse::<Cost>().is_err());
        assert!("0.1234567890123".parse::<Cost>().is_err());
    }

    #[test]
    fn sums_are_exact_where_floats_are_not() {
        // 0.1 + 0.2 is 0.30000000000000004 in f64.
        assert_eq!(c("0.1").checked_add(c("0.2")).unwrap().to_string(), "0.3");
        let mut total = Cost::ZERO;
        for _ in 0..1000 {
            total = total.checked_add(c("0.0010")).unwrap();
        }
        assert_eq!(total.to_string(), "1.0000");
        assert_eq!(c("0.24"), c("0.2400"));
        assert!(c("0.25") > c("0.2400"));
    }

    #[test]
    fn reads_strings_and_numbers_from_answers() {
        use serde_json::json;
        assert_eq!(
            Cost::from_json(&json!("0.2400")).unwrap().to_string(),
            "0.2400"
        );
        assert_eq!(Cost::from_json(&json!(0.24)).unwrap().to_string(), "0.24");
        assert_eq!(Cost::from_json(&json!(3)).unwrap().to_string(), "3");
        assert!(Cost::from_json(&json!(null)).is_none());
        assert!(Cost::from_json(&json!("abc")).is_none());
        assert!(Cost::from_json(&json!(1e300)).is_none());
        assert_eq!(serde_json::to_string(&c("0.2400")).unwrap(), "\"0.2400\"");
    }
}
