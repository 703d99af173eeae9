//! The search index against a real index on disk.

use std::path::Path;

use yijian_analysis::{IndexedComment, SearchError, SearchHits, SearchIndex};

fn comment(id: i64, consultation_id: &str, text: &str) -> IndexedComment {
    IndexedComment { id, consultation_id: consultation_id.to_owned(), text: text.to_owned() }
}

/// An index in `dir` holding `docs`, committed with the highest id as high-water mark.
fn index_with(dir: &Path, docs: &[IndexedComment]) -> SearchIndex {
    let index = SearchIndex::open(dir).unwrap();
    let mut writer = index.writer().unwrap();
    writer.add(docs).unwrap();
    writer.commit(docs.iter().map(|d| d.id).max().unwrap_or(0)).unwrap();
    index
}

fn ids(index: &SearchIndex, consultation_id: &str, query: &str) -> Vec<i64> {
    let hits = index.search(consultation_id, query, 100).unwrap();
    assert_eq!(hits.total, hits.ids.len(), "total and ids disagree for {query:?}");
    hits.ids
}

fn two_opinions(dir: &Path) -> SearchIndex {
    index_with(dir, &[comment(1, "c1", "建议加强人工智能就业培训。"), comment(2, "c1", "支持高校毕业生就业！")])
}

#[test]
fn chinese_words_match() {
    let dir = tempfile::tempdir().unwrap();
    let index = two_opinions(dir.path());
    assert_eq!(ids(&index, "c1", "就业"), [2, 1]);
    assert_eq!(ids(&index, "c1", "人工智能"), [1]);
    assert_eq!(ids(&index, "c1", "培训"), [1]);
    assert_eq!(ids(&index, "c1", "毕业生"), [2]);
    // Parts of compounds are indexed too (search mode).
    assert_eq!(ids(&index, "c1", "智能"), [1]);
    assert_eq!(ids(&index, "c1", "毕业"), [2]);
    assert_eq!(ids(&index, "c1", "高校"), [2]);
    // Words not in any comment.
    assert!(ids(&index, "c1", "社保").is_empty());
    assert!(ids(&index, "c1", "算力").is_empty());
}

#[test]
fn several_words_must_all_match() {
    let dir = tempfile::tempdir().unwrap();
    let index = two_opinions(dir.path());
    assert_eq!(ids(&index, "c1", "就业 培训"), [1]);
    assert_eq!(ids(&index, "c1", "高校 就业"), [2]);
    assert_eq!(ids(&index, "c1", "就业　毕业生"), [2], "ideographic space separates words too");
    // Without spaces jieba finds the words itself, and they need not be adjacent in the comment.
    assert_eq!(ids(&index, "c1", "毕业生就业"), [2]);
    assert_eq!(ids(&index, "c1", "人工智能培训"), [1]);
    assert!(ids(&index, "c1", "人工智能 毕业生").is_empty());
    assert!(ids(&index, "c1", "人工智能毕业生").is_empty());
}

#[test]
fn quotes_make_phrases() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_with(dir.path(), &[comment(1, "c1", "加强就业培训"), comment(2, "c1", "培训后就业")]);
    assert_eq!(ids(&index, "c1", "就业 培训"), [2, 1]);
    assert_eq!(ids(&index, "c1", "\"就业培训\""), [1]);
    assert_eq!(ids(&index, "c1", "“就业培训”"), [1], "curly quotes from a Chinese IME");
    assert_eq!(ids(&index, "c1", "「培训后就业」"), [2]);
    assert_eq!(ids(&index, "c1", "＂培训后就业＂"), [2], "full-width quotes");
    assert!(ids(&index, "c1", "\"培训就业\"").is_empty());
    // An unclosed quote runs to the end.
    assert_eq!(ids(&index, "c1", "加强 \"就业培训"), [1]);
}

