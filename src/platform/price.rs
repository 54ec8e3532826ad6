//! A catalog entry's price: fixed, or a range from min to max, per an open-ended unit
//! (`$/img`, `$/sec`, `$/M chars`), with exact decimal amounts.

use std::fmt;

use serde_json::Value;

use crate::cost::Cost;

/// What a model costs, as the catalog's `price` object gives it:
/// `{"fixed": "0.0400", "unit": "$/img"}` or `{"min": …, "max": …, "unit": "$/sec"}`.
///
/// ```
/// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
/// for model in client.models().await? {
///     if let Some(price) = &model.pricing {
///         // "$0.0480-$0.2400/sec"; the most one unit can cost:
///         println!("{} {price} (at most {:?} a unit)", model.slug, price.highest());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Price {
    /// One amount for every request, in USD per unit.
    pub fixed: Option<Cost>,
    /// The lowest amount per unit, for a price that depends on the request.
    pub min: Option<Cost>,
    /// The highest amount per unit.
    pub max: Option<Cost>,
    /// The unit, as given (`$/img`, `$/sec`, `$/M chars`, …): an open string.
    pub unit: Option<String>,
}

impl Price {
    /// Reads a catalog `price` object; `None` unless it holds at least one readable
    /// amount (amounts are decimal strings or numbers, read by their digits).
    pub(crate) fn from_json(value: &Value) -> Option<Price> {
        let object = value.as_object()?;
        let amount = |key: &str| object.get(key).and_then(Cost::from_json);
        let price = Price {
            fixed: amount("fixed"),
            min: amount("min"),
            max: amount("max"),
            unit: object
                .get("unit")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| u.chars().take(40).collect()),
        };
        (price.fixed.is_some() || price.min.is_some() || price.max.is_some()).then_some(price)
    }

    /// The most one unit can cost: `max`, else `fixed`, else `min`.
    pub fn highest(&self) -> Option<Cost> {
        self.max.or(self.fixed).or(self.min)
    }
}

impl fmt::Display for Price {
    /// `$0.0400/img`, `$0.0480-$0.2400/sec`; a unit not starting with `$/` is written
    /// after a space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.fixed, self.min, self.max) {
            (Some(fixed), _, _) => write!(f, "${fixed}")?,
            (None, Some(min), Some(max)) if min == max => write!(f, "${min}")?,
            (None, Some(min), Some(max)) => write!(f, "${min}-${max}")?,
            (None, Some(min), None) => write!(f, "from ${min}")?,
            (None, None, Some(max)) => write!(f, "up to ${max}")?,
            (None, None, None) => {}
        }
        match self.unit.as_deref() {
            Some(unit) if unit.starts_with("$/") => write!(f, "/{}", &unit[2..]),
            Some(unit) => write!(f, " {unit}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixed_and_ranges_parse_exactly() {
        let fixed = Price::from_json(&json!({"fixed": "0.0400", "unit": "$/img"})).unwrap();
        assert_eq!(fixed.to_string(), "$0.0400/img");
        assert_eq!(fixed.highest().unwrap().to_string(), "0.0400");
        let range =
            Price::from_json(&json!({"min": "0.0480", "max": 0.24, "unit": "$/sec"})).unwrap();
        assert_eq!(range.to_string(), "$0.0480-$0.24/sec");
        assert_eq!(range.highest(), Some("0.2400".parse().unwrap()));
        let chars = Price::from_json(&json!({"fixed": "2", "unit": "per M chars"})).unwrap();
        assert_eq!(chars.to_string(), "$2 per M chars");
        for odd in [
            json!("0.1"),
            json!({}),
            json!({"fixed": "cheap"}),
            json!(null),
        ] {
            assert_eq!(Price::from_json(&odd), None, "{odd}");
        }
    }
}
