//! Analysis of comments.
//!
//! Chinese full-text search over opinions: reviewers of a consultation with tens of thousands of comments need to
//! find those about a topic (就业, 人工智能, 社保) without reading them all, and a SQL `LIKE` neither understands Chinese
//! words nor stays fast at a million comments. See [`search`].
//!
//! Campaign detection: copies and near-copies of one text, sent by many, found as one thing. See [`campaigns`].

pub mod articles;
pub mod campaigns;
pub mod search;
pub mod themes;

pub use search::{IndexedComment, Indexer, SearchError, SearchHits, SearchIndex};
