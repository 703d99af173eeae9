//! Full-text search over comment opinions.
//!
//! The index lives on disk next to the database but is never the source of truth: it holds only what is needed to
//! answer "which comments of this consultation mention X, newest first" (comment id, consultation id, and the
//! segmented words of the text; the text itself stays in the database). Anything wrong with it, an older layout or
//! damage, is answered by throwing it away and rebuilding from the database, which is why [`SearchIndex::open`] wipes
//! rather than fails and why commits carry a high-water mark to resume from.
//!
//! One process writes (tantivy's directory lock enforces it); any number of clones of a [`SearchIndex`] read.

pub(crate) mod tokenizer;

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::error::{LockError, OpenReadError};
use tantivy::directory::{Directory, INDEX_WRITER_LOCK, MmapDirectory};
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{TextAnalyzer, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, TantivyError, Term};

use tokenizer::JiebaTokenizer;

/// Part of the schema, so that changing how text is segmented (dictionary, folding, modes) changes the schema and an
/// index built the old way is recognised as incompatible and rebuilt. Bump it with any such change.
const TOKENIZER: &str = "yijian_jieba_v1";
const ID: &str = "id";
const CONSULTATION: &str = "consultation_id";
const TEXT: &str = "text";

/// Split between tantivy's indexing threads. Large enough that a rebuild of a million comments flushes segments of a
/// useful size (fewer merges), small enough to sit beside the server.
const WRITER_MEMORY_BUDGET: usize = 96 * 1024 * 1024;
/// The background indexer's (see [`SearchIndex::background_writer`]).
const BACKGROUND_MEMORY_BUDGET: usize = 24 * 1024 * 1024;

/// No real query has this many words; past it the query is cut short (matching more, never erroring), so that a
/// pasted essay cannot make one search cost thousands of term lookups per segment.
const MAX_QUERY_CLAUSES: usize = 64;

/// Characters that open or close a phrase: ASCII and full-width double quotes, the curly quotes a Chinese IME
/// produces, and corner brackets.
const QUOTES: [char; 6] = ['"', '＂', '“', '”', '「', '」'];

/// A comment as the index needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedComment {
    /// The comment's id in the database. Ids only grow, which is what lets a high-water mark say what is indexed.
    pub id: i64,
    /// Searches are always within one consultation; matched exactly.
    pub consultation_id: String,
    /// The opinion as written; segmented into words, not stored.
    pub text: String,
}

/// The result of a search: a page of ids and how many there are in all, so a caller can say "120 comments match"
/// while showing the first 50.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchHits {
    /// Comment ids, highest (newest) first.
    pub ids: Vec<i64>,
    /// Every matching comment of the consultation, not just those in `ids`.
    pub total: usize,
}

/// What can go wrong with the index. Callers mostly need to tell [`Locked`](Self::Locked) (retry later, or tell the
/// operator to stop the server) from the rest (log it; searching is a convenience, the comments are safe elsewhere).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Another writer holds the index, most likely the running server; try again after it stops.
    #[error("the search index is locked by another writer")]
    Locked,
    /// tantivy's error, as text so that tantivy's types stay out of this crate's API.
    #[error("search index: {0}")]
    Index(String),
    /// The file system failed (permissions, a full disk): nothing a rebuild would fix.
    #[error("search index i/o: {0}")]
    Io(#[from] io::Error),
}

impl SearchError {
    fn index(error: TantivyError) -> SearchError {
        SearchError::Index(error.to_string())
    }
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    consultation: Field,
    text: Field,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// The last high-water mark seen; [`SearchIndex::high_water`] falls back to it if meta.json cannot be read.
    high_water: AtomicI64,
}

