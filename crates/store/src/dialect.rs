//! Where SQLite and PostgreSQL differ, in one place.
//!
//! Every query runs on both backends through sqlx's `Any` driver (see the crate's docs). What
//! cannot be written the same way on both is a fragment here, so a reader sees every dialect
//! difference at once and a change to one backend's SQL sits beside the other's. Strategies that
//! differ as a whole (SQLite intersecting id-only scans, reading a page as one JSON array) stay
//! with their queries, each with its reason.

use crate::Backend;

impl Backend {
    /// The statement that begins a transaction which will write. SQLite's must take the write
    /// lock at once: a deferred transaction that read first fails to upgrade when another
    /// connection committed meanwhile, and busy_timeout does not cover that case.
    pub(crate) fn begin_write(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => Some("BEGIN IMMEDIATE"),
            Backend::Postgres => None,
        }
    }

    /// A statement that serialises, until the transaction ends, every transaction that runs it
    /// with the same `name`, across all the servers sharing the database. On SQLite the write
    /// lock already does (there is one writer), so there is nothing to run.
    pub(crate) fn transaction_lock(self, name: &str) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(format!("SELECT pg_advisory_xact_lock(hashtext('{name}'))")),
        }
    }

    /// The `n`th (1-based) bound parameter of a long multi-row insert. SQLite gets anonymous
    /// `?`: for `$N` names sqlx asks SQLite for each parameter's name, a linear search, which
    /// made binding quadratic in the size of the insert.
    pub(crate) fn insert_parameter(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".into(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// The `VALUES` list of a multi-row insert: `rows` tuples of `columns` parameters, numbered
    /// from 1 in order (see [`Backend::insert_parameter`]); bind row by row, column by column.
    pub(crate) fn values(self, rows: usize, columns: usize) -> String {
        let mut sql = String::with_capacity(rows * columns * 4);
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..columns {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.insert_parameter(r * columns + c + 1));
            }
            sql.push(')');
        }
        sql
    }

    /// `comments`, read through the named index. SQLite's planner, without statistics, prefers
    /// the covering queue index to a partial one; PostgreSQL plans well on its own.
    pub(crate) fn comments_by(self, index: &str) -> String {
        match self {
            Backend::Sqlite => format!("comments INDEXED BY {index}"),
            Backend::Postgres => "comments".into(),
        }
    }

    /// The first `chars` characters of `column`, and its length in characters.
    pub(crate) fn opening(self, column: &str, chars: usize) -> (String, String) {
        match self {
            Backend::Sqlite => (format!("substr({column}, 1, {chars})"), format!("length({column})")),
            Backend::Postgres => (format!("substring({column} from 1 for {chars})"), format!("char_length({column})")),
        }
    }

    /// `id` is one of `ids` (integers, written in). PostgreSQL spends milliseconds planning a
    /// list of ten thousand constants, one selectivity estimate each; an array computed by a
    /// sub-select it takes as it is.
    pub(crate) fn id_in(self, ids: &[i64]) -> String {
        let list = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        match self {
            Backend::Sqlite => format!("id IN ({list})"),
            Backend::Postgres => format!("id = ANY ((SELECT '{{{list}}}'::bigint[])::bigint[])"),
        }
    }

    /// The prefix that makes a query show its plan, and the column of each plan line.
    pub(crate) fn explain(self) -> (&'static str, usize) {
        match self {
            // id, parent, notused, detail
            Backend::Sqlite => ("EXPLAIN QUERY PLAN", 3),
            Backend::Postgres => ("EXPLAIN (ANALYZE, BUFFERS)", 0),
        }
    }

    /// `SET` clause adding the text bound as `param` to the JSON array in `tags`, once.
    pub(crate) fn add_tag(self, param: &str) -> String {
        match self {
            Backend::Sqlite => format!(
                "tags = CASE WHEN EXISTS (SELECT 1 FROM json_each(tags) WHERE value = {param}) \
                 THEN tags ELSE json_insert(tags, '$[#]', {param}) END"
            ),
            Backend::Postgres => format!(
                "tags = CASE WHEN jsonb_exists(tags::jsonb, {param}) THEN tags \
                 ELSE (tags::jsonb || to_jsonb({param}::text))::text END"
            ),
        }
    }

    /// `SET` clause removing the text bound as `param` from the JSON array in `tags`.
    pub(crate) fn remove_tag(self, param: &str) -> String {
        match self {
            Backend::Sqlite => format!(
                "tags = (SELECT COALESCE(json_group_array(value), '[]') FROM json_each(tags) WHERE value <> {param})"
            ),
            Backend::Postgres => format!("tags = (tags::jsonb - {param}::text)::text"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fragment_has_both_dialects() {
        for b in [Backend::Sqlite, Backend::Postgres] {
            assert!(b.insert_parameter(3) == "?" || b.insert_parameter(3) == "$3");
            assert_eq!(b.values(2, 2).matches(['?', '$']).count(), 4);
            assert!(b.comments_by("comments_marked").starts_with("comments"));
            assert!(b.id_in(&[1, 2]).contains("1,2"));
            assert!(b.add_tag("$3").contains("$3") && b.remove_tag("$3").contains("$3"));
        }
        assert_eq!(Backend::Postgres.values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(Backend::Sqlite.values(1, 2), "(?, ?)");
        assert_eq!(Backend::Sqlite.begin_write(), Some("BEGIN IMMEDIATE"));
        assert_eq!(Backend::Postgres.transaction_lock("x").unwrap(), "SELECT pg_advisory_xact_lock(hashtext('x'))");
        assert_eq!(Backend::Sqlite.opening("opinion", 5).1, "length(opinion)");
        assert_eq!(Backend::Postgres.opening("opinion", 5).1, "char_length(opinion)");
    }
}
