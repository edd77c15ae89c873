//! Request counting per route, shared by the HTTP and in-process paths, so tests and
//! benchmarks can assert exactly which calls a command made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::Route;

/// How many API requests arrived, per route key (`METHOD template`, see [`Route::key`]),
/// whatever their outcome (rejected, faulted, rate-limited included). A request with a method
/// its path does not take is counted under that method and the path's template; one whose path
/// matches no route under `METHOD (no route)`. Admin requests are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Every request.
    pub total: u64,
    /// Per route key, in key order.
    pub routes: BTreeMap<String, u64>,
    /// Requests answered 429 because the budget (`--rate-limit`) was spent (injected 429
    /// faults are not counted here).
    #[serde(default)]
    pub rate_limited: u64,
}

impl RequestCounts {
    /// Counts one request under its route key.
    pub(crate) fn record(&mut self, key: String) {
        self.total += 1;
        *self.routes.entry(key).or_default() += 1;
    }

    /// How many requests of one call arrived (0 when none).
    pub fn get(&self, route: Route) -> u64 {
        self.routes.get(&route.key()).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_route_and_in_total() {
        let mut c = RequestCounts::default();
        c.record(Route::ListBindings.key());
        c.record(Route::ListBindings.key());
        c.record(Route::ListServices.key());
        c.record("PUT (no route)".to_owned());
        assert_eq!(c.total, 4);
        assert_eq!(c.get(Route::ListBindings), 2);
        assert_eq!(c.get(Route::CreateBinding), 0);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["total"], 4);
        assert_eq!(json["rate_limited"], 0);
        assert_eq!(
            json["routes"],
            serde_json::json!({
                "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings": 2,
                "GET /accounts/{account_id}/addressing/services": 1,
                "PUT (no route)": 1,
            })
        );
    }
}
