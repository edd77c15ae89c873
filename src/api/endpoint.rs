//! [`Endpoint`]: the seven calls svcbind makes, each with its method, its route template, its
//! route key and its concrete path, written once.
//!
//! A [`Route`] is a call without its ids: it names the method and the path template, as the
//! API reference writes it (placeholders `{account_id}`, `{prefix_id}`, `{binding_id}`), and
//! its key (`METHOD template`) is what the emulator counts requests by. An [`Endpoint`] is a
//! call with the ids it addresses, held either as validated newtypes ([`TypedEndpoint`], what
//! the HTTP client and the in-process emulator call) or as the raw strings of a request
//! ([`RawEndpoint`], what the emulator's HTTP server parses, since a request may carry an id
//! that is not valid). A concrete path is the template with the ids filled in, and a request
//! path is parsed by matching it against the same templates, so no path is spelled twice.
//!
//! Paths are below the API root (`https://api.cloudflare.com/client/v4`): the root's own path
//! belongs to whoever serves or calls it. This module does no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, BindingId, PrefixId};

/// The placeholder of the account id in a template.
const ACCOUNT_ID: &str = "{account_id}";
/// The placeholder of the prefix id in a template.
const PREFIX_ID: &str = "{prefix_id}";
/// The placeholder of the binding id in a template.
const BINDING_ID: &str = "{binding_id}";

/// The template of a request path that matches no route, as request counts name it
/// (`GET (no route)`).
pub const NO_ROUTE: &str = "(no route)";

/// The key requests are counted under: `METHOD template` (see [`Route::key`]), or
/// `METHOD (no route)`.
pub fn route_key(method: &str, template: &str) -> String {
    format!("{method} {template}")
}

/// The HTTP methods of the seven calls. As JSON, the method's name (`"GET"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    /// The method's name, as in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the seven calls, without its ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    ListServices,
    ListPrefixes,
    GetPrefix,
    ListBindings,
    CreateBinding,
    GetBinding,
    DeleteBinding,
}

impl Route {
    /// Every route, in the order of the [`super::Api`] trait.
    pub const ALL: [Self; 7] = [
        Self::ListServices,
        Self::ListPrefixes,
        Self::GetPrefix,
        Self::ListBindings,
        Self::CreateBinding,
        Self::GetBinding,
        Self::DeleteBinding,
    ];

    pub fn method(self) -> Method {
        match self {
            Self::ListServices
            | Self::ListPrefixes
            | Self::GetPrefix
            | Self::ListBindings
            | Self::GetBinding => Method::Get,
            Self::CreateBinding => Method::Post,
            Self::DeleteBinding => Method::Delete,
        }
    }

    /// The path template below the API root, as the API reference writes it. The one place
    /// each path is spelled.
    pub fn template(self) -> &'static str {
        match self {
            Self::ListServices => "/accounts/{account_id}/addressing/services",
            Self::ListPrefixes => "/accounts/{account_id}/addressing/prefixes",
            Self::GetPrefix => "/accounts/{account_id}/addressing/prefixes/{prefix_id}",
            Self::ListBindings | Self::CreateBinding => {
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"
            }
            Self::GetBinding | Self::DeleteBinding => {
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}"
            }
        }
    }

    /// `METHOD template`: the key the emulator counts this call's requests under (and the
    /// key of `GET /__svcbind/requests`).
    pub fn key(self) -> String {
        route_key(self.method().as_str(), self.template())
    }
}

impl fmt::Display for Route {
    /// The route key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// One of the seven calls with the ids it addresses: the prefix id as a `P`, the binding id
/// as a `B` (the account id is the caller's, the same for every call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<P, B> {
    /// The account's services.
    ListServices,
    /// The account's prefixes.
    ListPrefixes,
    /// One prefix.
    GetPrefix(P),
    /// The bindings of a prefix.
    ListBindings(P),
    /// A new binding in a prefix.
    CreateBinding(P),
    /// One binding of a prefix.
    GetBinding(P, B),
    /// The end of one binding of a prefix.
    DeleteBinding(P, B),
}

