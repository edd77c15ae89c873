//! Request counting per route, shared by the HTTP and in-process paths, so tests and
//! benchmarks can assert exactly which calls a command made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Route keys: the method and the route template, as [`RequestCounts::routes`] names them.
pub mod route {
    pub const LIST_SERVICES: &str = "GET /accounts/{account_id}/addressing/services";
    pub const LIST_PREFIXES: &str = "GET /accounts/{account_id}/addressing/prefixes";
    pub const GET_PREFIX: &str = "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}";
    pub const LIST_BINDINGS: &str =
        "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings";
    pub const CREATE_BINDING: &str =
        "POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings";
    pub const GET_BINDING: &str =
        "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}";
    pub const DELETE_BINDING: &str =
        "DELETE /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}";
    /// The template of a path that matches no route (the key is `METHOD (no route)`).
    pub const NO_ROUTE: &str = "(no route)";
}

/// How many API requests arrived, per route key (e.g. [`route::LIST_BINDINGS`]), whatever
/// their outcome (rejected, faulted, rate-limited included). Admin requests are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Every request.
    pub total: u64,
    /// Per `METHOD /route/template`, in key order.
    pub routes: BTreeMap<String, u64>,
}

impl RequestCounts {
    /// Counts one request; `key` is `METHOD template`.
    pub(crate) fn record(&mut self, key: String) {
        self.total += 1;
        *self.routes.entry(key).or_default() += 1;
    }

    /// The count of one route key (0 when none arrived).
    pub fn get(&self, key: &str) -> u64 {
        self.routes.get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_in_total() {
        let mut c = RequestCounts::default();
        c.record(route::LIST_BINDINGS.to_owned());
        c.record(route::LIST_BINDINGS.to_owned());
        c.record(route::LIST_SERVICES.to_owned());
        assert_eq!(c.total, 3);
        assert_eq!(c.get(route::LIST_BINDINGS), 2);
        assert_eq!(c.get(route::CREATE_BINDING), 0);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["total"], 3);
        assert_eq!(json["routes"][route::LIST_SERVICES], 1);
    }
}
