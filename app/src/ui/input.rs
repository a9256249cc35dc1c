//! What the user types into a number field or the page address, checked: each parser takes the
//! text as typed and names the setting it failed.

use super::i18n::SettingsText;

/// Which setting a typed or URL value failed; [`Invalid::text`] says what it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    Temperature,
    TopP,
    MaxTokens,
    Seed,
}

impl Invalid {
    pub fn text(self, t: &SettingsText) -> &'static str {
        match self {
            Self::Temperature => t.invalid_temperature,
            Self::TopP => t.invalid_top_p,
            Self::MaxTokens => t.invalid_max_tokens,
            Self::Seed => t.invalid_seed,
        }
    }
}

pub fn parse_temperature(s: &str) -> Result<f32, Invalid> {
    parse_f32_in(s, 0.0, 5.0).ok_or(Invalid::Temperature)
}

pub fn parse_top_p(s: &str) -> Result<f32, Invalid> {
    match parse_f32_in(s, 0.0, 1.0) {
        Some(p) if p > 0.0 => Ok(p),
        _ => Err(Invalid::TopP),
    }
}

pub fn parse_max_tokens(s: &str) -> Result<u32, Invalid> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=32_768).contains(&n) => Ok(n),
        _ => Err(Invalid::MaxTokens),
    }
}

pub fn parse_seed(s: &str) -> Result<u64, Invalid> {
    s.trim().parse::<u64>().map_err(|_| Invalid::Seed)
}

fn parse_f32_in(s: &str, min: f32, max: f32) -> Option<f32> {
    s.trim().parse::<f32>().ok().filter(|v| v.is_finite() && (min..=max).contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_values_are_checked() {
        assert_eq!(parse_temperature(" 0 "), Ok(0.0));
        assert!(parse_temperature("-1").is_err());
        assert!(parse_temperature("NaN").is_err());
        assert_eq!(parse_top_p("1"), Ok(1.0));
        assert!(parse_top_p("0").is_err());
        assert_eq!(parse_max_tokens("64"), Ok(64));
        assert!(parse_max_tokens("0").is_err());
        assert!(parse_max_tokens("1.5").is_err());
        assert_eq!(parse_seed("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_seed("-1").is_err());
    }
}