/// Read side of the index; cheap to clone (an `Arc` inside) and `Send + Sync`, so one is opened at start-up and
/// shared by every request.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
    dir: Arc<Path>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let high_water = self.inner.high_water.load(AtomicOrdering::Relaxed);
        f.debug_struct("SearchIndex").field("high_water", &high_water).finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if missing.
    ///
    /// An index this code cannot use (an older schema or tokenizer, a damaged meta.json or segment, a commit payload
    /// that is not a high-water mark) is wiped and recreated empty, so [`high_water`](Self::high_water) is 0 and the
    /// caller rebuilds it from the database: the index is a cache. The directory is assumed to be the index's own.
    /// Wiping first takes the writer lock, so an index another process is writing is never wiped from under it; that
    /// case is [`SearchError::Locked`]. Plain I/O failures (permissions, a full disk) are returned, not wiped over.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        // The index holds the words of every opinion: nobody else on the machine reads it.
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::index(e.into()))?;
        let exists = || Index::exists(&directory).map_err(|e| SearchError::index(e.into()));
        // A usable index is opened without the writer lock, which the server may well be holding.
        if exists()? {
            match open_existing(directory.clone(), &schema, fields) {
                Ok(inner) => return Ok(SearchIndex { inner: Arc::new(inner), dir: dir.into() }),
                Err(Unusable::Fatal(e)) => return Err(e),
                Err(Unusable::Damaged) => {}
            }
        }
        // Creating or wiping does take it, so that a concurrent writer is never wiped from under.
        let _lock = directory.acquire_lock(&INDEX_WRITER_LOCK).map_err(|e| match e {
            LockError::LockBusy => SearchError::Locked,
            LockError::IoError(e) => SearchError::Io(io::Error::new(e.kind(), e.to_string())),
        })?;
        // Another process may have created or rebuilt the index before the lock was ours.
        if exists()? {
            match open_existing(directory.clone(), &schema, fields) {
                Ok(inner) => return Ok(SearchIndex { inner: Arc::new(inner), dir: dir.into() }),
                Err(Unusable::Fatal(e)) => return Err(e),
                Err(Unusable::Damaged) => wipe(dir)?,
            }
        }
        let index = Index::create(directory, schema, Default::default()).map_err(SearchError::index)?;
        let inner = finish_open(index, fields, 0).map_err(SearchError::index)?;
        Ok(SearchIndex { inner: Arc::new(inner), dir: dir.into() })
    }

    /// The index's own directory, where an indexer may keep what belongs with this copy of the
    /// index (which rebuild request it last acted on).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The highest comment id committed to the index (the payload of the last commit), 0 if none: the indexer resumes
    /// after it. Read from the index on disk each time, so a commit by another process counts too.
    pub fn high_water(&self) -> i64 {
        let inner = &self.inner;
        if let Ok(Some(value)) = inner.index.load_metas().map(|meta| parse_payload(meta.payload.as_deref())) {
            inner.high_water.store(value, AtomicOrdering::Relaxed);
        }
        inner.high_water.load(AtomicOrdering::Relaxed)
    }

    /// Matching comment ids of one consultation, newest (highest id) first, at most `limit`, and the exact number of
    /// matches.
    ///
    /// The query is what a member of the public types, not a query language: words (jieba cuts Chinese text into
    /// words, so 毕业生就业 is two) must all occur; text in double quotes (ASCII, full-width, “curly” or 「corner」)
    /// must occur as written. Everything else, operators, field names, wildcards, punctuation, is ignored, so no input
    /// is an error and none costs more than a normal search. A query with no words matches nothing.
    pub fn search(&self, consultation_id: &str, query: &str, limit: usize) -> Result<SearchHits, SearchError> {
        let fields = self.inner.fields;
        let text_clauses = text_clauses(fields.text, query);
        if text_clauses.is_empty() {
            return Ok(SearchHits::default());
        }
        let consultation = Term::from_field_text(fields.consultation, consultation_id);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(text_clauses.len() + 1);
        clauses.push((Occur::Must, Box::new(TermQuery::new(consultation, IndexRecordOption::Basic))));
        clauses.extend(text_clauses.into_iter().map(|q| (Occur::Must, q)));
        let query = BooleanQuery::new(clauses);

        let searcher = self.inner.reader.searcher();
        // TopDocs allocates for `limit` up front and panics on 0.
        let limit = limit.min(usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX));
        if limit == 0 {
            let total = searcher.search(&query, &Count).map_err(SearchError::index)?;
            return Ok(SearchHits { ids: Vec::new(), total });
        }
        // Ordering by the id fast field rather than by score: reviewers read comments newest first, and not scoring
        // lets tantivy skip term frequencies altogether.
        let newest = TopDocs::with_limit(limit).order_by_fast_field::<i64>(ID, Order::Desc);
        let (top, total) = searcher.search(&query, &(newest, Count)).map_err(SearchError::index)?;
        Ok(SearchHits { ids: top.into_iter().filter_map(|(id, _)| id).collect(), total })
    }

    /// Takes the single writer. [`SearchError::Locked`] when another process (e.g. the running server) holds it,
    /// so a rebuild from the command line cannot corrupt the server's index.
    pub fn writer(&self) -> Result<Indexer, SearchError> {
        self.writer_with(0, WRITER_MEMORY_BUDGET)
    }

    /// The writer a server keeps beside its intake: one indexing thread and a small arena. Each commit starts new
    /// segment writers whose arenas are allocated and zeroed afresh; with the full writer (a thread per core, 96 MB)
    /// committing every few hundred milliseconds, that zeroing alone took a fifth of a busy server's CPU.
    pub fn background_writer(&self) -> Result<Indexer, SearchError> {
        self.writer_with(1, BACKGROUND_MEMORY_BUDGET)
    }

    /// `threads == 0`: tantivy's choice (one per core, within the budget).
    fn writer_with(&self, threads: usize, budget: usize) -> Result<Indexer, SearchError> {
        let taken = match threads {
            0 => self.inner.index.writer(budget),
            n => self.inner.index.writer_with_num_threads(n, budget),
        };
        let writer = taken.map_err(|e| match e {
            TantivyError::LockFailure(LockError::LockBusy, _) => SearchError::Locked,
            e => SearchError::index(e),
        })?;
        // The reader may not have caught up yet with a commit another process made just before releasing the lock.
        self.inner.reader.reload().map_err(SearchError::index)?;
        let present_up_to = max_id(&self.inner.reader)?;
        Ok(Indexer { writer, index: self.clone(), present_up_to })
    }
}