/// A call svcbind makes: validated ids, which need no escaping in a path.
pub type TypedEndpoint<'a> = Endpoint<&'a PrefixId, &'a BindingId>;

/// A call as a request carried it: ids as sent, not validated.
pub type RawEndpoint<'a> = Endpoint<&'a str, &'a str>;

impl<P, B> Endpoint<P, B> {
    /// The call without its ids.
    pub fn route(&self) -> Route {
        match self {
            Self::ListServices => Route::ListServices,
            Self::ListPrefixes => Route::ListPrefixes,
            Self::GetPrefix(_) => Route::GetPrefix,
            Self::ListBindings(_) => Route::ListBindings,
            Self::CreateBinding(_) => Route::CreateBinding,
            Self::GetBinding(..) => Route::GetBinding,
            Self::DeleteBinding(..) => Route::DeleteBinding,
        }
    }

    pub fn method(&self) -> Method {
        self.route().method()
    }

    /// The prefix id and the binding id, where the call has them.
    fn ids(&self) -> (Option<&P>, Option<&B>) {
        match self {
            Self::ListServices | Self::ListPrefixes => (None, None),
            Self::GetPrefix(p) | Self::ListBindings(p) | Self::CreateBinding(p) => (Some(p), None),
            Self::GetBinding(p, b) | Self::DeleteBinding(p, b) => (Some(p), Some(b)),
        }
    }

    /// The call of `route` with these ids, or `None` when an id the route needs is missing.
    fn with_ids(route: Route, prefix: Option<P>, binding: Option<B>) -> Option<Self> {
        Some(match route {
            Route::ListServices => Self::ListServices,
            Route::ListPrefixes => Self::ListPrefixes,
            Route::GetPrefix => Self::GetPrefix(prefix?),
            Route::ListBindings => Self::ListBindings(prefix?),
            Route::CreateBinding => Self::CreateBinding(prefix?),
            Route::GetBinding => Self::GetBinding(prefix?, binding?),
            Route::DeleteBinding => Self::DeleteBinding(prefix?, binding?),
        })
    }
}

impl TypedEndpoint<'_> {
    /// The concrete path below the API root for `account`: the route's template with the ids
    /// filled in.
    pub fn path(&self, account: &AccountId) -> String {
        let (prefix, binding) = self.ids();
        fill(
            self.route(),
            account.as_str(),
            prefix.map(|p| p.as_str()),
            binding.map(|b| b.as_str()),
        )
    }
}

impl RawEndpoint<'_> {
    /// The path a request for `account` carried (below the API root), rebuilt from the route's
    /// template, e.g. for an error message that names it.
    pub fn path(&self, account: &str) -> String {
        let (prefix, binding) = self.ids();
        fill(self.route(), account, prefix.copied(), binding.copied())
    }
}

/// `route`'s template with the ids filled in.
fn fill(route: Route, account: &str, prefix: Option<&str>, binding: Option<&str>) -> String {
    route
        .template()
        .split('/')
        .map(|segment| match segment {
            ACCOUNT_ID => account,
            PREFIX_ID => prefix.unwrap_or(segment),
            BINDING_ID => binding.unwrap_or(segment),
            literal => literal,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What a request's method and path name, matched against the routes' templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// One of the seven calls, for the account id `account` (as sent).
    Call {
        account: &'a str,
        endpoint: RawEndpoint<'a>,
    },
    /// A path of the API with a method none of its calls uses.
    WrongMethod {
        /// The path's template.
        template: &'static str,
        /// The methods the path takes, in [`Route::ALL`] order.
        allowed: Vec<Method>,
    },
    /// No call has this path.
    NoRoute,
}

impl Parsed<'_> {
    /// The key of a request with this method: the call's route key, the template with the
    /// method sent, or `METHOD (no route)`.
    pub fn key(&self, method: &str) -> String {
        match self {
            Self::Call { endpoint, .. } => endpoint.route().key(),
            Self::WrongMethod { template, .. } => route_key(method, template),
            Self::NoRoute => route_key(method, NO_ROUTE),
        }
    }
}

/// Matches a request (`method` as in the request line, `path` below the API root) against the
/// routes. Ids are taken as sent, whatever they hold; an empty segment matches nothing.
pub fn parse<'a>(method: &str, path: &'a str) -> Parsed<'a> {
    let mut template = None;
    let mut allowed = Vec::new();
    for route in Route::ALL {
        let Some(ids) = match_template(route.template(), path) else {
            continue;
        };
        if route.method().as_str() == method {
            let call = Endpoint::with_ids(route, ids.prefix, ids.binding);
            if let (Some(account), Some(endpoint)) = (ids.account, call) {
                return Parsed::Call { account, endpoint };
            }
        }
        template = Some(route.template());
        allowed.push(route.method());
    }
    match template {
        Some(template) => Parsed::WrongMethod { template, allowed },
        None => Parsed::NoRoute,
    }
}

