//! The two backends have one schema. A fresh SQLite store and a fresh PostgreSQL store, each
//! made by `Store::open` from its own migrations (`crates/store/migrations/{sqlite,postgres}`),
//! are compared:
//!
//! - the tables;
//! - each table's columns: names, type family (integer, text, blob, real …), whether NULL is
//!   allowed, the default, and whether the database assigns the value (an id); the primary key,
//!   unique constraints and foreign keys;
//! - the indexes: name → table, columns, uniqueness and (compared loosely) the predicate of a
//!   partial index;
//! - that each trigger's job is done on both: the same statements on both give the same rows,
//!   or the same refusal. The tables that have triggers are listed, so that a new trigger
//!   without a check here fails this test.
//!
//! A mismatch names the table, column or index.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyPool, Row};
use yijian_store::{Audit, Store};

use crate::harness::{Backend, DEMO_ID, TestData, demo_file};

/// What the schemas may differ in, each with why it is accepted. Everything else must match.
const ACCEPTED: &[(&str, &str)] = &[
    (
        "audit_log.seq: assigned by SQLite, not by PostgreSQL",
        "`seq INTEGER PRIMARY KEY` is SQLite's rowid, so an insert without it gets one; the store always \
     gives the next number of the hash chain itself (staff.rs), so it never relies on that",
    ),
    (
        "campaign_members.comment_id: assigned by SQLite, not by PostgreSQL",
        "`comment_id INTEGER PRIMARY KEY` is SQLite's rowid, which keeps the table a single B-tree; a member is \
     always written with its comment's id (campaigns.rs), never without one",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    family: String,
    not_null: bool,
    default: Option<String>,
    /// The database assigns the value when an insert leaves it out.
    assigned: bool,
}

/// (columns, referenced table, referenced columns)
type ForeignKey = (Vec<String>, String, Vec<String>);

/// (receipt, article or tag)
type Links = BTreeSet<(String, String)>;

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    unique: BTreeSet<Vec<String>>,
    foreign_keys: BTreeSet<ForeignKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    predicate: Option<String>,
}

#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, Table>,
    /// Indexes made with CREATE INDEX (not those behind a key or UNIQUE constraint).
    indexes: BTreeMap<String, Index>,
    /// Trigger name → table.
    triggers: BTreeMap<String, String>,
}

/// SQLite's rules for a declared type's affinity, which PostgreSQL's type names follow too.
fn family(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") || t.contains("serial") {
        "integer".into()
    } else if t.contains("char") || t.contains("clob") || t.contains("text") {
        "text".into()
    } else if t.contains("blob") || t == "bytea" {
        "blob".into()
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        "real".into()
    } else if t.contains("bool") {
        "boolean".into()
    } else {
        format!("other ({t})")
    }
}

/// A default as written, without PostgreSQL's cast (`'[]'::text` is `'[]'`).
fn normal_default(d: &str) -> String {
    let d = d.trim();
    match d.rfind("::") {
        Some(i) if d[i + 2..].chars().all(|c| c.is_ascii_alphabetic() || c == ' ') => d[..i].to_string(),
        _ => d.to_string(),
    }
}

/// A partial index's predicate, compared loosely: case, spaces, parentheses and PostgreSQL's
/// `::text` casts of string literals ignored.
fn normal_predicate(p: &str) -> String {
    p.replace("::text", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Columns, uniqueness and predicate from `CREATE [UNIQUE] INDEX name ON table [USING m] (a, b) [WHERE …]`,
/// as SQLite keeps it and as PostgreSQL's `pg_indexes.indexdef` gives it.
fn parse_index(table: &str, sql: &str) -> Index {
    let on = sql.find(" ON ").unwrap_or_else(|| panic!("no ON in {sql}"));
    let open = on + sql[on..].find('(').unwrap_or_else(|| panic!("no columns in {sql}"));
    let close = open + sql[open..].find(')').unwrap_or_else(|| panic!("no end of columns in {sql}"));
    let columns = sql[open + 1..close].split(',').map(|c| c.trim().trim_matches('"').to_string()).collect();
    let predicate = sql[close..].find(" WHERE ").map(|w| normal_predicate(&sql[close + w + 7..]));
    Index {
        table: table.to_string(),
        columns,
        unique: sql.to_ascii_uppercase().starts_with("CREATE UNIQUE"),
        predicate,
    }
}

async fn strings(pool: &AnyPool, sql: &'static str, bind: Option<&str>) -> Vec<Vec<Option<String>>> {
    let mut q = sqlx::query(sql);
    if let Some(b) = bind {
        q = q.bind(b.to_string());
    }
    let rows = q.fetch_all(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
                        .unwrap_or_else(|e| panic!("{sql}, column {i}: {e}"))
                })
                .collect()
        })
        .collect()
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

