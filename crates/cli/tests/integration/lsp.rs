//! `rampart lsp` driven as an editor drives it: JSON-RPC over its stdin
//! and stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::util::tempdir;

struct Client {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: u64,
    /// Notifications received while waiting for a response.
    notifications: Vec<Value>,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run rampart lsp");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Client { child, input, output, next_id: 1, notifications: Vec::new() }
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.input.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(self.output.read_line(&mut line).unwrap() > 0, "the server closed its output");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.output.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.receive();
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.notifications.push(m);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics the server publishes.
    fn diagnostics(&mut self) -> Value {
        loop {
            if let Some(i) = self
                .notifications
                .iter()
                .position(|n| n["method"] == "textDocument/publishDiagnostics")
            {
                return self.notifications.remove(i)["params"]["diagnostics"].clone();
            }
            let m = self.receive();
            self.notifications.push(m);
        }
    }
}

const POLICY: &str = "include \"objects.rp\"
group servers { web, 10.9.0.0/16 }
service ssh tcp 22
firewall gw {
  interface eth0 dynamic
  ruleset main {
    accept to servers service ssh
    branch Admin
  }
  ruleset Admin {
    accept from web on eth0
    deny from blocklist
  }
}
set blocklist ipv4 timeout 1h
";

fn at(line: u32, character: u32, uri: &str) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

#[test]
fn the_language_server_answers_an_editor() {
    let dir = tempdir("lsp");
    std::fs::write(dir.join("objects.rp"), "host web 10.0.0.80, 2001:db8::80\n").unwrap();
    let path = dir.join("policy.rp");
    let uri = format!("file://{}", path.display());
    let objects_uri = format!("file://{}", dir.join("objects.rp").display());
    let mut c = Client::start();
    let init =
        c.request("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    assert_eq!(init["capabilities"]["hoverProvider"], true, "{init}");
    c.notify("initialized", json!({}));

    // An unsaved buffer with an error: the diagnostics of `check`.
    let broken = POLICY.replace("accept to servers", "accept to sevrers");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rampart", "version": 1, "text": broken}}),
    );
    let diags = c.diagnostics();
    assert_eq!(diags.as_array().unwrap().len(), 1, "{diags}");
    assert_eq!(diags[0]["code"], "E0201");
    assert_eq!(diags[0]["range"]["start"], json!({"line": 6, "character": 14}));
    // A direction mark: refused at its place, counted in UTF-16 units.
    let marked = POLICY.replace("ruleset main {", "ruleset main { # \u{202e}x");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": marked}]}),
    );
    let diags = c.diagnostics();
    assert_eq!(diags[0]["code"], "E0740", "{diags}");
    assert_eq!(diags[0]["range"]["start"], json!({"line": 5, "character": 19}));
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": POLICY}]}),
    );
    assert_eq!(c.diagnostics(), json!([]));

    // Go to definition: a group here, a host in the included file, a rule set.
    let def = c.request("textDocument/definition", at(6, 16, &uri));
    assert_eq!(def["uri"], uri.as_str());
    assert_eq!(def["range"]["start"], json!({"line": 1, "character": 6}));
    let def = c.request("textDocument/definition", at(10, 17, &uri));
    assert_eq!(def["uri"], objects_uri.as_str(), "{def}");
    assert_eq!(def["range"]["start"], json!({"line": 0, "character": 5}));
    let def = c.request("textDocument/definition", at(7, 12, &uri));
    assert_eq!(def["range"]["start"], json!({"line": 9, "character": 10}));
    let def = c.request("textDocument/definition", at(11, 16, &uri));
    assert_eq!(def["range"]["start"], json!({"line": 14, "character": 4}));

    // Hover: the group expanded, and the rules that use it.
    let hover = c.request("textDocument/hover", at(1, 8, &uri));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("**group** `servers`"), "{text}");
    assert!(text.contains("10.0.0.80, 2001:db8::80, 10.9.0.0/16"), "{text}");
    assert!(text.contains("used by rules 1 (firewall gw)"), "{text}");
    let hover = c.request("textDocument/hover", at(10, 17, &uri));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("used by rules 3 (firewall gw)"), "{text}");
    let hover = c.request("textDocument/hover", at(14, 6, &uri));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.starts_with("**set** `blocklist`"), "{text}");
    assert!(text.contains("ipv4 timeout 1h, filled at run time"), "{text}");
    assert!(text.contains("used by rules 4 (firewall gw)"), "{text}");

    // Completion: the names of the policy and its includes, and keywords.
    let items = c.request("textDocument/completion", at(10, 4, &uri));
    let labels: Vec<&str> =
        items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    for want in ["web", "servers", "ssh", "blocklist", "Admin", "eth0", "accept", "ruleset"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }

    // Document symbols: objects, and the firewall with its parts.
    let symbols = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let names: Vec<&str> =
        symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["servers", "ssh", "gw", "blocklist"]);
    let children: Vec<&str> = symbols[2]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["eth0", "main", "Admin"]);

    assert_eq!(c.request("shutdown", json!(null)), json!(null));
    c.notify("exit", json!(null));
    let status = c.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
