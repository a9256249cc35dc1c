//! One loaded model and its session, serving generation requests one at a time.
//!
//! The session borrows the model and keeps its KV cache between turns, so both live inside one
//! long-running task; requests reach it through a channel. Vector builds and imports share the
//! model (an `Rc`) from tasks of their own, interleaved with generation at its yields. Dropping
//! the sender and the worker's `Rc` ends the task and frees the model once any build has
//! noticed it was cancelled.

use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use tiller_engine::session::Session;

use super::engine::{Control, Engine, Job, JobKind};
use super::{chat, compare};
use crate::protocol::{GenStats, Response};

pub async fn serve(
    engine: Rc<Engine>,
    mut jobs: UnboundedReceiver<Job>,
    control: Rc<Control>,
    reply: Rc<dyn Fn(Response)>,
) {
    let mut session = Session::new(&engine.loaded.model);
    while let Some(job) = jobs.next().await {
        let id = job.id;
        control.generating.set(true);
        let response = match job.kind {
            JobKind::Chat => match chat::run(&engine, &mut session, job, &control, reply.as_ref()).await {
                Ok((stop, stats)) => Response::Done { id, stop, stats: with_memory(stats) },
                Err(error) => Response::GenerateFailed { id, error },
            },
            JobKind::Compare => match compare::run(&engine, job, &control, reply.as_ref()).await {
                Ok((plain, steered, stats)) => Response::CompareDone { id, plain, steered, stats: with_memory(stats) },
                Err(error) => Response::CompareFailed { id, error },
            },
        };
        control.generating.set(false);
        reply(response);
    }
}

/// The stats with the worker's wasm memory as the reply ends: its high-water mark, since wasm
/// memory grows and never shrinks (the benchmark reports it beside the browser's peak).
fn with_memory(stats: GenStats) -> GenStats {
    #[cfg(target_arch = "wasm32")]
    let bytes = core::arch::wasm32::memory_size(0) as u64 * 65536;
    #[cfg(not(target_arch = "wasm32"))]
    let bytes = 0;
    GenStats { engine_memory_bytes: bytes, ..stats }
}