/// The single writer of the index. Dropping it without [`commit`](Self::commit) discards what was added.
pub struct Indexer {
    writer: IndexWriter<TantivyDocument>,
    index: SearchIndex,
    /// No id above this can be in the index yet. Ids only grow, so a new comment is almost always above it and can be
    /// added without first deleting an older copy. Each delete costs a term lookup in every segment at commit; in a
    /// rebuild of a million comments those lookups were some 5–8% of the CPU time.
    present_up_to: i64,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer").field("present_up_to", &self.present_up_to).finish_non_exhaustive()
    }
}

impl Indexer {
    /// Adds comments. Adding an id that is already there replaces it rather than duplicating it, so a batch can be
    /// retried after a crash between indexing and committing.
    pub fn add(&mut self, docs: &[IndexedComment]) -> Result<(), SearchError> {
        let fields = self.index.inner.fields;
        for comment in docs {
            if comment.id <= self.present_up_to {
                self.writer.delete_term(Term::from_field_i64(fields.id, comment.id));
            }
            let mut doc = TantivyDocument::new();
            doc.add_i64(fields.id, comment.id);
            doc.add_text(fields.consultation, &comment.consultation_id);
            doc.add_text(fields.text, &comment.text);
            self.writer.add_document(doc).map_err(SearchError::index)?;
            self.present_up_to = self.present_up_to.max(comment.id);
        }
        Ok(())
    }

    /// Makes everything added (or cleared) since the last commit durable, with `high_water` recorded as the point to
    /// resume from, and visible to every [`SearchIndex`] of this process at once.
    pub fn commit(&mut self, high_water: i64) -> Result<(), SearchError> {
        let mut prepared = self.writer.prepare_commit().map_err(SearchError::index)?;
        prepared.set_payload(&high_water.to_string());
        prepared.commit().map_err(SearchError::index)?;
        let inner = &self.index.inner;
        inner.high_water.store(high_water, AtomicOrdering::Relaxed);
        // The reader would notice on its own, but only after a delay; a caller that just indexed expects to find it.
        inner.reader.reload().map_err(SearchError::index)
    }

    /// Discards what was added since the last commit.
    pub fn rollback(&mut self) -> Result<(), SearchError> {
        self.writer.rollback().map_err(SearchError::index)?;
        Ok(())
    }

    /// Removes everything, for a rebuild; takes effect at the next commit, so searches keep answering from the old
    /// contents until the new ones are committed.
    pub fn clear(&mut self) -> Result<(), SearchError> {
        // tantivy's delete_all_documents drops the committed segments but not documents still buffered in memory, and
        // resets the operation stamps those documents were given; rolling back first discards them consistently.
        self.writer.rollback().map_err(SearchError::index)?;
        self.writer.delete_all_documents().map_err(SearchError::index)?;
        self.present_up_to = i64::MIN;
        Ok(())
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Indexed for delete-by-id, fast for ordering by it. Not stored: the fast field already yields it.
    let id = builder.add_i64_field(ID, NumericOptions::default().set_indexed().set_fast());
    // Untokenised, for an exact match. No field norms here or below: nothing is scored, and they cost a byte per
    // comment each.
    let raw = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let consultation = builder.add_text_field(CONSULTATION, TextOptions::default().set_indexing_options(raw));
    // Positions for phrase queries. The text is not stored: the database has it.
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions)
        .set_fieldnorms(false);
    let text = builder.add_text_field(TEXT, TextOptions::default().set_indexing_options(indexing));
    (builder.build(), Fields { id, consultation, text })
}

enum Unusable {
    /// Not an index this code can use; wipe it and start again.
    Damaged,
    /// Could not be read for reasons unrelated to its contents (permissions, I/O); wiping would not help.
    Fatal(SearchError),
}

