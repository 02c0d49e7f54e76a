//! `rampart lsp`: a language server for policy files, over stdio.
//!
//! Input: the editor's JSON-RPC messages. Output: the diagnostics of `rampart
//! check` as the text changes, go-to-definition, hover (what a name stands
//! for, expanded, and the rules that use it), completion of names and
//! keywords, and the document's symbols. Each request re-reads the
//! document's current text and its includes: policies are small, and a
//! fresh analysis is never stale. Start reading at [`run`]; the names come
//! from `index.rs`, positions from `position.rs`.

mod index;
mod position;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest, Request as _,
};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, DiagnosticSeverity, DocumentSymbol,
    GotoDefinitionResponse, Hover, HoverContents, HoverProviderCapability, Location, MarkupContent,
    MarkupKind, NumberOrString, OneOf, PublishDiagnosticsParams, ServerCapabilities, SymbolKind,
    TextDocumentPositionParams, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use rampart_diag::{FileId, Sources};

use crate::index::{Def, Index};
use crate::position::{offset, range, word_at};

/// The words of the language, offered by completion beside the names.
const KEYWORDS: &[&str] = &[
    "include",
    "host",
    "network",
    "range",
    "group",
    "service",
    "user",
    "firewall",
    "access",
    "interface",
    "bridge",
    "ruleset",
    "log-prefix",
    "log-level",
    "default",
    "accept-established",
    "backup-ssh",
    "forward",
    "accept",
    "deny",
    "drop",
    "reject",
    "with",
    "branch",
    "continue",
    "return",
    "antispoof",
    "from",
    "to",
    "not",
    "on",
    "in",
    "out",
    "days",
    "time",
    "log",
    "stateless",
    "limit",
    "connlimit",
    "burst",
    "per",
    "source",
    "log-limit",
    "prefix",
    "disabled",
    "entry",
    "mark",
    "marked",
    "tcp-flags",
    "comment",
    "tcp",
    "udp",
    "icmp",
    "icmpv6",
    "proto",
    "any",
    "self",
    "sport",
    "dport",
    "uid",
    "gid",
    "dynamic",
    "loopback",
    "management",
    "guest",
    "border",
    "port",
    "arp-guard",
];

/// Serve one editor on stdin/stdout until it asks to exit.
pub fn run() -> anyhow::Result<()> {
    let (connection, threads) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        definition_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions::default()),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    };
    connection.initialize(serde_json::to_value(capabilities)?)?;
    serve(&connection)?;
    drop(connection);
    threads.join()?;
    Ok(())
}

/// The open documents: URI → current text.
type Documents = BTreeMap<String, String>;

