//! Keeps the full-text index up with the comments, in the background and off the intake's
//! write path: a comment is acknowledged once it is on disk, and becomes searchable a moment
//! later when this task next looks.

use std::time::Duration;

use yijian_analysis::{IndexedComment, Indexer, SearchError, SearchIndex};
use yijian_store::Store;

const BATCH: i64 = 5_000;
const IDLE: Duration = Duration::from_millis(300);

/// Indexes every comment above the index's high-water mark, in batches; returns how many.
/// `progress` hears the running total.
pub async fn catch_up(
    store: &Store,
    writer: &mut Indexer,
    mut high_water: i64,
    mut progress: impl FnMut(u64),
) -> Result<(u64, i64), String> {
    let mut done = 0u64;
    loop {
        let batch = store.comments_after(high_water, BATCH).await.map_err(|e| e.to_string())?;
        let Some(last) = batch.last().map(|(id, _, _)| *id) else { return Ok((done, high_water)) };
        let docs: Vec<IndexedComment> =
            batch.into_iter().map(|(id, consultation_id, text)| IndexedComment { id, consultation_id, text }).collect();
        done += docs.len() as u64;
        let w = &mut *writer;
        blocking(|| {
            w.add(&docs)?;
            w.commit(last)
        })
        .map_err(|e| e.to_string())?;
        high_water = last;
        progress(done);
    }
}

/// Empties the index and indexes every comment again. The emptying is committed with the
/// first batch, so searches keep answering from the old index until then.
pub async fn rebuild(store: &Store, writer: &mut Indexer, progress: impl FnMut(u64)) -> Result<u64, String> {
    blocking(|| writer.clear()).map_err(|e: SearchError| e.to_string())?;
    let (n, _) = catch_up(store, writer, 0, progress).await?;
    if n == 0 {
        blocking(|| writer.commit(0)).map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Runs tantivy's synchronous work without stalling the other tasks of a multi-threaded
/// runtime (a single-threaded one, as in some tests, just runs it).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Starts the indexer. If another process holds the index's writer, search still works from
/// what is indexed, and this server leaves indexing to that process.
///
/// While comments keep arriving it commits at most every [`COMMIT_EVERY`]: a tantivy commit
/// writes and syncs a segment and starts the next with a fresh arena, which is what indexing
/// costs most, and under a flood that CPU belongs to the intake. A lone comment is still
/// searchable within a poll or two.
pub fn spawn(store: Store, index: SearchIndex) {
    tokio::spawn(async move {
        let mut writer = match index.background_writer() {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "the search index is not indexed by this server");
                return;
            }
        };
        let mut high_water = index.high_water();
        // What is added but not yet committed: (the id it reaches, since when).
        let mut pending: Option<(i64, std::time::Instant)> = None;
        loop {
            match store.take_search_reindex_request().await {
                Ok(true) => {
                    tracing::info!("rebuilding the search index, as requested");
                    match rebuild(&store, &mut writer, |_| {}).await {
                        Ok(n) => tracing::info!(comments = n, "search index rebuilt"),
                        Err(e) => tracing::error!(error = %e, "rebuilding the search index failed"),
                    }
                    high_water = index.high_water();
                    pending = None;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the reindex request"),
            }
            let added = add_new(&store, &mut writer, pending.map_or(high_water, |(upto, _)| upto)).await;
            let more_waiting = matches!(added, Ok(Some((_, true))));
            let caught_up = matches!(added, Ok(None));
            match added {
                Ok(Some((upto, _))) => {
                    pending = Some((upto, pending.map_or_else(std::time::Instant::now, |(_, since)| since)));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "indexing comments failed; retrying");
                    // What was added and not committed is dropped with the writer's next rollback:
                    // start again from what is committed.
                    if let Err(e) = blocking(|| writer.rollback()) {
                        tracing::error!(error = %e, "the search index writer could not roll back");
                    }
                    pending = None;
                }
            }
            // Commit when the flow stops, or every COMMIT_EVERY while it goes on.
            if let Some((upto, since)) = pending
                && (caught_up || since.elapsed() >= COMMIT_EVERY)
            {
                match blocking(|| writer.commit(upto)) {
                    Ok(()) => high_water = upto,
                    Err(e) => tracing::error!(error = %e, "committing the search index failed; retrying"),
                }
                pending = None;
            }
            if !more_waiting {
                tokio::time::sleep(IDLE).await;
            }
        }
    });
}

/// While comments keep arriving, how long they may wait to become searchable.
const COMMIT_EVERY: Duration = Duration::from_secs(3);

/// Adds the next batch of comments above `after` (without committing): the highest id added
/// and whether the batch was full (more may be waiting), or `None` when there was nothing new.
async fn add_new(store: &Store, writer: &mut Indexer, after: i64) -> Result<Option<(i64, bool)>, String> {
    let batch = store.comments_after(after, BATCH).await.map_err(|e| e.to_string())?;
    let Some(last) = batch.last().map(|(id, _, _)| *id) else { return Ok(None) };
    let full = batch.len() as i64 >= BATCH;
    let docs: Vec<IndexedComment> =
        batch.into_iter().map(|(id, consultation_id, text)| IndexedComment { id, consultation_id, text }).collect();
    blocking(|| writer.add(&docs)).map_err(|e| e.to_string())?;
    Ok(Some((last, full)))
}

impl crate::App {
    /// Starts keeping `index` up with the comments, in the background.
    pub fn spawn_indexer(&self, index: &SearchIndex) {
        spawn(self.store.clone(), index.clone());
    }

    /// Empties the index and indexes every comment again; returns how many.
    pub async fn rebuild_index(&self, writer: &mut Indexer, progress: impl FnMut(u64)) -> Result<u64, String> {
        rebuild(&self.store, writer, progress).await
    }

    /// Asks the server that holds the index's writer to rebuild it.
    pub async fn request_reindex(&self) -> Result<(), crate::Error> {
        Ok(self.store.request_search_reindex().await?)
    }

    /// How many comments there are in all, for a progress bar.
    pub async fn count_all_comments(&self) -> Result<i64, crate::Error> {
        Ok(self.store.count_all_comments().await?)
    }
}
