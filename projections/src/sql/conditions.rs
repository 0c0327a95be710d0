//! A WHERE clause built up from optional filters, with its `$n` parameters numbered as they are added.

use super::projection::SqlValue;

/// The conditions of a read-model query, always starting with "rows of the live generation".
#[derive(Debug, Clone)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    values: Vec<SqlValue>,
}

impl Conditions {
    /// Rows of the generation that is live for `projection` (a rebuild's rows stay out of sight).
    pub(crate) fn live_rows_of(projection: &str) -> Self {
        let mut conditions = Self { clauses: Vec::new(), values: Vec::new() };
        let name = conditions.bind(projection);
        conditions
            .clauses
            .push(format!("generation = (SELECT live_generation FROM projection_generations WHERE name = {name})"));
        conditions
    }

    /// Adds `condition`, whose `{}` stands for `value`.
    pub(crate) fn and(&mut self, condition: &str, value: impl Into<SqlValue>) -> &mut Self {
        let placeholder = self.bind(value);
        self.clauses.push(condition.replace("{}", &placeholder));
        self
    }

    /// Adds a condition written with placeholders already bound by [`bind`](Self::bind).
    pub(crate) fn push(&mut self, condition: String) -> &mut Self {
        self.clauses.push(condition);
        self
    }

    /// Adds a parameter without a condition (for LIMIT and OFFSET); answers its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    pub(crate) fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }

    pub(crate) fn values(&self) -> &[SqlValue] {
        &self.values
    }

    /// A SELECT of `columns` from the rows of `table` that these conditions
    /// match, newest first (by `time`, then `key`), then `tail` (LIMIT, OFFSET).
    ///
    /// The page is chosen from the table's covering index alone (its
    /// `…_search` index holds the key and every filtered column), then only
    /// its rows are read from the table: the rows a filter rejects or an
    /// offset skips never are.
    pub(crate) fn newest_first(&self, table: &str, key: &str, time: &str, columns: &str, tail: &str) -> String {
        format!(
            "SELECT {columns} FROM {table}
               JOIN (SELECT generation, {key} FROM {table} WHERE {}
                      ORDER BY {time} DESC, {key} DESC {tail}) AS page USING (generation, {key})
              ORDER BY {time} DESC, {key} DESC",
            self.sql()
        )
    }
}

/// A LIKE pattern matching `text` anywhere, with LIKE's wildcards in it taken
/// literally (use with `ESCAPE '\'`), folded like the columns it is compared
/// with ([`crate::search::fold`]).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in crate::search::fold(text.trim()).chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