fn serve(connection: &Connection) -> anyhow::Result<()> {
    let mut docs = Documents::new();
    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let response = answer(&docs, req);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(n) => {
                if let Some(uri) = update(&mut docs, n)? {
                    let params = diagnostics(&docs, &uri)?;
                    connection.sender.send(Message::Notification(Notification::new(
                        PublishDiagnostics::METHOD.to_owned(),
                        params,
                    )))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// Apply a document notification; the URI whose diagnostics changed.
fn update(docs: &mut Documents, n: Notification) -> anyhow::Result<Option<Uri>> {
    Ok(match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
            docs.insert(p.text_document.uri.as_str().to_owned(), p.text_document.text);
            Some(p.text_document.uri)
        }
        DidChangeTextDocument::METHOD => {
            let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
            // Full sync: the last change holds the whole text.
            let text = p.content_changes.into_iter().last().map(|c| c.text);
            if let Some(text) = text {
                docs.insert(p.text_document.uri.as_str().to_owned(), text);
            }
            Some(p.text_document.uri)
        }
        DidCloseTextDocument::METHOD => {
            let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
            docs.remove(p.text_document.uri.as_str());
            None
        }
        _ => None,
    })
}

/// One document analysed: its text is file 0 of `sources`.
struct Analysis {
    sources: Sources,
    loaded: rampart_model::Loaded,
    index: Index,
}

const DOCUMENT: FileId = FileId(0);

fn analyse(docs: &Documents, uri: &Uri) -> anyhow::Result<Analysis> {
    let text = docs.get(uri.as_str()).with_context(|| format!("{} is not open", uri.as_str()))?;
    let mut sources = Sources::new();
    let loaded = rampart_model::load_text(&path_of(uri), text, &mut sources);
    let index = Index::build(&sources);
    Ok(Analysis { sources, loaded, index })
}

fn path_of(uri: &Uri) -> PathBuf {
    let path = uri.path().as_estr().decode().into_string_lossy().into_owned();
    PathBuf::from(path)
}

fn uri_of(analysis: &Analysis, uri: &Uri, file: FileId) -> Option<Uri> {
    if file == DOCUMENT {
        return Some(uri.clone());
    }
    let path = std::path::absolute(analysis.sources.name(file)).ok()?;
    format!("file://{}", path.display()).parse().ok()
}

/// The diagnostics of `check` on the document's own text.
fn diagnostics(docs: &Documents, uri: &Uri) -> anyhow::Result<serde_json::Value> {
    let a = analyse(docs, uri)?;
    let text = a.sources.text(DOCUMENT);
    let items = a
        .loaded
        .diagnostics
        .iter()
        .filter_map(|d| {
            let label = d.labels.first()?;
            (label.span.file == DOCUMENT).then(|| lsp_types::Diagnostic {
                range: range(text, label.span),
                severity: Some(if d.is_error() {
                    DiagnosticSeverity::ERROR
                } else {
                    DiagnosticSeverity::WARNING
                }),
                code: Some(NumberOrString::String(d.code.to_owned())),
                source: Some("rampart".to_owned()),
                message: match &d.help {
                    Some(help) => format!("{}: {}\nhelp: {help}", d.message, label.message),
                    None => format!("{}: {}", d.message, label.message),
                },
                ..lsp_types::Diagnostic::default()
            })
        })
        .collect();
    Ok(serde_json::to_value(PublishDiagnosticsParams::new(uri.clone(), items, None))?)
}

fn answer(docs: &Documents, req: Request) -> Response {
    let id = req.id.clone();
    match respond(docs, req) {
        Ok(value) => Response::new_ok(id, value),
        Err(e) => {
            Response::new_err(id, lsp_server::ErrorCode::RequestFailed as i32, format!("{e:#}"))
        }
    }
}

fn respond(docs: &Documents, req: Request) -> anyhow::Result<serde_json::Value> {
    Ok(match req.method.as_str() {
        GotoDefinition::METHOD => {
            let p: lsp_types::GotoDefinitionParams = serde_json::from_value(req.params)?;
            serde_json::to_value(definition(docs, &p.text_document_position_params)?)?
        }
        HoverRequest::METHOD => {
            let p: lsp_types::HoverParams = serde_json::from_value(req.params)?;
            serde_json::to_value(hover(docs, &p.text_document_position_params)?)?
        }
        Completion::METHOD => {
            let p: lsp_types::CompletionParams = serde_json::from_value(req.params)?;
            serde_json::to_value(completion(docs, &p.text_document_position.text_document.uri)?)?
        }
        DocumentSymbolRequest::METHOD => {
            let p: lsp_types::DocumentSymbolParams = serde_json::from_value(req.params)?;
            serde_json::to_value(symbols(docs, &p.text_document.uri)?)?
        }
        other => anyhow::bail!("rampart lsp does not answer `{other}`"),
    })
}

/// The definitions of the word under the cursor, and the firewall it is in.
fn lookup<'a>(a: &'a Analysis, at: &TextDocumentPositionParams) -> Vec<&'a Def> {
    let text = a.sources.text(DOCUMENT);
    let at = offset(text, at.position);
    let Some(word) = word_at(text, at) else { return Vec::new() };
    let firewall = index::firewall_at(&a.index, DOCUMENT, u32::try_from(at).unwrap_or(u32::MAX));
    a.index.find(word, firewall)
}