async fn sqlite_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::default();
    let tables = strings(
        pool,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
        None,
    )
    .await;
    for row in tables {
        let (name, sql) = (s(&row[0]), s(&row[1]));
        let without_rowid = sql.to_ascii_uppercase().contains("WITHOUT ROWID");
        let mut table = Table::default();
        let columns = strings(
            pool,
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1) ORDER BY cid",
            Some(&name),
        )
        .await;
        let mut pk: Vec<(i64, String)> = vec![];
        for c in &columns {
            let position: i64 = s(&c[4]).parse().unwrap();
            if position > 0 {
                pk.push((position, s(&c[0])));
            }
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for c in &columns {
            let column = s(&c[0]);
            let in_pk = table.primary_key.contains(&column);
            // A lone INTEGER PRIMARY KEY is the rowid: SQLite assigns it.
            let rowid =
                table.primary_key.len() == 1 && in_pk && !without_rowid && s(&c[1]).eq_ignore_ascii_case("INTEGER");
            table.columns.insert(
                column,
                Column {
                    family: family(&s(&c[1])),
                    // SQLite lets a TEXT primary key hold NULL (a historical quirk); the store
                    // never writes one, and PostgreSQL refuses it, so the key counts as NOT NULL.
                    not_null: s(&c[2]) == "1" || in_pk,
                    default: c[3].as_deref().map(normal_default),
                    assigned: rowid,
                },
            );
        }
        let mut foreign: BTreeMap<String, ForeignKey> = BTreeMap::new();
        for fk in strings(
            pool,
            "SELECT id, \"from\", \"table\", \"to\" FROM pragma_foreign_key_list($1) ORDER BY id, seq",
            Some(&name),
        )
        .await
        {
            // A key over several columns is several rows with the same id.
            let key = foreign.entry(s(&fk[0])).or_insert_with(|| (vec![], s(&fk[2]), vec![]));
            key.0.push(s(&fk[1]));
            key.2.push(s(&fk[3]));
        }
        table.foreign_keys.extend(foreign.into_values());
        for ix in strings(pool, "SELECT name, origin FROM pragma_index_list($1)", Some(&name)).await {
            if s(&ix[1]) == "u" {
                let cols =
                    strings(pool, "SELECT name FROM pragma_index_info($1) ORDER BY seqno", ix[0].as_deref()).await;
                table.unique.insert(cols.iter().map(|c| s(&c[0])).collect());
            }
        }
        schema.tables.insert(name, table);
    }
    for row in
        strings(pool, "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL", None)
            .await
    {
        schema.indexes.insert(s(&row[0]), parse_index(&s(&row[1]), &s(&row[2])));
    }
    for row in strings(pool, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'", None).await {
        schema.triggers.insert(s(&row[0]), s(&row[1]));
    }
    schema
}