fn open_existing(directory: MmapDirectory, schema: &Schema, fields: Fields) -> Result<Inner, Unusable> {
    let classify =
        |e: TantivyError| if is_damage(&e) { Unusable::Damaged } else { Unusable::Fatal(SearchError::index(e)) };
    let index = Index::open(directory).map_err(classify)?;
    if index.schema() != *schema {
        return Err(Unusable::Damaged);
    }
    let meta = index.load_metas().map_err(classify)?;
    let high_water = parse_payload(meta.payload.as_deref()).ok_or(Unusable::Damaged)?;
    finish_open(index, fields, high_water).map_err(classify)
}

fn finish_open(index: Index, fields: Fields, high_water: i64) -> tantivy::Result<Inner> {
    index.tokenizers().register(TOKENIZER, TextAnalyzer::from(JiebaTokenizer::for_index()));
    // Loading the reader opens every segment, so damaged segment files show up here rather than in a later search.
    // Commits by another process are picked up by the reload policy; this process's own by `Indexer::commit`.
    let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
    Ok(Inner { index, reader, fields, high_water: AtomicI64::new(high_water) })
}

/// Whether an error says the index's contents are unusable, as opposed to the file system failing us.
fn is_damage(error: &TantivyError) -> bool {
    match error {
        TantivyError::DataCorruption(_)
        | TantivyError::IncompatibleIndex(_)
        | TantivyError::SchemaError(_)
        | TantivyError::FieldNotFound(_)
        | TantivyError::DeserializeError(_)
        | TantivyError::MissingPlugin(_)
        | TantivyError::UnexpectedPlugin(_)
        | TantivyError::ConflictingPlugins(_)
        | TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_))
        | TantivyError::OpenReadError(OpenReadError::IncompatibleIndex(_)) => true,
        // Truncated or garbled files surface as I/O errors of these kinds.
        TantivyError::IoError(e) => matches!(e.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof),
        _ => false,
    }
}

/// `None` for a payload this code did not write.
fn parse_payload(payload: Option<&str>) -> Option<i64> {
    match payload {
        None => Some(0),
        Some(text) => text.parse().ok(),
    }
}

/// Empties `dir` except for tantivy's lock files, one of which the caller holds.
fn wipe(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.starts_with(".tantivy-") && n.ends_with(".lock")) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The highest id in the committed index (deleted documents included, which only makes it safer).
fn max_id(reader: &IndexReader) -> Result<i64, SearchError> {
    let searcher = reader.searcher();
    let mut max = i64::MIN;
    for segment in searcher.segment_readers() {
        if segment.max_doc() > 0 {
            let column = segment.fast_fields().i64(ID).map_err(SearchError::index)?;
            max = max.max(column.max_value());
        }
    }
    Ok(max)
}

/// Turns the user's text into clauses that must all match: one per word outside quotes, one phrase per quoted part.
///
/// Outside quotes, a run of adjacent single characters is also kept together as a phrase: that is how jieba (with
/// HMM off) leaves a name or a term missing from its dictionary, such as 算力, and requiring just the characters
/// anywhere would match far too much.
fn text_clauses(field: Field, query: &str) -> Vec<Box<dyn Query>> {
    let mut tokenizer = JiebaTokenizer::for_query();
    // Duplicates cost lookups and change nothing; a BTreeSet also gives the clauses a stable order.
    let mut groups: BTreeSet<Vec<(usize, String)>> = BTreeSet::new();
    let mut add = |group: Vec<(usize, String)>| {
        if !group.is_empty() && groups.len() < MAX_QUERY_CLAUSES {
            groups.insert(relative(group));
        }
    };
    for (i, part) in query.split(QUOTES).enumerate() {
        let quoted = i % 2 == 1;
        let mut group = Vec::new();
        // Where the current group would continue if it is a run of single characters.
        let mut run_end = None;
        let mut stream = tokenizer.token_stream(part);
        while stream.advance() {
            let token = stream.token();
            let single = token.position_length == 1;
            let joins_group = quoted || (single && run_end == Some(token.position));
            if !joins_group {
                add(std::mem::take(&mut group));
            }
            group.push((token.position, token.text.clone()));
            run_end = single.then_some(token.position + 1);
        }
        add(group);
    }
    groups
        .into_iter()
        .map(|group| -> Box<dyn Query> {
            if group.len() == 1 {
                let term = Term::from_field_text(field, &group[0].1);
                Box::new(TermQuery::new(term, IndexRecordOption::Basic))
            } else {
                let terms = group.into_iter().map(|(p, t)| (p, Term::from_field_text(field, &t))).collect();
                Box::new(PhraseQuery::new_with_offset(terms))
            }
        })
        .collect()
}

/// Positions relative to the first token, so the same words typed twice are the same clause.
fn relative(mut group: Vec<(usize, String)>) -> Vec<(usize, String)> {
    let start = group.first().map_or(0, |(p, _)| *p);
    for (p, _) in &mut group {
        *p -= start;
    }
    group
}