#[test]
fn terms_missing_from_the_dictionary_match_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_with(
        dir.path(),
        &[
            comment(1, "c1", "建议统筹全国算力资源"),
            // The same two characters, but not next to each other.
            comment(2, "c1", "计算能力不足，要努力"),
        ],
    );
    assert_eq!(ids(&index, "c1", "算力"), [1]);
    assert_eq!(ids(&index, "c1", "算力 资源"), [1]);
}

#[test]
fn consultations_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_with(
        dir.path(),
        &[comment(1, "c1", "支持高校毕业生就业"), comment(2, "c2", "支持高校毕业生就业"), comment(3, "c2", "就业优先")],
    );
    assert_eq!(ids(&index, "c1", "就业"), [1]);
    assert_eq!(ids(&index, "c2", "就业"), [3, 2]);
    assert!(ids(&index, "c3", "就业").is_empty());
    // A consultation id is matched exactly, not tokenised.
    assert!(ids(&index, "C1", "就业").is_empty());
    assert!(ids(&index, "c", "就业").is_empty());
    // Field syntax in the query cannot reach another consultation.
    assert_eq!(ids(&index, "c1", "consultation_id:c2 就业"), Vec::<i64>::new());
}

#[test]
fn newest_first_with_limit_and_exact_total() {
    let dir = tempfile::tempdir().unwrap();
    // Added out of order, across two commits, with non-matching comments in between.
    let mut docs: Vec<IndexedComment> =
        (1..=60).map(|id| comment(id, "c1", if id % 2 == 0 { "关于就业的意见" } else { "关于社保的意见" })).collect();
    docs.reverse();
    docs.swap(3, 40);
    let index = SearchIndex::open(dir.path()).unwrap();
    let mut writer = index.writer().unwrap();
    writer.add(&docs[..25]).unwrap();
    writer.commit(60).unwrap();
    writer.add(&docs[25..]).unwrap();
    writer.commit(60).unwrap();

    let hits = index.search("c1", "就业", 5).unwrap();
    assert_eq!(hits, SearchHits { ids: vec![60, 58, 56, 54, 52], total: 30 });
    let all = index.search("c1", "就业", usize::MAX).unwrap();
    assert_eq!(all.total, 30);
    assert_eq!(all.ids, (1..=30).rev().map(|i| i * 2).collect::<Vec<_>>());
    let count_only = index.search("c1", "意见", 0).unwrap();
    assert_eq!(count_only, SearchHits { ids: vec![], total: 60 });
}

#[test]
fn adding_an_id_again_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let mut writer = index.writer().unwrap();
    writer.add(&[comment(7, "c1", "就业培训"), comment(8, "c1", "就业")]).unwrap();
    writer.add(&[comment(7, "c1", "就业培训")]).unwrap();
    writer.commit(8).unwrap();
    assert_eq!(index.search("c1", "就业", 10).unwrap(), SearchHits { ids: vec![8, 7], total: 2 });

    // Again after a commit and from a new writer, as a retry after a crash would.
    drop(writer);
    let mut writer = index.writer().unwrap();
    writer.add(&[comment(7, "c1", "社保缴费")]).unwrap();
    writer.commit(8).unwrap();
    assert_eq!(index.search("c1", "就业", 10).unwrap(), SearchHits { ids: vec![8], total: 1 });
    assert_eq!(ids(&index, "c1", "社保"), [7]);
}

#[test]
fn full_width_and_case_fold() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_with(
        dir.path(),
        &[comment(1, "c1", "发展ＡＩ培训"), comment(2, "c1", "ai 应用要规范"), comment(3, "c1", "ＧＰＵ１００台")],
    );
    for query in ["ai", "AI", "ＡＩ", "ａｉ", "Ai"] {
        assert_eq!(ids(&index, "c1", query), [2, 1], "{query}");
    }
    assert_eq!(ids(&index, "c1", "gpu100"), [3]);
    assert_eq!(ids(&index, "c1", "ＧＰＵ１００"), [3]);
}

