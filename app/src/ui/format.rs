//! The words and numbers the UI shows, as plain functions of the protocol's values and the
//! current language's text.

use crate::protocol::{BackendInfo, ModelInfo, StopReason};

use super::i18n::{ChatText, ModelText, Text};

pub fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// "SmolLM2 · 98.4 MB · 30 layers · context 2048 tokens · from cache".
pub fn model_text(t: &ModelText, model: &ModelInfo) -> String {
    let mut text = (t.info)(&model.name, &mb(model.bytes), model.n_layer, model.n_ctx);
    if model.from_cache {
        text.push_str(" · ");
        text.push_str(t.from_cache);
    }
    text
}

/// "WebGPU · <adapter>" or "CPU (burn-flex) · WebGPU unavailable: <reason>".
pub fn backend_text(t: &Text, backend: &BackendInfo) -> String {
    match (&backend.adapter, &backend.fallback_reason) {
        (_, Some(why)) => format!("{} · {}", backend.name, (t.model.webgpu_unavailable)(&(t.failure.no_webgpu)(why))),
        (Some(adapter), None) if !adapter.trim().is_empty() => format!("{} · {}", backend.name, adapter.trim()),
        _ => backend.name.clone(),
    }
}

/// What ended a reply, when the user should know; `None` for a natural end.
pub fn stop_note(t: &ChatText, stop: StopReason) -> Option<&'static str> {
    match stop {
        StopReason::EndOfGeneration => None,
        StopReason::MaxTokens => Some(t.stop_max_tokens),
        StopReason::ContextFull => Some(t.stop_context_full),
        StopReason::Stopped => Some(t.stop_stopped),
    }
}

/// A message squeezed onto one line, at most 300 characters.
pub fn one_line(message: &str) -> String {
    const MAX: usize = 300;
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A steering coefficient as shown: two decimals, no "-0.00".
pub fn coef_text(value: f32) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == 0.0 { "0.00".into() } else { format!("{rounded:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{GenStats, NoWebGpu};
    use crate::ui::i18n::{EN, ZH};

    #[test]
    fn backend_names_adapter_or_fallback() {
        let gpu = BackendInfo { name: "WebGPU".into(), adapter: Some("Apple M2".into()), fallback_reason: None };
        assert_eq!(backend_text(&EN, &gpu), "WebGPU · Apple M2");
        let cpu =
            BackendInfo { name: "CPU (burn-flex)".into(), adapter: None, fallback_reason: Some(NoWebGpu::NoAdapter) };
        // Said once (it used to read "WebGPU unavailable: WebGPU unavailable: …").
        assert_eq!(backend_text(&EN, &cpu), "CPU (burn-flex) · WebGPU unavailable: the browser has no WebGPU adapter");
        let failed = BackendInfo { fallback_reason: Some(NoWebGpu::Failed { detail: "lost\ndevice".into() }), ..cpu };
        assert_eq!(backend_text(&ZH, &failed), "CPU (burn-flex) · WebGPU 不可用：lost device");
    }

    #[test]
    fn stats_lead_with_decode_rate() {
        let stats = GenStats {
            prompt_tokens: 40,
            prefilled_tokens: 20,
            generated_tokens: 11,
            prefill_ms: 100.0,
            decode_ms: 1000.0,
            engine_memory_bytes: 180 << 20,
        };
        assert_eq!((EN.chat.stats)(&stats), "10.0 tok/s · 11 tokens · prefill 200 tok/s (20 of 40 prompt tokens run)");
        assert!((ZH.chat.stats)(&stats).contains("20 / 40"));
    }

    #[test]
    fn one_line_joins_and_truncates() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        let long = "x".repeat(400);
        assert_eq!(one_line(&long).chars().count(), 301);
    }

    #[test]
    fn coefficients_never_show_negative_zero() {
        assert_eq!(coef_text(-0.001), "0.00");
        assert_eq!(coef_text(-0.35), "-0.35");
        assert_eq!(coef_text(0.5), "0.50");
    }
}
