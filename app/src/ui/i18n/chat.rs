//! The chat column: messages, the prompt box and its buttons, the speed of the last reply.

use crate::protocol::{GateReport, GenStats};

pub struct ChatText {
    pub region: &'static str,
    pub messages_label: &'static str,
    pub prompt_label: &'static str,
    pub placeholder_ready: &'static str,
    pub placeholder_waiting: &'static str,
    pub send: &'static str,
    pub stop: &'static str,
    pub clear: &'static str,
    pub empty: &'static str,
    /// "12.3 tok/s · 34 tokens · prefill 210 tok/s (18 of 40 prompt tokens run)".
    pub stats: fn(&GenStats) -> String,
    pub stop_max_tokens: &'static str,
    pub stop_context_full: &'static str,
    pub stop_stopped: &'static str,
    /// Lead-in of a failed reply; the worker's detail follows as it came.
    pub failed: fn(&str) -> String,
    /// What the safety gate read from the prompt: engaged or not, the score and the threshold.
    pub gate: fn(&GateReport) -> String,
}

pub const EN: ChatText = ChatText {
    region: "Chat",
    messages_label: "Conversation",
    prompt_label: "Message",
    placeholder_ready: "Ask something… (Enter sends, Shift+Enter for a new line)",
    placeholder_waiting: "Waiting for the model…",
    send: "Send",
    stop: "Stop",
    clear: "Clear",
    empty: "Say hello. Then move a steering slider and ask again to see the difference.",
    stats: |s| {
        let mut text = format!("{:.1} tok/s · {} tokens", s.decode_tok_s(), s.generated_tokens);
        if s.prefilled_tokens > 0 {
            text.push_str(&format!(" · prefill {:.0} tok/s", s.prefill_tok_s()));
            if s.prefilled_tokens < s.prompt_tokens {
                text.push_str(&format!(" ({} of {} prompt tokens run)", s.prefilled_tokens, s.prompt_tokens));
            }
        }
        text
    },
    stop_max_tokens: "Reached the max tokens setting.",
    stop_context_full: "The context window is full; clear the chat to continue.",
    stop_stopped: "Stopped.",
    failed: |detail| format!("The reply failed: {detail}"),
    gate: |g| {
        if g.engaged() {
            format!("Safety engaged: this request scored {:.2} against a threshold of {:.2}.", g.score, g.threshold)
        } else {
            format!(
                "Safety gate closed: this request scored {:.2}, below the threshold of {:.2}.",
                g.score, g.threshold
            )
        }
    },
};

pub const ZH: ChatText = ChatText {
    region: "对话",
    messages_label: "对话记录",
    prompt_label: "消息",
    placeholder_ready: "输入问题……（Enter 发送，Shift+Enter 换行）",
    placeholder_waiting: "正在等待模型……",
    send: "发送",
    stop: "停止",
    clear: "清空",
    empty: "先打个招呼。然后拖动一个引导滑块，再问一次，看看回答有什么不同。",
    stats: |s| {
        let mut text = format!("{:.1} 词元/秒 · {} 个词元", s.decode_tok_s(), s.generated_tokens);
        if s.prefilled_tokens > 0 {
            text.push_str(&format!(" · 预填充 {:.0} 词元/秒", s.prefill_tok_s()));
            if s.prefilled_tokens < s.prompt_tokens {
                text.push_str(&format!("（计算了提示词的 {} / {} 个词元）", s.prefilled_tokens, s.prompt_tokens));
            }
        }
        text
    },
    stop_max_tokens: "已达到最大词元数。",
    stop_context_full: "上下文窗口已满；清空对话后再继续。",
    stop_stopped: "已停止。",
    failed: |detail| format!("生成失败：{detail}"),
    gate: |g| {
        if g.engaged() {
            format!("安全机制已启动：这个请求的得分为 {:.2}，超过阈值 {:.2}。", g.score, g.threshold)
        } else {
            format!("安全闸门未开启：这个请求的得分为 {:.2}，低于阈值 {:.2}。", g.score, g.threshold)
        }
    },
};