fn definition(
    docs: &Documents,
    at: &TextDocumentPositionParams,
) -> anyhow::Result<Option<GotoDefinitionResponse>> {
    let uri = &at.text_document.uri;
    let a = analyse(docs, uri)?;
    let Some(def) = lookup(&a, at).into_iter().next() else { return Ok(None) };
    let Some(target) = uri_of(&a, uri, def.span.file) else { return Ok(None) };
    let range = range(a.sources.text(def.span.file), def.span);
    Ok(Some(GotoDefinitionResponse::Scalar(Location::new(target, range))))
}

fn hover(docs: &Documents, at: &TextDocumentPositionParams) -> anyhow::Result<Option<Hover>> {
    let a = analyse(docs, &at.text_document.uri)?;
    let Some(def) = lookup(&a, at).into_iter().next() else { return Ok(None) };
    let mut text = format!("**{}** `{}`", def.kind, def.name);
    if let Some(fw) = &def.firewall {
        text.push_str(&format!(" of firewall `{fw}`"));
    }
    let stands_for = match def.kind {
        "host" | "network" | "range" | "group" | "firewall" => a.index.addresses(&def.name),
        _ => def.value.clone(),
    };
    if !stands_for.is_empty() {
        text.push_str(&format!("\n\n{}", stands_for.join(", ")));
    }
    let used: Vec<String> = a
        .index
        .used_by
        .get(&def.name)
        .into_iter()
        .flatten()
        .filter(|r| def.firewall.as_ref().is_none_or(|fw| *fw == r.firewall))
        .map(|r| format!("{} (firewall {})", r.number, r.firewall))
        .collect();
    text.push_str(&match used.as_slice() {
        [] => "\n\nused by no rule".to_owned(),
        _ => format!("\n\nused by rules {}", used.join(", ")),
    });
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
        range: None,
    }))
}

fn completion(docs: &Documents, uri: &Uri) -> anyhow::Result<Vec<CompletionItem>> {
    let a = analyse(docs, uri)?;
    let mut items: BTreeMap<String, CompletionItem> = BTreeMap::new();
    for def in &a.index.defs {
        items.entry(def.name.clone()).or_insert_with(|| CompletionItem {
            label: def.name.clone(),
            kind: Some(CompletionItemKind::VARIABLE),
            detail: Some(def.kind.to_owned()),
            ..CompletionItem::default()
        });
    }
    for kw in KEYWORDS {
        items.entry((*kw).to_owned()).or_insert_with(|| CompletionItem {
            label: (*kw).to_owned(),
            kind: Some(CompletionItemKind::KEYWORD),
            ..CompletionItem::default()
        });
    }
    Ok(items.into_values().collect())
}

/// The document's firewalls (with their rule sets and interfaces) and
/// objects.
fn symbols(docs: &Documents, uri: &Uri) -> anyhow::Result<Vec<DocumentSymbol>> {
    let a = analyse(docs, uri)?;
    let text = a.sources.text(DOCUMENT);
    let symbol = |d: &Def, children: Option<Vec<DocumentSymbol>>| {
        let kind = match d.kind {
            "firewall" => SymbolKind::MODULE,
            "rule set" => SymbolKind::FUNCTION,
            "interface" => SymbolKind::FIELD,
            "service" => SymbolKind::ENUM_MEMBER,
            "user" => SymbolKind::OBJECT,
            _ => SymbolKind::VARIABLE,
        };
        #[allow(deprecated)] // `deprecated` is a field every literal must name
        DocumentSymbol {
            name: d.name.clone(),
            detail: Some(d.kind.to_owned()),
            kind,
            tags: None,
            deprecated: None,
            range: range(text, d.span),
            selection_range: range(text, d.span),
            children,
        }
    };
    let mine: Vec<&Def> = a.index.defs.iter().filter(|d| d.span.file == DOCUMENT).collect();
    Ok(mine
        .iter()
        .filter(|d| d.firewall.is_none())
        .map(|d| {
            let children: Vec<DocumentSymbol> = mine
                .iter()
                .filter(|c| d.kind == "firewall" && c.firewall.as_deref() == Some(d.name.as_str()))
                .map(|c| symbol(c, None))
                .collect();
            symbol(d, (!children.is_empty()).then_some(children))
        })
        .collect())
}
