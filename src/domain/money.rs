//! Exact money: integer cents inside, a JSON number with at most two
//! decimals outside (docs/API.md §3).

use validator::ValidationError;

/// The largest accepted price: keeps every value exact as an `f64` too.
pub const MAX_CENTS: i64 = 100_000_000_000; // 1,000,000,000.00

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money {
    cents: i64,
}

impl Money {
    pub fn from_cents(cents: i64) -> Self {
        Self { cents }
    }

    pub fn cents(self) -> i64 {
        self.cents
    }

    /// The decimal value as a JSON number; `1299` cents prints as `12.99`
    /// (serde_json writes the shortest representation that round-trips).
    pub fn as_f64(self) -> f64 {
        self.cents as f64 / 100.0
    }

    /// Converts a client's decimal number, refusing anything that is not an
    /// exact amount of cents in range.
    ///
    /// # Errors
    /// A message fit for a field error.
    pub fn from_decimal(value: f64) -> Result<Self, &'static str> {
        if !value.is_finite() {
            return Err("must be a number");
        }
        if value < 0.0 {
            return Err("must be at least 0");
        }
        let scaled = value * 100.0;
        if scaled > MAX_CENTS as f64 {
            return Err("must be at most 1000000000");
        }
        let cents = scaled.round();
        // 12.99 * 100 is 1298.9999999999998 in binary; anything further from
        // a whole number of cents than float noise has a third decimal.
        if (scaled - cents).abs() > 1e-6 * scaled.abs().max(1.0) {
            return Err("must have at most 2 decimal places");
        }
        Ok(Self { cents: cents as i64 })
    }
}

/// `validator` custom rule for price fields.
pub fn validate_price(value: f64) -> Result<(), ValidationError> {
    Money::from_decimal(value)
        .map(|_| ())
        .map_err(|message| ValidationError::new("price").with_message(message.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimal_prices_are_exact() {
        for (input, cents) in
            [(12.99, 1299), (0.1, 10), (0.0, 0), (19.9, 1990), (1e9, 100_000_000_000), (0.29, 29)]
        {
            let money = Money::from_decimal(input).unwrap();
            assert_eq!(money.cents(), cents, "{input}");
            assert_eq!(money.as_f64(), input);
        }
    }

    #[test]
    fn three_decimals_negative_and_huge_are_refused() {
        assert_eq!(Money::from_decimal(12.999), Err("must have at most 2 decimal places"));
        assert_eq!(Money::from_decimal(-0.01), Err("must be at least 0"));
        assert_eq!(Money::from_decimal(1e12), Err("must be at most 1000000000"));
    }

    #[test]
    fn prices_print_with_two_decimals_at_most() {
        assert_eq!(serde_json::to_string(&Money::from_cents(1299).as_f64()).unwrap(), "12.99");
        assert_eq!(serde_json::to_string(&Money::from_cents(1000).as_f64()).unwrap(), "10.0");
    }
}
