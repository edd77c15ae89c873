//! The routing views in the three formats: `show` (each prefix's bindings as a tree of nested
//! CIDRs, and its effective table of minimal ranges) and `route` (where each address goes, by
//! which binding, and the chain of bindings that cover it).
//!
//! The tree is drawn the way a network engineer draws it by hand: the prefix-wide binding at
//! the top, each binding indented under the one that covers it with box-drawing guides, its
//! service and its size beside it. What wins where comes from [`crate::plan::routing`]; this
//! module only lays it out.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use super::markdown::{escape, write_cut};
use super::text::Palette;
use super::{addresses, count};
use crate::contract::show::{
    ChainLinkDoc, RouteAnswerDoc, RoutePrefixDoc, ServiceLabelDoc, ShowBindingDoc, ShowPrefixDoc,
    SourceDoc, TableRowDoc,
};
use crate::contract::{FORMAT_VERSION, Kind, RouteDocument, ShowDocument, svcbind_version};
use crate::model::AccountId;
use crate::plan::routing::{PrefixRouting, RoutedBinding, TreeRow, size};
use crate::sanitize;

/// The marker of `show` markdown.
pub const SHOW_MARKER: &str = "<!-- svcbind:show -->";
/// The marker of `route` markdown.
pub const ROUTE_MARKER: &str = "<!-- svcbind:route -->";

/// Where the bindings come from, for the headings.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// `--desired`: the file, else the live account.
    pub desired: bool,
    /// The account (live), or the file's `account_id` if any.
    pub account_id: Option<&'a AccountId>,
    /// The desired-state file, as named on the command line.
    pub file: &'a str,
}

impl Source<'_> {
    fn heading(&self) -> String {
        if self.desired {
            format!("{} (desired)", sanitize::text(self.file))
        } else {
            match self.account_id {
                Some(a) => format!("Account {a} (live)"),
                None => "Live account".to_owned(),
            }
        }
    }

    fn doc(&self) -> SourceDoc {
        if self.desired {
            SourceDoc::Desired
        } else {
            SourceDoc::Live
        }
    }
}

/// One address and where it goes: the prefix (an index into the prefixes given) and the chain
/// of bindings that contain it, least specific first (the last one wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub address: IpAddr,
    pub prefix: usize,
    pub chain: Vec<usize>,
}

fn service(b: &RoutedBinding) -> String {
    sanitize::text(&b.service).into_owned()
}

/// `(provisioning)` for a live binding that is not active.
fn state_suffix(b: &RoutedBinding) -> String {
    match &b.state {
        Some(s) if !s.is_active() => format!(" ({})", sanitize::text(s.as_str())),
        _ => String::new(),
    }
}

fn bits(net: &ipnet::IpNet) -> u8 {
    net.max_prefix_len() - net.prefix_len()
}

/// The guides before a tree row: `│  ` or `   ` for each ancestor below the top, then `├─ `
/// or `└─ `.
fn guides(rows: &[TreeRow], i: usize) -> String {
    let row = rows[i];
    if row.depth == 0 {
        return String::new();
    }
    let mut parts = Vec::with_capacity(row.depth);
    parts.push(if row.last { "└─ " } else { "├─ " });
    let mut up = row.parent;
    while let Some(p) = up {
        if rows[p].depth == 0 {
            break;
        }
        parts.push(if rows[p].last { "   " } else { "│  " });
        up = rows[p].parent;
    }
    parts.reverse();
    parts.concat()
}

/// The tree of a prefix as lines: guides and CIDR, service, size.
fn tree_lines(p: &PrefixRouting) -> Vec<(String, String, String)> {
    let rows = p.tree();
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let b = &p.bindings[row.binding];
            (
                format!("{}{}", guides(&rows, i), b.cidr),
                format!("{}{}", service(b), state_suffix(b)),
                addresses(bits(&b.cidr)),
            )
        })
        .collect()
}