async fn postgres_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::default();
    let tables = strings(
        pool,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
        None,
    )
    .await;
    for row in tables {
        let name = s(&row[0]);
        let primary_key = strings(
            pool,
            "SELECT a.attname::text FROM pg_index i \
             JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) ON true \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE i.indisprimary AND i.indrelid = (current_schema() || '.' || $1)::regclass ORDER BY k.n",
            Some(&name),
        )
        .await
        .iter()
        .map(|r| s(&r[0]))
        .collect();
        let mut table = Table { primary_key, ..Table::default() };
        for c in strings(
            pool,
            "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text, \
             is_identity::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            Some(&name),
        )
        .await
        {
            let default = c[3].as_deref().map(normal_default);
            let assigned = s(&c[4]) == "YES" || default.as_deref().is_some_and(|d| d.starts_with("nextval("));
            table.columns.insert(
                s(&c[0]),
                Column {
                    family: family(&s(&c[1])),
                    not_null: s(&c[2]) == "NO",
                    default: if assigned { None } else { default },
                    assigned,
                },
            );
        }
        let mut constraints: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
        for r in strings(
            pool,
            "SELECT c.conname::text, c.contype::text, a.attname::text, \
             coalesce(rt.relname::text, ''), coalesce(ra.attname::text, '') FROM pg_constraint c \
             JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) ON true \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
             LEFT JOIN pg_class rt ON rt.oid = c.confrelid \
             LEFT JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[k.n::int] \
             WHERE c.contype IN ('u', 'f') AND c.conrelid = (current_schema() || '.' || $1)::regclass \
             ORDER BY c.conname, k.n",
            Some(&name),
        )
        .await
        {
            let entry = constraints.entry((s(&r[0]), s(&r[1]))).or_default();
            entry.0.push(s(&r[2]));
            entry.1 = s(&r[3]);
            entry.2.push(s(&r[4]));
        }
        for ((_, kind), (cols, ref_table, ref_cols)) in constraints {
            if kind == "u" {
                table.unique.insert(cols);
            } else {
                table.foreign_keys.insert((cols, ref_table, ref_cols));
            }
        }
        schema.tables.insert(name, table);
    }
    for row in strings(
        pool,
        "SELECT indexname::text, tablename::text, indexdef FROM pg_indexes WHERE schemaname = current_schema() \
         AND tablename <> '_sqlx_migrations' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
        None,
    )
    .await
    {
        schema.indexes.insert(s(&row[0]), parse_index(&s(&row[1]), &s(&row[2])));
    }
    for row in strings(
        pool,
        "SELECT DISTINCT trigger_name::text, event_object_table::text FROM information_schema.triggers \
         WHERE trigger_schema = current_schema()",
        None,
    )
    .await
    {
        schema.triggers.insert(s(&row[0]), s(&row[1]));
    }
    schema
}

/// Every difference between the two, one line each, naming the table, column or index.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = vec![];
    let names = |m: &BTreeMap<String, Table>| m.keys().cloned().collect::<BTreeSet<_>>();
    for t in names(&sqlite.tables).symmetric_difference(&names(&postgres.tables)) {
        let on = if sqlite.tables.contains_key(t) { "SQLite" } else { "PostgreSQL" };
        out.push(format!("table {t}: only on {on}"));
    }
    for (name, a) in &sqlite.tables {
        let Some(b) = postgres.tables.get(name) else { continue };
        for (column, ca) in &a.columns {
            match b.columns.get(column) {
                None => out.push(format!("{name}.{column}: only on SQLite")),
                Some(cb) => {
                    if ca.family != cb.family {
                        out.push(format!("{name}.{column}: {} on SQLite, {} on PostgreSQL", ca.family, cb.family));
                    }
                    if ca.not_null != cb.not_null {
                        let says = |n: bool| if n { "NOT NULL" } else { "nullable" };
                        out.push(format!(
                            "{name}.{column}: {} on SQLite, {} on PostgreSQL",
                            says(ca.not_null),
                            says(cb.not_null)
                        ));
                    }
                    if ca.assigned != cb.assigned {
                        let (yes, no) = if ca.assigned { ("SQLite", "PostgreSQL") } else { ("PostgreSQL", "SQLite") };
                        out.push(format!("{name}.{column}: assigned by {yes}, not by {no}"));
                    } else if ca.default != cb.default {
                        out.push(format!(
                            "{name}.{column}: default {:?} on SQLite, {:?} on PostgreSQL",
                            ca.default, cb.default
                        ));
                    }
                }
            }
        }
        for column in b.columns.keys().filter(|c| !a.columns.contains_key(*c)) {
            out.push(format!("{name}.{column}: only on PostgreSQL"));
        }
        if a.primary_key != b.primary_key {
            out.push(format!("{name}: primary key {:?} on SQLite, {:?} on PostgreSQL", a.primary_key, b.primary_key));
        }
        if a.unique != b.unique {
            out.push(format!("{name}: unique {:?} on SQLite, {:?} on PostgreSQL", a.unique, b.unique));
        }
        if a.foreign_keys != b.foreign_keys {
            out.push(format!(
                "{name}: foreign keys {:?} on SQLite, {:?} on PostgreSQL",
                a.foreign_keys, b.foreign_keys
            ));
        }
    }
    let index_names = |m: &BTreeMap<String, Index>| m.keys().cloned().collect::<BTreeSet<_>>();
    for i in index_names(&sqlite.indexes).symmetric_difference(&index_names(&postgres.indexes)) {
        let (on, ix) = match sqlite.indexes.get(i) {
            Some(ix) => ("SQLite", ix),
            None => ("PostgreSQL", &postgres.indexes[i]),
        };
        out.push(format!("index {i} (on {}): only on {on}", ix.table));
    }
    for (name, a) in &sqlite.indexes {
        if let Some(b) = postgres.indexes.get(name)
            && a != b
        {
            out.push(format!("index {name}: {a:?} on SQLite, {b:?} on PostgreSQL"));
        }
    }
    out
}

