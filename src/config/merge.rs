//! The files of one desired state, checked together and made into one [`StateFile`].
//!
//! A desired state may be split over several files (`-c` repeated, or a directory), so that
//! teams can own their prefixes. Each file is checked on its own first (`validate`); this
//! module then checks what only the files together can break, and reports it in the file
//! where it is written, naming the other file:
//!
//! - prefixes are unique and do not overlap, across files as within one;
//! - `account_id`, `safety.max_deletes` and `safety.max_delete_percent` may be written in
//!   any number of the files, and must be the same wherever they are (the files describe one
//!   account and one apply);
//! - `safety.protect` adds up: each file may protect ranges (a team its own), and each range
//!   lies inside a prefix listed in one of the files;
//! - `version: 1` is in every file, as each is a file of the format on its own.
//!
//! The state is the files' prefixes in file order, so that a desired state split in two
//! plans exactly like the one file it was. One file goes through here too: its checks are the
//! same, worded for one file.

use ipnet::IpNet;

use super::Loaded;
use super::diagnostic::{Diagnostic, Diagnostics, Severity, SourceMap};
use super::validate::{Checked, Places};
use crate::model::{Location, StateFile};

/// One file, checked on its own.
#[derive(Debug)]
pub(crate) struct OneFile {
    map: SourceMap,
    /// What is valid of it, unless it could not be read as the format at all.
    state: Option<StateFile>,
    places: Places,
    diagnostics: Diagnostics,
}

impl OneFile {
    /// A file whose problem stopped the reading: nothing of it is known but the problem.
    pub(crate) fn unreadable(map: SourceMap, diagnostic: Diagnostic) -> Self {
        Self {
            map,
            state: None,
            places: Places::default(),
            diagnostics: Diagnostics::from(vec![diagnostic]),
        }
    }

    /// A file that was read and checked.
    pub(crate) fn checked(map: SourceMap, checked: Checked) -> Self {
        Self {
            map,
            state: Some(checked.state),
            places: checked.places,
            diagnostics: checked.diagnostics,
        }
    }
}

/// Checks `files` together and makes them one state; `unread` are warnings about files not
/// read (placed after the others). All problems come out together, file by file in file
/// order, each file's in line order.
pub(crate) fn merge(mut files: Vec<OneFile>, unread: Diagnostics) -> Result<Loaded, Diagnostics> {
    for (index, file) in files.iter_mut().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        if let Some(state) = &mut file.state {
            for prefix in &mut state.prefixes {
                prefix.location.file = index;
                for binding in &mut prefix.bindings {
                    binding.location.file = index;
                }
            }
        }
        for place in file
            .places
            .account_id
            .iter_mut()
            .chain(&mut file.places.max_deletes)
            .chain(&mut file.places.max_delete_percent)
            .chain(&mut file.places.protect)
        {
            place.file = index;
        }
    }
    let mut across = Across {
        files: &files,
        found: vec![Vec::new(); files.len()],
    };
    across.agree("account_id", |s| s.account_id.as_ref(), |p| p.account_id);
    across.agree(
        "safety.max_deletes",
        |s| s.max_deletes.as_ref(),
        |p| p.max_deletes,
    );
    across.agree(
        "safety.max_delete_percent",
        |s| s.max_delete_percent.as_ref(),
        |p| p.max_delete_percent,
    );
    across.prefixes_apart();
    across.protected_inside_prefixes();
    let found = across.found;

    let mut all = Diagnostics::new();
    for (file, found) in files.iter_mut().zip(found) {
        let mut diagnostics = std::mem::take(&mut file.diagnostics);
        diagnostics.extend(found);
        diagnostics.sort();
        all.extend(diagnostics);
    }
    all.extend(unread);
    let readable = files.iter().all(|f| f.state.is_some());
    if all.has_errors() || !readable {
        return Err(all);
    }
    let mut sources = Vec::with_capacity(files.len());
    let mut state = StateFile::default();
    for file in files {
        sources.push(file.map);
        let Some(one) = file.state else { continue };
        state.account_id = state.account_id.or(one.account_id);
        state.max_deletes = state.max_deletes.or(one.max_deletes);
        state.max_delete_percent = state.max_delete_percent.or(one.max_delete_percent);
        for range in one.protect {
            if !state.protect.contains(&range) {
                state.protect.push(range);
            }
        }
        for (name, id) in one.services {
            state.services.entry(name).or_insert(id);
        }
        state.prefixes.extend(one.prefixes);
    }
    Ok(Loaded {
        state,
        warnings: all,
        sources,
    })
}