/// Writes the routing of `prefixes` as text.
pub fn show_text(
    out: &mut impl Write,
    prefixes: &[PrefixRouting],
    source: &Source<'_>,
    color: bool,
) -> io::Result<()> {
    let p = Palette::new(color);
    let (bold, dim) = (p.bold, p.dim);
    writeln!(out, "{bold}{}{bold:#}", source.heading())?;
    for prefix in prefixes {
        writeln!(out)?;
        match &prefix.id {
            Some(id) => writeln!(
                out,
                "{bold}{}{bold:#} {dim}(prefix {id}, {}){dim:#}",
                prefix.cidr,
                addresses(bits(&prefix.cidr))
            )?,
            None => writeln!(
                out,
                "{bold}{}{bold:#} {dim}({}){dim:#}",
                prefix.cidr,
                addresses(bits(&prefix.cidr))
            )?,
        }
        if prefix.bindings.is_empty() {
            writeln!(
                out,
                "  no bindings: no address of the prefix goes to a service"
            )?;
            continue;
        }
        let lines = tree_lines(prefix);
        let w0 = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
        let w1 = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
        let w2 = lines.iter().map(|l| l.2.len()).max().unwrap_or(0);
        for (cidr, svc, size) in &lines {
            writeln!(out, "  {cidr:<w0$}  {svc:<w1$}  {dim}{size:>w2$}{dim:#}")?;
        }
        writeln!(out)?;
        writeln!(out, "  Effective routing (the most specific binding wins):")?;
        let table = prefix.table();
        let rows: Vec<(String, String, String, String)> = table
            .iter()
            .map(|row| {
                let (svc, via) = match row.winner {
                    Some(i) => {
                        let b = &prefix.bindings[i];
                        let via = if b.cidr == row.cidr {
                            String::new()
                        } else {
                            format!("by {}", b.cidr)
                        };
                        (service(b), via)
                    }
                    None => ("no service".to_owned(), "no binding covers it".to_owned()),
                };
                (row.cidr.to_string(), svc, addresses(bits(&row.cidr)), via)
            })
            .collect();
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
        for (cidr, svc, size, via) in &rows {
            let line = format!("    {cidr:<w0$}  {svc:<w1$}  {size:>w2$}  {via}");
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

/// Writes the routing of `prefixes` as markdown: the tree in a code block, the table as a table.
pub fn show_markdown(
    out: &mut impl Write,
    prefixes: &[PrefixRouting],
    source: &Source<'_>,
) -> io::Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "{SHOW_MARKER}");
    let _ = writeln!(md, "### svcbind show: {}\n", escape(&source.heading()));
    for prefix in prefixes {
        match &prefix.id {
            Some(id) => {
                let _ = writeln!(md, "#### `{}` (prefix `{id}`)\n", prefix.cidr);
            }
            None => {
                let _ = writeln!(md, "#### `{}`\n", prefix.cidr);
            }
        }
        if prefix.bindings.is_empty() {
            let _ = writeln!(
                md,
                "No bindings: no address of the prefix goes to a service.\n"
            );
            continue;
        }
        let lines = tree_lines(prefix);
        let w0 = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
        let w1 = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
        let w2 = lines.iter().map(|l| l.2.len()).max().unwrap_or(0);
        md.push_str("```\n");
        for (cidr, svc, size) in &lines {
            // A code block shows text as it is; only a fence could end it early.
            let svc = svc.replace('`', "'");
            let _ = writeln!(md, "{cidr:<w0$}  {svc:<w1$}  {size:>w2$}");
        }
        md.push_str("```\n\n");
        let _ = writeln!(
            md,
            "| Range | Addresses | Service | Binding |\n|---|---:|---|---|"
        );
        for row in prefix.table() {
            let (svc, binding) = match row.winner {
                Some(i) => {
                    let b = &prefix.bindings[i];
                    (escape(&b.service), format!("`{}`", b.cidr))
                }
                None => ("no service".to_owned(), "none".to_owned()),
            };
            let _ = writeln!(
                md,
                "| `{}` | {} | {svc} | {binding} |",
                row.cidr,
                addresses(bits(&row.cidr))
            );
        }
        md.push('\n');
    }
    write_cut(out, &md, "svcbind show", "every prefix")
}

fn label(b: &RoutedBinding) -> ServiceLabelDoc {
    ServiceLabelDoc {
        name: sanitize::text(&b.service).into_owned(),
        id: b.service_id.as_ref().map(ToString::to_string),
    }
}

/// The routing of `prefixes` as a [`ShowDocument`].
pub fn show_document(prefixes: &[PrefixRouting], source: &Source<'_>) -> ShowDocument {
    ShowDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Show,
        svcbind_version: svcbind_version(),
        source: source.doc(),
        account_id: source.account_id.map(ToString::to_string),
        prefixes: prefixes
            .iter()
            .map(|p| {
                let rows = p.tree();
                ShowPrefixDoc {
                    id: p.id.as_ref().map(ToString::to_string),
                    cidr: p.cidr,
                    addresses: size(&p.cidr).to_string(),
                    bindings: rows
                        .iter()
                        .map(|row| {
                            let b = &p.bindings[row.binding];
                            ShowBindingDoc {
                                cidr: b.cidr,
                                service: label(b),
                                binding_id: b.binding_id.as_ref().map(ToString::to_string),
                                state: b
                                    .state
                                    .as_ref()
                                    .map(|s| sanitize::text(s.as_str()).into_owned()),
                                depth: row.depth,
                                parent: row.parent.map(|r| rows[r].binding),
                                addresses: size(&b.cidr).to_string(),
                            }
                        })
                        .collect(),
                    table: p
                        .table()
                        .iter()
                        .map(|row| TableRowDoc {
                            cidr: row.cidr,
                            addresses: size(&row.cidr).to_string(),
                            service: row.winner.map(|i| label(&p.bindings[i])),
                            binding: row.winner.map(|i| p.bindings[i].cidr),
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

/// Writes the routing of `prefixes` as pretty JSON with a trailing newline.
pub fn show_json(
    out: &mut impl Write,
    prefixes: &[PrefixRouting],
    source: &Source<'_>,
) -> io::Result<()> {
    super::json::write(out, &show_document(prefixes, source))
}

/// Writes where each address goes, as text.
pub fn route_text(
    out: &mut impl Write,
    prefixes: &[PrefixRouting],
    answers: &[Answer],
    source: &Source<'_>,
    color: bool,
) -> io::Result<()> {
    let p = Palette::new(color);
    let (bold, dim) = (p.bold, p.dim);
    writeln!(out, "{bold}{}{bold:#}", source.heading())?;
    for a in answers {
        writeln!(out)?;
        let prefix = &prefixes[a.prefix];
        let in_prefix = match &prefix.id {
            Some(id) => format!("prefix {} ({id})", prefix.cidr),
            None => format!("prefix {}", prefix.cidr),
        };
        let Some(&winner) = a.chain.last() else {
            writeln!(
                out,
                "{bold}{}{bold:#} → no service: no binding of {in_prefix} covers it",
                a.address
            )?;
            continue;
        };
        let w = &prefix.bindings[winner];
        let by = match &w.binding_id {
            Some(id) => format!("{} (binding {id})", w.cidr),
            None => w.cidr.to_string(),
        };
        writeln!(
            out,
            "{bold}{}{bold:#} → {bold}{}{bold:#}{}, by {by} in {in_prefix}",
            a.address,
            service(w),
            state_suffix(w)
        )?;
        let lines: Vec<(String, String)> = a
            .chain
            .iter()
            .enumerate()
            .map(|(depth, &i)| {
                let b = &prefix.bindings[i];
                let indent = if depth == 0 {
                    String::new()
                } else {
                    format!("{}└─ ", "   ".repeat(depth - 1))
                };
                (
                    format!("{indent}{}", b.cidr),
                    format!("{}{}", service(b), state_suffix(b)),
                )
            })
            .collect();
        let w0 = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
        let w1 = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
        let last = lines.len() - 1;
        for (i, (cidr, svc)) in lines.iter().enumerate() {
            if i == last {
                writeln!(out, "  {cidr:<w0$}  {svc:<w1$}  {dim}← wins{dim:#}")?;
            } else {
                writeln!(out, "  {cidr:<w0$}  {svc}")?;
            }
        }
    }
    Ok(())
}

/// Writes where each address goes, as a markdown table.
pub fn route_markdown(
    out: &mut impl Write,
    prefixes: &[PrefixRouting],
    answers: &[Answer],
    source: &Source<'_>,
) -> io::Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "{ROUTE_MARKER}");
    let _ = writeln!(
        md,
        "### svcbind route: {}, {}\n",
        count(answers.len(), "address", "addresses"),
        escape(&source.heading())
    );
    let _ = writeln!(
        md,
        "| Address | Service | Binding | Prefix | Covered by |\n|---|---|---|---|---|"
    );
    for a in answers {
        let prefix = &prefixes[a.prefix];
        let (svc, binding) = match a.chain.last() {
            Some(&i) => {
                let b = &prefix.bindings[i];
                (
                    format!("**{}**{}", escape(&b.service), escape(&state_suffix(b))),
                    format!("`{}`", b.cidr),
                )
            }
            None => ("no service".to_owned(), "none".to_owned()),
        };
        let chain: Vec<String> = a
            .chain
            .iter()
            .map(|&i| {
                let b = &prefix.bindings[i];
                format!("`{}` {}", b.cidr, escape(&b.service))
            })
            .collect();
        let _ = writeln!(
            md,
            "| `{}` | {svc} | {binding} | `{}` | {} |",
            a.address,
            prefix.cidr,
            chain.join(" → ")
        );
    }
    md.push('\n');
    write_cut(out, &md, "svcbind route", "every address")
}

fn link(b: &RoutedBinding) -> ChainLinkDoc {
    ChainLinkDoc {
        cidr: b.cidr,
        service: label(b),
        binding_id: b.binding_id.as_ref().map(ToString::to_string),
        state: b
            .state
            .as_ref()
            .map(|s| sanitize::text(s.as_str()).into_owned()),
    }
}

/// Where each address goes, as a [`RouteDocument`].
pub fn route_document(
    prefixes: &[PrefixRouting],
    answers: &[Answer],
    source: &Source<'_>,
) -> RouteDocument {
    RouteDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Route,
        svcbind_version: svcbind_version(),
        source: source.doc(),
        account_id: source.account_id.map(ToString::to_string),
        routes: answers
            .iter()
            .map(|a| {
                let prefix = &prefixes[a.prefix];
                let chain: Vec<ChainLinkDoc> =
                    a.chain.iter().map(|&i| link(&prefix.bindings[i])).collect();
                let winner = a.chain.last().map(|&i| &prefix.bindings[i]);
                RouteAnswerDoc {
                    address: a.address.to_string(),
                    prefix: RoutePrefixDoc {
                        id: prefix.id.as_ref().map(ToString::to_string),
                        cidr: prefix.cidr,
                    },
                    service: winner.map(label),
                    binding: winner.map(link),
                    chain,
                }
            })
            .collect(),
    }
}

/// Writes where each address goes as pretty JSON with a trailing newline.
pub fn route_json(
    out: &mut impl Write,
    prefixes: &[PrefixRouting],
    answers: &[Answer],
    source: &Source<'_>,
) -> io::Result<()> {
    super::json::write(out, &route_document(prefixes, answers, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BindingId, ProvisioningState};

    fn binding(cidr: &str, service: &str) -> RoutedBinding {
        RoutedBinding {
            cidr: cidr.parse().unwrap(),
            service: service.into(),
            service_id: None,
            binding_id: None,
            state: None,
        }
    }

    fn sample() -> PrefixRouting {
        let mut provisioning = binding("192.0.2.128/28", "CDN");
        provisioning.state = Some(ProvisioningState::Provisioning);
        provisioning.binding_id = Some(BindingId::new("b9").unwrap());
        PrefixRouting::new(
            None,
            "192.0.2.0/24".parse().unwrap(),
            vec![
                binding("192.0.2.0/24", "Magic Transit"),
                binding("192.0.2.0/25", "Spectrum"),
                binding("192.0.2.8/29", "CDN"),
                binding("192.0.2.64/27", "CDN"),
                provisioning,
            ],
        )
    }

    const SOURCE: Source<'static> = Source {
        desired: true,
        account_id: None,
        file: "svcbind.yaml",
    };

    #[test]
    fn the_tree_reads_like_a_drawing() {
        let mut out = Vec::new();
        show_text(&mut out, &[sample()], &SOURCE, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "svcbind.yaml (desired)

192.0.2.0/24 (256 addresses)
  192.0.2.0/24         Magic Transit       256 addresses
  ├─ 192.0.2.0/25      Spectrum            128 addresses
  │  ├─ 192.0.2.8/29   CDN                   8 addresses
  │  └─ 192.0.2.64/27  CDN                  32 addresses
  └─ 192.0.2.128/28    CDN (provisioning)   16 addresses

  Effective routing (the most specific binding wins):
    192.0.2.0/29    Spectrum        8 addresses  by 192.0.2.0/25
    192.0.2.8/29    CDN             8 addresses
    192.0.2.16/28   Spectrum       16 addresses  by 192.0.2.0/25
    192.0.2.32/27   Spectrum       32 addresses  by 192.0.2.0/25
    192.0.2.64/27   CDN            32 addresses
    192.0.2.96/27   Spectrum       32 addresses  by 192.0.2.0/25
    192.0.2.128/28  CDN            16 addresses
    192.0.2.144/28  Magic Transit  16 addresses  by 192.0.2.0/24
    192.0.2.160/27  Magic Transit  32 addresses  by 192.0.2.0/24
    192.0.2.192/26  Magic Transit  64 addresses  by 192.0.2.0/24
"
        );
    }

    #[test]
    fn a_route_names_the_winner_and_its_chain() {
        let p = sample();
        let address: IpAddr = "192.0.2.9".parse().unwrap();
        let answers = [Answer {
            address,
            prefix: 0,
            chain: p.chain(address),
        }];
        let mut out = Vec::new();
        route_text(&mut out, std::slice::from_ref(&p), &answers, &SOURCE, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "svcbind.yaml (desired)

192.0.2.9 → CDN, by 192.0.2.8/29 in prefix 192.0.2.0/24
  192.0.2.0/24        Magic Transit
  └─ 192.0.2.0/25     Spectrum
     └─ 192.0.2.8/29  CDN            ← wins
"
        );
    }

    #[test]
    fn holes_are_listed_as_a_sentence() {
        use crate::render::text::ranges_text;
        let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
        let show = |except: &[&str]| {
            let holes: Vec<ipnet::IpNet> = except.iter().map(|s| net(s)).collect();
            ranges_text(&net("2001:db8:beef::/48"), &holes, |c| c.to_string())
        };
        assert_eq!(show(&[]), "2001:db8:beef::/48");
        assert_eq!(
            show(&["2001:db8:beef:10::/64"]),
            "2001:db8:beef::/48 except 2001:db8:beef:10::/64"
        );
        assert_eq!(
            show(&["2001:db8:beef:10::/64", "2001:db8:beef:20::/64"]),
            "2001:db8:beef::/48 except 2001:db8:beef:10::/64 and 2001:db8:beef:20::/64"
        );
        assert_eq!(
            ranges_text(
                &net("192.0.2.0/24"),
                &[
                    net("192.0.2.0/29"),
                    net("192.0.2.64/27"),
                    net("192.0.2.128/28")
                ],
                |c| format!("`{c}`")
            ),
            "`192.0.2.0/24` except `192.0.2.0/29`, `192.0.2.64/27` and `192.0.2.128/28`"
        );
    }

    #[test]
    fn the_documents_fit_their_schemas() {
        let p = sample();
        let address: IpAddr = "192.0.2.130".parse().unwrap();
        let answers = [Answer {
            address,
            prefix: 0,
            chain: p.chain(address),
        }];
        let check = |value: serde_json::Value, schema: schemars::Schema| {
            let schema = serde_json::to_value(schema).unwrap();
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
            value
        };
        let mut out = Vec::new();
        show_json(&mut out, std::slice::from_ref(&p), &SOURCE).unwrap();
        let show = check(
            serde_json::from_slice(&out).unwrap(),
            schemars::schema_for!(ShowDocument),
        );
        assert_eq!(show["prefixes"][0]["bindings"][2]["parent"], 1);
        assert_eq!(show["prefixes"][0]["table"][0]["binding"], "192.0.2.0/25");
        let mut out = Vec::new();
        route_json(&mut out, std::slice::from_ref(&p), &answers, &SOURCE).unwrap();
        let route = check(
            serde_json::from_slice(&out).unwrap(),
            schemars::schema_for!(RouteDocument),
        );
        assert_eq!(route["routes"][0]["binding"]["state"], "provisioning");
        assert_eq!(route["routes"][0]["chain"].as_array().unwrap().len(), 2);
    }
}