#[test]
fn hostile_queries_are_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_with(
        dir.path(),
        &[comment(1, "c1", "支持高校毕业生就业"), comment(2, "c1", "AND OR NOT 就业"), comment(3, "c2", "就业")],
    );
    let long_words = "就业".repeat(5_000);
    let long_mixed: String = "就业培训人工智能平台算力社保的了吗(\"*:".chars().cycle().take(10_000).collect();
    let long_random: String =
        (0..10_000u32).map(|i| char::from_u32(0x4E00 + (i * 7919) % 0x5000).unwrap_or('x')).collect();
    let hostile = [
        "\"",
        "\"\"",
        "(",
        ")",
        "AND OR",
        "*",
        "field:x",
        "id:[0 TO 100]",
        "text:/.*/",
        "就业~2",
        "+就业 -毕业生",
        "\\",
        "\u{0}\u{1}\u{7}\u{1b}[31m\u{7f}",
        "\u{202e}就业\u{200b}",
        &long_words,
        &long_mixed,
        &long_random,
    ];
    for query in hostile {
        let hits = index.search("c1", query, 50).unwrap_or_else(|e| panic!("{query:.40?}: {e}"));
        assert!(hits.ids.iter().all(|id| [1, 2].contains(id)), "{query:.40?} leaked {hits:?}");
        assert_eq!(hits.total, hits.ids.len());
    }
    // Operators are ordinary words; repetition changes nothing.
    assert_eq!(ids(&index, "c1", "AND OR"), [2]);
    assert_eq!(ids(&index, "c1", &long_words), [2, 1]);
    assert!(ids(&index, "c1", "*").is_empty());
    assert!(ids(&index, "c1", "field:x").is_empty());
    assert_eq!(ids(&index, "c1", "\u{0}就业\u{1b}"), [2, 1], "control characters are separators");
}

#[test]
fn blank_queries_match_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = two_opinions(dir.path());
    for query in ["", " ", "\t\n", "\u{3000}", "，。！？", "\"  \"", "“”"] {
        assert_eq!(index.search("c1", query, 10).unwrap(), SearchHits::default(), "{query:?}");
    }
}

#[test]
fn survives_reopen_with_high_water() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.high_water(), 0);
        let mut writer = index.writer().unwrap();
        writer.add(&[comment(41, "c1", "就业培训"), comment(42, "c1", "就业")]).unwrap();
        writer.commit(42).unwrap();
        assert_eq!(index.high_water(), 42);
        // Added but never committed: gone after reopening.
        writer.add(&[comment(43, "c1", "就业")]).unwrap();
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.high_water(), 42);
    assert_eq!(ids(&index, "c1", "就业"), [42, 41]);
    let mut writer = index.writer().unwrap();
    writer.add(&[comment(43, "c1", "就业")]).unwrap();
    writer.commit(43).unwrap();
    drop(writer);
    assert_eq!(SearchIndex::open(dir.path()).unwrap().high_water(), 43);
}

#[test]
fn commits_are_visible_to_every_clone_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let reader = index.clone();
    let searcher = std::thread::spawn(move || reader);
    let reader = searcher.join().unwrap();
    let mut writer = index.writer().unwrap();
    writer.add(&[comment(1, "c1", "就业")]).unwrap();
    assert!(ids(&reader, "c1", "就业").is_empty(), "not before the commit");
    writer.commit(1).unwrap();
    assert_eq!(ids(&reader, "c1", "就业"), [1]);
    assert_eq!(reader.high_water(), 1);
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let writer = index.writer().unwrap();
    assert!(matches!(index.writer(), Err(SearchError::Locked)));
    // A second SearchIndex on the same directory, as another process would have.
    let other = SearchIndex::open(dir.path()).unwrap();
    assert!(matches!(other.writer(), Err(SearchError::Locked)));
    drop(writer);
    assert!(other.writer().is_ok());
}