/// The checks across files, and the problems they find, per file.
struct Across<'a> {
    files: &'a [OneFile],
    found: Vec<Vec<Diagnostic>>,
}

impl Across<'_> {
    fn error(&mut self, at: Location, message: String, hint: Option<String>) {
        let Some(file) = self.files.get(at.file as usize) else {
            return;
        };
        let d = file.map.diagnostic(Severity::Error, at, message, hint);
        self.found[at.file as usize].push(d);
    }

    /// How a message names the place `at` as seen from `from`: `line 6` in the same file,
    /// `a.yaml:6` in another.
    fn place(&self, at: Location, from: Location) -> String {
        if at.file == from.file {
            format!("line {}", at.line)
        } else {
            let name = self.files.get(at.file as usize).map_or("", |f| &f.map.file);
            format!("{}:{}", crate::sanitize::text(name), at.line)
        }
    }

    /// A setting written in several files has one value: each that differs from the first
    /// is an error where it is written, naming the first.
    fn agree<T: PartialEq + std::fmt::Display>(
        &mut self,
        key: &str,
        value: impl Fn(&StateFile) -> Option<&T>,
        place: impl Fn(&Places) -> Option<Location>,
    ) {
        let mut first: Option<(&T, Location)> = None;
        let mut differ = Vec::new();
        for file in self.files {
            let (Some(state), Some(at)) = (&file.state, place(&file.places)) else {
                continue;
            };
            let Some(this) = value(state) else { continue };
            match first {
                None => first = Some((this, at)),
                Some((one, one_at)) if one != this => {
                    differ.push((
                        at,
                        format!(
                            "`{key}` is {this} here but {one} in {}",
                            self.place(one_at, at)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        for (at, message) in differ {
            self.error(
                at,
                message,
                Some(format!(
                    "the files are one desired state: make `{key}` the same in each, or write it in one file only"
                )),
            );
        }
    }

    /// Prefixes are unique and do not overlap, across files as within one. Sorted by start
    /// address, then length, a prefix that overlaps an earlier one lies inside the latest
    /// prefix that is not inside another. The report is at the entry written later (in file
    /// order), naming the other.
    fn prefixes_apart(&mut self) {
        let mut prefixes: Vec<(IpNet, Location)> = self
            .files
            .iter()
            .filter_map(|f| f.state.as_ref())
            .flat_map(|s| s.prefixes.iter().map(|p| (p.cidr, p.location)))
            .collect();
        let order = |at: &Location| (at.file, at.line, at.column);
        prefixes.sort_by_key(|(net, at)| (start(net), net.prefix_len(), order(at)));
        let mut outer: Option<(IpNet, Location)> = None;
        for (net, at) in prefixes {
            match outer {
                Some((o_net, o_at)) if o_net.contains(&net) => {
                    let ((later_net, later_at), (other_net, other_at)) =
                        if order(&at) > order(&o_at) {
                            ((net, at), (o_net, o_at))
                        } else {
                            ((o_net, o_at), (net, at))
                        };
                    let other = self.place(other_at, later_at);
                    if net == o_net {
                        let hint = if other_at.file == later_at.file {
                            format!("it is already listed at {other}")
                        } else {
                            format!("it is already listed at {other}: a prefix belongs to one file")
                        };
                        self.error(
                            later_at,
                            format!("duplicate prefix `{later_net}`"),
                            Some(hint),
                        );
                    } else {
                        self.error(
                            later_at,
                            format!("prefix `{later_net}` overlaps prefix `{other_net}` ({other})"),
                            Some(
                                "prefixes may not overlap: list each onboarded prefix once"
                                    .to_owned(),
                            ),
                        );
                    }
                }
                _ => outer = Some((net, at)),
            }
        }
    }

    /// Each protected range lies inside a listed prefix (of any file): svcbind changes nothing
    /// elsewhere, so a range outside is a typo or a prefix left out.
    fn protected_inside_prefixes(&mut self) {
        let prefixes: Vec<IpNet> = self
            .files
            .iter()
            .filter_map(|f| f.state.as_ref())
            .flat_map(|s| s.prefixes.iter().map(|p| p.cidr))
            .collect();
        let mut outside = Vec::new();
        for file in self.files {
            let Some(state) = &file.state else { continue };
            for (range, at) in state.protect.iter().zip(&file.places.protect) {
                if !prefixes.iter().any(|p| p.contains(range)) {
                    let within: Vec<&IpNet> =
                        prefixes.iter().filter(|p| range.contains(*p)).collect();
                    let hint = match within.first() {
                        Some(p) => format!(
                            "it is wider than the prefix `{p}`: protect the prefix itself, or ranges inside it"
                        ),
                        None => "protect ranges of the prefixes listed under `prefixes`, or list the prefix".to_owned(),
                    };
                    outside.push((
                        *at,
                        format!("protected range `{range}` is not inside a listed prefix"),
                        hint,
                    ));
                }
            }
        }
        for (at, message, hint) in outside {
            self.error(at, message, Some(hint));
        }
    }
}

/// Network address as a number, for sorting ranges of one family.
fn start(net: &IpNet) -> (bool, u128) {
    match net {
        IpNet::V4(n) => (false, u128::from(u32::from(n.network()))),
        IpNet::V6(n) => (true, u128::from(n.network())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Mode, check_one};
    use super::*;

    fn one_line(d: &Diagnostic) -> String {
        format!(
            "{}:{}:{}: {}: {}",
            d.file, d.line, d.column, d.severity, d.message
        )
    }

    fn merged(files: &[(&str, &str)]) -> Result<Loaded, Vec<String>> {
        let files = files
            .iter()
            .map(|(name, text)| check_one(text, name, Mode::Desired))
            .collect();
        merge(files, Diagnostics::new()).map_err(|d| d.iter().map(one_line).collect())
    }

    const A: &str = "\
version: 1
account_id: 023e105f4ecef8ad9ca31a8372d0c353
safety:
  max_deletes: 4
  protect: [198.51.100.0/28]
prefixes:
  - cidr: 192.0.2.0/24
    bindings:
      - { cidr: 192.0.2.0/24, service: Magic Transit }
";

    const B: &str = "\
version: 1
safety:
  protect: [192.0.2.0/26]
prefixes:
  - cidr: 198.51.100.0/24
    bindings:
      - { cidr: 198.51.100.0/24, service: CDN }
";

    #[test]
    fn two_files_make_one_state_in_file_order() {
        let loaded = merged(&[("a.yaml", A), ("b.yaml", B)]).unwrap();
        let s = &loaded.state;
        let cidrs: Vec<String> = s.prefixes.iter().map(|p| p.cidr.to_string()).collect();
        assert_eq!(cidrs, ["192.0.2.0/24", "198.51.100.0/24"]);
        assert_eq!(s.max_deletes, Some(4));
        assert_eq!(
            s.account_id.as_ref().map(|a| a.as_str()),
            Some("023e105f4ecef8ad9ca31a8372d0c353")
        );
        let protect: Vec<String> = s.protect.iter().map(ToString::to_string).collect();
        assert_eq!(protect, ["198.51.100.0/28", "192.0.2.0/26"]);
        // Each location knows its file, so a later stage points into the right one.
        let b = &s.prefixes[1];
        assert_eq!((b.location.file, b.location.line), (1, 5));
        assert_eq!(b.bindings[0].location.file, 1);
        let d = loaded.diagnostic(Severity::Error, b.bindings[0].location, "m", None);
        assert_eq!(d.file, "b.yaml");
        assert_eq!(
            d.source_line.as_deref(),
            Some("      - { cidr: 198.51.100.0/24, service: CDN }")
        );
        assert_eq!(loaded.file(), "a.yaml, b.yaml");
    }

    #[test]
    fn a_prefix_in_two_files_is_reported_in_the_later_naming_the_first() {
        let b = B.replace("198.51.100.0/24", "192.0.2.0/24");
        assert_eq!(
            merged(&[("a.yaml", A), ("b.yaml", &b)]).unwrap_err(),
            [
                "a.yaml:5:13: error: protected range `198.51.100.0/28` is not inside a listed prefix",
                "b.yaml:5:11: error: duplicate prefix `192.0.2.0/24`",
            ]
        );
        let files = vec![
            check_one(A, "a.yaml", Mode::Desired),
            check_one(&b, "b.yaml", Mode::Desired),
        ];
        let d = merge(files, Diagnostics::new()).unwrap_err();
        assert_eq!(
            d.iter().nth(1).unwrap().hint.as_deref(),
            Some("it is already listed at a.yaml:7: a prefix belongs to one file")
        );
        // Overlap, the wider prefix written first: reported in the later file all the same.
        let b = B
            .replace("- cidr: 198.51.100.0/24", "- cidr: 192.0.2.128/25")
            .replace("{ cidr: 198.51.100.0/24", "{ cidr: 192.0.2.128/25");
        let a = A.replace("198.51.100.0/28", "192.0.2.0/28");
        let b = b.replace("192.0.2.0/26", "192.0.2.128/26");
        assert_eq!(
            merged(&[("a.yaml", &a), ("b.yaml", &b)]).unwrap_err(),
            [
                "b.yaml:5:11: warning: prefix `192.0.2.128/25` is smaller than BYOIP allows: IPv4 prefixes are /24 or shorter",
                "b.yaml:5:11: error: prefix `192.0.2.128/25` overlaps prefix `192.0.2.0/24` (a.yaml:7)",
            ]
        );
    }

    #[test]
    fn settings_written_twice_must_agree() {
        let b = B.replace(
            "version: 1\nsafety:\n",
            "version: 1\naccount_id: 0000000000000000000000000000000a\nsafety:\n  max_deletes: 4\n  max_delete_percent: 30\n",
        );
        let c = "version: 1\nsafety:\n  max_deletes: 5\n  max_delete_percent: 20\nprefixes: []\n";
        assert_eq!(
            merged(&[("a.yaml", A), ("b.yaml", &b), ("c.yaml", c)]).unwrap_err(),
            [
                "b.yaml:2:13: error: `account_id` is 0000000000000000000000000000000a here but 023e105f4ecef8ad9ca31a8372d0c353 in a.yaml:2",
                "c.yaml:3:16: error: `safety.max_deletes` is 5 here but 4 in a.yaml:4",
                "c.yaml:4:23: error: `safety.max_delete_percent` is 20 here but 30 in b.yaml:5",
            ]
        );
        // The same value twice is fine.
        let b = B.replace(
            "version: 1\n",
            "version: 1\naccount_id: 023e105f4ecef8ad9ca31a8372d0c353\n",
        );
        assert!(merged(&[("a.yaml", A), ("b.yaml", &b)]).is_ok());
    }

    #[test]
    fn protected_ranges_lie_inside_a_prefix_of_any_file() {
        // Alone, each file protects a range of the other's prefix.
        assert_eq!(
            merged(&[("a.yaml", A)]).unwrap_err(),
            ["a.yaml:5:13: error: protected range `198.51.100.0/28` is not inside a listed prefix"]
        );
        let b = B.replace("192.0.2.0/26", "192.0.0.0/16");
        let files = vec![
            check_one(A, "a.yaml", Mode::Desired),
            check_one(&b, "b.yaml", Mode::Desired),
        ];
        let d = merge(files, Diagnostics::new()).unwrap_err();
        assert_eq!(
            d.iter().map(one_line).collect::<Vec<_>>(),
            ["b.yaml:3:13: error: protected range `192.0.0.0/16` is not inside a listed prefix"]
        );
        assert_eq!(
            d.iter().next().unwrap().hint.as_deref(),
            Some(
                "it is wider than the prefix `192.0.2.0/24`: protect the prefix itself, or ranges inside it"
            )
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_stops_the_state_but_not_the_other_checks() {
        let b = B.replace("198.51.100.0/24", "192.0.2.0/24");
        assert_eq!(
            merged(&[("a.yaml", "version: [\n"), ("b.yaml", &b), ("c.yaml", &b)]).unwrap_err(),
            [
                "a.yaml:1:10: error: unclosed bracket '[' in `version`",
                "c.yaml:5:11: error: duplicate prefix `192.0.2.0/24`",
            ]
        );
    }
}