/// The ids a path holds in the places of a template's placeholders.
#[derive(Default)]
struct Ids<'a> {
    account: Option<&'a str>,
    prefix: Option<&'a str>,
    binding: Option<&'a str>,
}

/// The ids of `path` if it has the segments of `template`: the same literals, and a
/// non-empty segment in the place of each placeholder.
fn match_template<'a>(template: &str, path: &'a str) -> Option<Ids<'a>> {
    let mut ids = Ids::default();
    let mut segments = path.split('/');
    for expected in template.split('/') {
        let segment = segments.next()?;
        let slot = match expected {
            ACCOUNT_ID => &mut ids.account,
            PREFIX_ID => &mut ids.prefix,
            BINDING_ID => &mut ids.binding,
            literal if literal == segment => continue,
            _ => return None,
        };
        if segment.is_empty() {
            return None;
        }
        *slot = Some(segment);
    }
    segments.next().is_none().then_some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    fn account() -> AccountId {
        AccountId::new(ACCOUNT).unwrap()
    }

    /// Every route: its method, template and key, and the path of a call with ids `p1`/`b1`.
    #[test]
    fn every_route_has_its_method_template_key_and_path() {
        let p = PrefixId::new("p1").unwrap();
        let b = BindingId::new("b1").unwrap();
        let cases: [(TypedEndpoint<'_>, &str, &str, &str); 7] = [
            (
                Endpoint::ListServices,
                "GET",
                "/accounts/{account_id}/addressing/services",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/services",
            ),
            (
                Endpoint::ListPrefixes,
                "GET",
                "/accounts/{account_id}/addressing/prefixes",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes",
            ),
            (
                Endpoint::GetPrefix(&p),
                "GET",
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/p1",
            ),
            (
                Endpoint::ListBindings(&p),
                "GET",
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/p1/bindings",
            ),
            (
                Endpoint::CreateBinding(&p),
                "POST",
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/p1/bindings",
            ),
            (
                Endpoint::GetBinding(&p, &b),
                "GET",
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/p1/bindings/b1",
            ),
            (
                Endpoint::DeleteBinding(&p, &b),
                "DELETE",
                "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}",
                "/accounts/023e105f4ecef8ad9ca31a8372d0c353/addressing/prefixes/p1/bindings/b1",
            ),
        ];
        let routes: Vec<Route> = cases.iter().map(|(e, ..)| e.route()).collect();
        assert_eq!(routes, Route::ALL);
        for (endpoint, method, template, path) in cases {
            let route = endpoint.route();
            assert_eq!(endpoint.method().as_str(), method);
            assert_eq!(route.template(), template);
            assert_eq!(route.key(), format!("{method} {template}"));
            assert_eq!(route.to_string(), route.key());
            assert_eq!(endpoint.path(&account()), path);
        }
    }

    #[test]
    fn keys_are_those_the_request_counts_have_always_used() {
        let keys: Vec<String> = Route::ALL.iter().map(|r| r.key()).collect();
        assert_eq!(
            keys,
            [
                "GET /accounts/{account_id}/addressing/services",
                "GET /accounts/{account_id}/addressing/prefixes",
                "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}",
                "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings",
                "POST /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings",
                "GET /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}",
                "DELETE /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings/{binding_id}",
            ]
        );
    }

    #[test]
    fn paths_parse_back_to_their_call() {
        let p = PrefixId::new("2af39739cc4e3b5910c918468bb89828").unwrap();
        let b = BindingId::new("0429b49b6a5155297b78e75a44b09e14").unwrap();
        let calls: [TypedEndpoint<'_>; 7] = [
            Endpoint::ListServices,
            Endpoint::ListPrefixes,
            Endpoint::GetPrefix(&p),
            Endpoint::ListBindings(&p),
            Endpoint::CreateBinding(&p),
            Endpoint::GetBinding(&p, &b),
            Endpoint::DeleteBinding(&p, &b),
        ];
        for call in calls {
            let path = call.path(&account());
            let raw: RawEndpoint<'_> = match call {
                Endpoint::ListServices => Endpoint::ListServices,
                Endpoint::ListPrefixes => Endpoint::ListPrefixes,
                Endpoint::GetPrefix(p) => Endpoint::GetPrefix(p.as_str()),
                Endpoint::ListBindings(p) => Endpoint::ListBindings(p.as_str()),
                Endpoint::CreateBinding(p) => Endpoint::CreateBinding(p.as_str()),
                Endpoint::GetBinding(p, b) => Endpoint::GetBinding(p.as_str(), b.as_str()),
                Endpoint::DeleteBinding(p, b) => Endpoint::DeleteBinding(p.as_str(), b.as_str()),
            };
            let parsed = parse(call.method().as_str(), &path);
            assert_eq!(
                parsed,
                Parsed::Call {
                    account: ACCOUNT,
                    endpoint: raw
                },
                "{path}"
            );
            assert_eq!(parsed.key(call.method().as_str()), call.route().key());
        }
    }

    #[test]
    fn ids_that_are_not_valid_still_parse_to_their_route() {
        let long = "x".repeat(40);
        let path = format!("/accounts/not-an-id!/addressing/prefixes/{long}/bindings/b%2F..");
        assert_eq!(
            parse("DELETE", &path),
            Parsed::Call {
                account: "not-an-id!",
                endpoint: Endpoint::DeleteBinding(long.as_str(), "b%2F..")
            }
        );
        assert_eq!(
            parse("GET", "/accounts/a/addressing/prefixes/..").key("GET"),
            Route::GetPrefix.key()
        );
    }

    #[test]
    fn a_known_path_with_another_method_names_the_methods_it_takes() {
        let parsed = parse("PUT", "/accounts/a/addressing/prefixes/p/bindings");
        assert_eq!(
            parsed,
            Parsed::WrongMethod {
                template: Route::ListBindings.template(),
                allowed: vec![Method::Get, Method::Post],
            }
        );
        assert_eq!(
            parsed.key("PUT"),
            "PUT /accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"
        );
        assert_eq!(
            parse("POST", "/accounts/a/addressing/prefixes/p/bindings/b"),
            Parsed::WrongMethod {
                template: Route::GetBinding.template(),
                allowed: vec![Method::Get, Method::Delete],
            }
        );
        assert_eq!(
            parse("get", "/accounts/a/addressing/services"),
            Parsed::WrongMethod {
                template: Route::ListServices.template(),
                allowed: vec![Method::Get],
            }
        );
    }

    #[test]
    fn other_paths_match_no_route() {
        for bad in [
            "",
            "/",
            "/accounts/a/addressing",
            "/accounts/a/addressing/prefixes/",
            "/accounts//addressing/prefixes",
            "/accounts/a/addressing/prefixes//bindings",
            "/accounts/a/addressing/prefixes/p/bindings/",
            "/accounts/a/addressing/prefixes/p/bindings/b/x",
            "/zones/a/addressing/prefixes",
            "accounts/a/addressing/prefixes",
            "/client/v4/accounts/a/addressing/prefixes",
        ] {
            let parsed = parse("GET", bad);
            assert_eq!(parsed, Parsed::NoRoute, "{bad}");
            assert_eq!(parsed.key("GET"), "GET (no route)");
        }
    }

    #[test]
    fn methods_are_json_names() {
        for method in [Method::Get, Method::Post, Method::Delete] {
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{method}\""));
            assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), method);
        }
        assert!(serde_json::from_str::<Method>("\"PUT\"").is_err());
    }
}