/// The tables whose triggers [`triggers_do_the_same_job`] checks.
const TRIGGER_TABLES: [&str; 3] = ["audit_log", "comments", "consultation_versions"];

/// Both stores, made fresh by `Store::open`, with the demo consultation imported.
async fn stores(test: &str) -> Option<(TestData, Store, TestData, Store)> {
    if !Backend::Postgres.run_or_skip(&format!("it::schema::{test}, which compares SQLite with PostgreSQL")) {
        return None;
    }
    let (lite_data, pg_data) = (TestData::new(Backend::Sqlite).await, TestData::new(Backend::Postgres).await);
    let (lite, pg) = (lite_data.store().await, pg_data.store().await);
    let mut demo = yijian_domain::file::parse(&std::fs::read_to_string(demo_file()).unwrap()).unwrap();
    let now = jiff::Timestamp::now();
    demo.meta.reschedule_from(now, 30);
    for store in [&lite, &pg] {
        store.import_consultation(&demo, true, now).await.unwrap();
    }
    Some((lite_data, lite, pg_data, pg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_columns_and_indexes_match() {
    let Some((_a, lite, _b, pg)) = stores("tables_columns_and_indexes_match").await else { return };
    let (a, b) = (sqlite_schema(lite.pool()).await, postgres_schema(pg.pool()).await);
    // The reading itself works: the tables, columns and indexes everyone knows are there.
    for schema in [&a, &b] {
        let comments = &schema.tables["comments"];
        assert_eq!(comments.primary_key, ["id"]);
        assert_eq!(comments.columns["opinion"].family, "text");
        assert_eq!(comments.columns["id_number_enc"].family, "blob");
        assert!(comments.columns["id"].assigned && comments.columns["opinion"].not_null);
        assert_eq!(comments.columns["articles"].default.as_deref(), Some("'[]'"));
        assert!(comments.unique.contains(&vec!["receipt".to_string()]));
        assert!(comments.foreign_keys.contains(&(
            vec!["consultation_id".into()],
            "consultations".into(),
            vec!["id".into()]
        )));
        assert_eq!(schema.indexes["comments_disposed"].predicate.as_deref(), Some("dispositionisnotnull"));
        assert!(schema.indexes["mails_by_comment"].unique);
        assert!(!schema.indexes.contains_key("comments_page"), "dropped by 0008");
        for table in ["audit_log", "comment_articles", "comment_tags", "consultation_versions", "mails", "users"] {
            assert!(schema.tables.contains_key(table), "{table}: {:?}", schema.tables.keys());
        }
    }
    let found = differences(&a, &b);
    let accepted: Vec<&str> = ACCEPTED.iter().map(|(d, _)| *d).collect();
    let unexpected: Vec<&String> = found.iter().filter(|d| !accepted.contains(&d.as_str())).collect();
    assert!(
        unexpected.is_empty(),
        "the schemas differ:\n  {}",
        unexpected.iter().map(|d| d.as_str()).collect::<Vec<_>>().join("\n  ")
    );
    // An accepted difference that went away must leave the list too.
    for d in accepted {
        assert!(found.iter().any(|f| f == d), "no longer a difference, remove it from ACCEPTED: {d}");
    }
    // The triggers sit on the same tables, and this file checks what each does.
    let tables = |s: &Schema| s.triggers.values().cloned().collect::<BTreeSet<_>>();
    assert_eq!(tables(&a), tables(&b), "triggers by table: SQLite {:?}, PostgreSQL {:?}", a.triggers, b.triggers);
    assert_eq!(
        tables(&a),
        TRIGGER_TABLES.iter().map(|t| t.to_string()).collect(),
        "a trigger on a table triggers_do_the_same_job does not check: {:?}",
        a.triggers
    );
    lite.close().await;
    pg.close().await;
}

#[test]
fn the_comparison_names_what_differs() {
    let column = |family: &str| Column { family: family.into(), not_null: true, default: None, assigned: false };
    let mut a = Schema::default();
    a.tables.insert("t".into(), Table { columns: [("c".into(), column("integer"))].into(), ..Table::default() });
    a.indexes.insert("t_by_c".into(), parse_index("t", "CREATE INDEX t_by_c ON t (c) WHERE c IS NOT NULL"));
    let mut b = Schema::default();
    b.tables.insert("t".into(), Table { columns: [("c".into(), column("text"))].into(), ..Table::default() });
    b.tables.insert("u".into(), Table::default());
    b.indexes.insert(
        "t_by_c".into(),
        parse_index("t", "CREATE INDEX t_by_c ON public.t USING btree (c, d) WHERE (c IS NOT NULL)"),
    );
    assert_eq!(
        differences(&a, &b),
        [
            "table u: only on PostgreSQL",
            "t.c: integer on SQLite, text on PostgreSQL",
            "index t_by_c: Index { table: \"t\", columns: [\"c\"], unique: false, predicate: Some(\"cisnotnull\") } on \
             SQLite, Index { table: \"t\", columns: [\"c\", \"d\"], unique: false, predicate: Some(\"cisnotnull\") } \
             on PostgreSQL",
        ]
    );
    assert_eq!(family("BIGINT"), "integer");
    assert_eq!(family("bytea"), "blob");
    assert_eq!(family("character varying"), "text");
    assert_eq!(normal_default("'[]'::text"), "'[]'");
    assert_eq!(normal_default("'x::y'"), "'x::y'");
}

/// The rows of a comment's articles or tags, by receipt (ids may differ between backends).
async fn linked(pool: &AnyPool, sql: &'static str, receipts: &BTreeMap<i64, &str>) -> Links {
    strings(pool, sql, None)
        .await
        .iter()
        .map(|r| {
            let id: i64 = s(&r[0]).parse().unwrap();
            (receipts.get(&id).map_or(format!("deleted comment {id}"), |r| r.to_string()), s(&r[1]))
        })
        .collect()
}

/// What `comment_articles` and `comment_tags` should hold for these comments' JSON.
fn expected(state: &BTreeMap<&str, (&str, &str)>) -> (Links, Links) {
    let mut articles = BTreeSet::new();
    let mut tags = BTreeSet::new();
    for (receipt, (a, t)) in state {
        for v in serde_json::from_str::<Vec<i64>>(a).unwrap() {
            articles.insert((receipt.to_string(), v.to_string()));
        }
        for v in serde_json::from_str::<Vec<String>>(t).unwrap() {
            tags.insert((receipt.to_string(), v));
        }
    }
    (articles, tags)
}

const ARTICLES: &str = "SELECT comment_id, article FROM comment_articles";
const TAGS: &str = "SELECT comment_id, tag FROM comment_tags";

/// Both backends' `comment_articles` and `comment_tags` are what the comments' JSON says.
async fn check_links(
    backends: &[(&str, &Store); 2],
    step: &str,
    ids: &[BTreeMap<i64, &str>],
    state: &BTreeMap<&str, (&str, &str)>,
) {
    let (want_articles, want_tags) = expected(state);
    for (k, (name, store)) in backends.iter().enumerate() {
        assert_eq!(
            linked(store.pool(), ARTICLES, &ids[k]).await,
            want_articles,
            "comment_articles on {name} after {step}"
        );
        assert_eq!(linked(store.pool(), TAGS, &ids[k]).await, want_tags, "comment_tags on {name} after {step}");
    }
}

/// `Ok(rows affected)` or the database's refusal.
async fn run_sql(pool: &AnyPool, sql: &'static str, binds: &[&str]) -> Result<u64, String> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.execute(pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string())
}

/// Each trigger's job, done the same way on both: the statements below run on both backends
/// and must leave the same rows (and, where the outcome is known, the right ones), or be
/// refused on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_do_the_same_job() {
    let Some((_a, lite, _b, pg)) = stores("triggers_do_the_same_job").await else { return };
    let backends = [("SQLite", &lite), ("PostgreSQL", &pg)];

    // consultation_versions: a published text is immutable.
    for (name, store) in backends {
        let err = run_sql(store.pool(), "UPDATE consultation_versions SET canonical_text = 'x'", &[]).await;
        assert!(err.as_ref().is_err_and(|e| e.contains("immutable")), "{name}: {err:?}");
        let changed =
            strings(store.pool(), "SELECT version FROM consultation_versions WHERE canonical_text = 'x'", None).await;
        assert!(changed.is_empty(), "{name}: the text changed");
    }

    // audit_log: append-only.
    for (name, store) in backends {
        let now = jiff::Timestamp::now();
        store.audit(now, Audit::new("tester", "reveal.id_number", "YJ-0000-0001", "reason=复核身份")).await.unwrap();
        store.audit(now, Audit::new("tester", "login", "tester", "")).await.unwrap();
        for sql in ["UPDATE audit_log SET detail = 'reason=none' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"]
        {
            let result = run_sql(store.pool(), sql, &[]).await;
            assert!(result.as_ref().is_err_and(|e| e.contains("append-only")), "{name}, {sql}: {result:?}");
        }
        // Entry 1 records the signature of the demo's metadata, made when it was imported.
        let rows =
            strings(store.pool(), "SELECT seq, action, detail FROM audit_log WHERE seq > 1 ORDER BY seq", None).await;
        assert_eq!(
            rows,
            [
                [Some("2".into()), Some("reveal.id_number".into()), Some("reason=复核身份".into())],
                [Some("3".into()), Some("login".into()), Some(String::new())]
            ],
            "{name}"
        );
        assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(3), "{name}");
    }

    // comments: comment_articles and comment_tags follow comments.articles and comments.tags.
    const INSERT: &str = "INSERT INTO comments (receipt, consultation_id, version, channel, submitted_at, opinion, \
                          articles, tags) VALUES ($1, $2, 1, 'web', 0, '意见', $3, $4) RETURNING id";
    const SET_ARTICLES: &str = "UPDATE comments SET articles = $1 WHERE receipt = $2";
    const SET_TAGS: &str = "UPDATE comments SET tags = $1 WHERE receipt = $2";
    const SET_BOTH: &str = "UPDATE comments SET articles = $1, tags = $2 WHERE receipt = $3";
    const SET_OPINION: &str = "UPDATE comments SET opinion = '改过的意见' WHERE receipt = $1";
    let mut ids: Vec<BTreeMap<i64, &str>> = vec![BTreeMap::new(), BTreeMap::new()];
    // The JSON each comment holds now.
    let mut state: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    let inserts =
        [("A", "[3,1,3]", r#"["就业","AI","就业"]"#), ("B", "[]", "[]"), ("C", "[20]", r#"["\"引号\"","a b"]"#)];
    for (receipt, articles, tags) in inserts {
        for (k, (_, store)) in backends.iter().enumerate() {
            let id: i64 = sqlx::query_scalar(INSERT)
                .bind(receipt)
                .bind(DEMO_ID)
                .bind(articles)
                .bind(tags)
                .fetch_one(store.pool())
                .await
                .unwrap();
            ids[k].insert(id, receipt);
        }
        state.insert(receipt, (articles, tags));
    }
    // Each step: the statement, its binds, and the JSON it leaves.
    type Step<'a> = (&'static str, Vec<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);
    let steps: Vec<Step> = vec![
        (SET_ARTICLES, vec!["[1,5]", "A"], "A", Some("[1,5]"), None),
        (SET_TAGS, vec![r#"["AI","ai"]"#, "A"], "A", None, Some(r#"["AI","ai"]"#)),
        (SET_OPINION, vec!["A"], "A", None, None),
        (SET_TAGS, vec![r#"["AI","ai"]"#, "A"], "A", None, None),
        (SET_BOTH, vec!["[2,2]", r#"["新"]"#, "B"], "B", Some("[2,2]"), Some(r#"["新"]"#)),
        (SET_BOTH, vec!["[]", "[]", "A"], "A", Some("[]"), Some("[]")),
        (SET_ARTICLES, vec!["[20,19]", "C"], "C", Some("[20,19]"), None),
    ];
    check_links(&backends, "the inserts", &ids, &state).await;
    for (sql, binds, receipt, articles, tags) in steps {
        for (name, store) in backends {
            assert_eq!(run_sql(store.pool(), sql, &binds).await, Ok(1), "{name}: {sql} {binds:?}");
        }
        let entry = state.get_mut(receipt).unwrap();
        if let Some(a) = articles {
            entry.0 = a;
        }
        if let Some(t) = tags {
            entry.1 = t;
        }
        check_links(&backends, &format!("{sql} {binds:?}"), &ids, &state).await;
    }
    // No trigger covers deleting a comment (the store never does): the rows that named it
    // stay, the same on both.
    let mut after_delete = vec![];
    for (k, (name, store)) in backends.iter().enumerate() {
        assert_eq!(run_sql(store.pool(), "DELETE FROM comments WHERE receipt = $1", &["C"]).await, Ok(1), "{name}");
        ids[k].retain(|_, r| *r != "C");
        let (a, t) = (linked(store.pool(), ARTICLES, &ids[k]).await, linked(store.pool(), TAGS, &ids[k]).await);
        // Ids are the same on both fresh databases, so the orphans read the same.
        after_delete.push((a, t));
    }
    assert_eq!(after_delete[0], after_delete[1], "after deleting a comment, SQLite vs PostgreSQL");

    // The same refusals: an unknown consultation, a receipt twice, a mail for no comment.
    for (name, store) in backends {
        let unknown = run_sql(
            store.pool(),
            "INSERT INTO comments (receipt, consultation_id, version, channel, submitted_at, opinion) \
             VALUES ('X', 'no-such-consultation', 1, 'web', 0, '意见')",
            &[],
        )
        .await;
        assert!(unknown.as_ref().is_err_and(|e| e.to_lowercase().contains("foreign key")), "{name}: {unknown:?}");
        let twice = run_sql(
            store.pool(),
            "INSERT INTO comments (receipt, consultation_id, version, channel, submitted_at, opinion) \
             VALUES ('A', $1, 1, 'web', 0, '意见')",
            &[DEMO_ID],
        )
        .await;
        assert!(twice.as_ref().is_err_and(|e| e.to_lowercase().contains("unique")), "{name}: {twice:?}");
        let orphan = sqlx::query(
            "INSERT INTO mails (message_key, state, source, received_at, imported_at, raw_enc, raw_size, comment_id) \
             VALUES ('k', 'comment', 'test', 0, 0, $1, 1, 999999)",
        )
        .bind(vec![0u8])
        .execute(store.pool())
        .await
        .map_err(|e| e.to_string());
        assert!(orphan.as_ref().is_err_and(|e| e.to_lowercase().contains("foreign key")), "{name}: {orphan:?}");
    }
    lite.close().await;
    pg.close().await;
}
