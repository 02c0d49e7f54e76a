//! The parsed object database: elements by id, names, spans.

use std::collections::{BTreeMap, HashMap};

use rampart_diag::{Diagnostic, FileId, Span};
use roxmltree::{Document, Node, ParsingOptions};

use crate::diagnostics;

/// The library Firewall Builder moves deleted objects to.
const DELETED: &str = "sysid99";

pub(crate) struct Db<'i> {
    doc: Document<'i>,
    file: FileId,
    text: &'i str,
}

impl<'i> Db<'i> {
    pub(crate) fn parse(text: &'i str, file: FileId) -> Result<Self, Vec<Diagnostic>> {
        // Every .fwb file starts with a <!DOCTYPE>.
        let opts = ParsingOptions { allow_dtd: true, ..ParsingOptions::default() };
        let doc = Document::parse_with_options(text, opts).map_err(|e| {
            let pos = e.pos();
            let offset = line_offset(text, pos.row, pos.col);
            vec![diagnostics::not_fwb(&e.to_string(), Span::new(file, offset, offset))]
        })?;
        let root = doc.root_element();
        if root.tag_name().name() != "FWObjectDatabase" {
            let r = root.range();
            return Err(vec![diagnostics::not_fwb(
                &format!("the root element is <{}>", root.tag_name().name()),
                Span::new(file, r.start, r.start),
            )]);
        }
        Ok(Db { doc, file, text })
    }

    pub(crate) fn index(&self) -> Index<'_, 'i> {
        let ids = self
            .doc
            .descendants()
            .filter_map(|n| Some((n.attribute("id")?, n)))
            .collect::<HashMap<_, _>>();
        Index { ids }
    }

    /// The start tag of `node`, for diagnostics.
    pub(crate) fn span(&self, node: Node<'_, '_>) -> Span {
        let r = node.range();
        let end = self.text[r.clone()].find('>').map_or(r.end, |i| r.start + i + 1);
        Span::new(self.file, r.start, end)
    }

    pub(crate) fn name<'a>(&self, node: Node<'a, 'i>) -> &'a str {
        node.attribute("name").unwrap_or("")
    }

    /// The iptables firewalls, outside the deleted-objects library.
    pub(crate) fn firewalls(&self) -> impl Iterator<Item = Node<'_, 'i>> {
        self.all_firewalls().filter(|f| f.attribute("platform") == Some("iptables"))
    }

    fn all_firewalls(&self) -> impl Iterator<Item = Node<'_, 'i>> {
        self.doc.descendants().filter(|n| {
            n.has_tag_name((NS, "Firewall"))
                && !n.ancestors().any(|a| a.attribute("id") == Some(DELETED))
        })
    }

    pub(crate) fn summary(&self) -> Summary {
        let mut objects = BTreeMap::new();
        for n in self.doc.descendants().filter(Node::is_element) {
            if n.attribute("id").is_some()
                && !n.ancestors().any(|a| a.attribute("id") == Some(DELETED))
            {
                *objects.entry(n.tag_name().name().to_owned()).or_insert(0) += 1;
            }
        }
        let firewalls = self
            .all_firewalls()
            .map(|f| FirewallSummary {
                name: self.name(f).to_owned(),
                platform: f.attribute("platform").unwrap_or("").to_owned(),
                host_os: f.attribute("host_OS").unwrap_or("").to_owned(),
                rulesets: f
                    .children()
                    .filter(|c| {
                        ["Policy", "NAT", "Routing"].iter().any(|t| c.has_tag_name((NS, *t)))
                    })
                    .map(|rs| RuleSetSummary {
                        kind: rs.tag_name().name().to_owned(),
                        name: self.name(rs).to_owned(),
                        rules: rs
                            .children()
                            .filter(Node::is_element)
                            .filter(|r| r.tag_name().name().ends_with("Rule"))
                            .count(),
                        top: rs.attribute("top_rule_set") == Some("True"),
                    })
                    .collect(),
            })
            .collect();
        Summary { firewalls, objects }
    }
}

/// The Firewall Builder namespace every element is in.
pub(crate) const NS: &str = "http://www.fwbuilder.org/1.0/";

/// Elements by their `id`.
pub(crate) struct Index<'a, 'i> {
    ids: HashMap<&'a str, Node<'a, 'i>>,
}

impl<'a, 'i> Index<'a, 'i> {
    pub(crate) fn get(&self, id: &str) -> Option<Node<'a, 'i>> {
        self.ids.get(id).copied()
    }
}

/// What `rampart import fwb --list` shows.
#[derive(Debug)]
pub struct Summary {
    pub firewalls: Vec<FirewallSummary>,
    /// Elements with an id, by kind (`Host`, `TCPService`, ...).
    pub objects: BTreeMap<String, usize>,
}

#[derive(Debug)]
pub struct FirewallSummary {
    pub name: String,
    pub platform: String,
    pub host_os: String,
    pub rulesets: Vec<RuleSetSummary>,
}

#[derive(Debug)]
pub struct RuleSetSummary {
    /// `Policy`, `NAT` or `Routing`.
    pub kind: String,
    pub name: String,
    pub rules: usize,
    /// The entry point of its kind.
    pub top: bool,
}

fn line_offset(text: &str, row: u32, col: u32) -> usize {
    let start: usize =
        text.split_inclusive('\n').take(row.saturating_sub(1) as usize).map(str::len).sum();
    (start + col.saturating_sub(1) as usize).min(text.len())
}