#[test]
fn clear_empties_at_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let index = two_opinions(dir.path());
    let mut writer = index.writer().unwrap();
    writer.clear().unwrap();
    assert_eq!(ids(&index, "c1", "就业"), [2, 1], "still answering until the commit");
    writer.commit(0).unwrap();
    assert!(ids(&index, "c1", "就业").is_empty());
    assert_eq!(index.high_water(), 0);

    // Rebuilding after a clear, re-adding the same ids, does not duplicate them.
    writer.add(&[comment(1, "c1", "就业"), comment(2, "c1", "就业")]).unwrap();
    writer.clear().unwrap();
    writer.add(&[comment(2, "c1", "就业"), comment(2, "c1", "就业")]).unwrap();
    writer.commit(2).unwrap();
    assert_eq!(index.search("c1", "就业", 10).unwrap(), SearchHits { ids: vec![2], total: 1 });
}

#[test]
fn garbage_meta_json_is_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_opinions(dir.path()));
    std::fs::write(dir.path().join("meta.json"), b"{ this is not json \xff").unwrap();

    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.high_water(), 0);
    assert!(ids(&index, "c1", "就业").is_empty());
    // Old segment files are gone, not left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.') && n != "meta.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // And it is usable.
    let mut writer = index.writer().unwrap();
    writer.add(&[comment(5, "c1", "就业")]).unwrap();
    writer.commit(5).unwrap();
    assert_eq!(ids(&index, "c1", "就业"), [5]);
}

#[test]
fn an_index_being_written_is_not_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let index = two_opinions(dir.path());
    let mut writer = index.writer().unwrap();
    // Say an older binary, to which the index looks unusable, starts while the server is writing it.
    let meta_path = dir.path().join("meta.json");
    let meta = std::fs::read(&meta_path).unwrap();
    std::fs::write(&meta_path, b"garbage").unwrap();
    assert!(matches!(SearchIndex::open(dir.path()), Err(SearchError::Locked)));
    std::fs::write(&meta_path, meta).unwrap();
    // The writer's segments are still there.
    writer.add(&[comment(3, "c1", "就业")]).unwrap();
    writer.commit(3).unwrap();
    assert_eq!(ids(&index, "c1", "就业"), [3, 2, 1]);
}

#[test]
fn an_index_of_another_schema_is_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        use tantivy::schema::{STORED, Schema, TEXT};
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT | STORED);
        let old = tantivy::Index::create_in_dir(dir.path(), schema.build()).unwrap();
        let mut writer: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
        writer.add_document(tantivy::doc!(body => "old")).unwrap();
        writer.prepare_commit().unwrap().set_payload("99");
        writer.commit().unwrap();
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.high_water(), 0);
    assert!(ids(&index, "c1", "old").is_empty());
    // Opening it again keeps it: the recreated index is one of ours.
    let mut writer = index.writer().unwrap();
    writer.add(&[comment(1, "c1", "就业")]).unwrap();
    writer.commit(1).unwrap();
    drop((writer, index));
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!((index.high_water(), ids(&index, "c1", "就业")), (1, vec![1]));
}

#[test]
fn a_payload_we_did_not_write_is_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_opinions(dir.path()));
    let meta_path = dir.path().join("meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let tampered = meta.replace("\"payload\": \"2\"", "\"payload\": \"two\"");
    assert_ne!(tampered, meta);
    std::fs::write(&meta_path, tampered).unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.high_water(), 0);
    assert!(ids(&index, "c1", "就业").is_empty());
}

#[test]
fn a_missing_segment_file_is_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_opinions(dir.path()));
    let segment_file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .expect("a segment's postings file");
    std::fs::remove_file(segment_file).unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.high_water(), 0);
    assert!(ids(&index, "c1", "就业").is_empty());
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SearchIndex>();
    assert_send_sync::<yijian_analysis::Indexer>();
    assert_send_sync::<SearchError>();
}
