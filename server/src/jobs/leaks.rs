//! The leak-report drain. Reports are processed as they come, by a task the
//! report starts (`ops::leaks`: the queue is in memory and answered before
//! processing); this job's part is the stop: it waits until every report
//! answered so far is processed, within the shutdown bound.
//!
//! Trade-off: the drain stays on demand rather than a loop here so that a
//! state without jobs (the integration tests' `app(state)`) still processes
//! reports.

use super::Stop;
use crate::state::AppState;

/// Waits for `stop`, then drains the queue.
pub async fn run(state: AppState, stop: Stop) {
    stop.stopped().await;
    crate::ops::leaks::settle(&state).await;
}
