//! The model's errors and warnings as the user reads them: `file:line:col`,
//! the message, the underlined text with its label, and the help.

use rampart_diag::{Sources, render};
use rampart_model::load_str;

/// Load `text` as the file `policy.rp` and render what the model reports.
fn rendered(text: &str) -> String {
    let mut sources = Sources::new();
    let loaded = load_str("policy.rp", text, &mut sources);
    assert!(!loaded.diagnostics.is_empty(), "no diagnostics for {text:?}");
    render(&loaded.diagnostics, &sources, false)
}

#[test]
fn rule_set_loops_and_unused_rule_sets() {
    insta::assert_snapshot!(rendered(
        "\
firewall fw {
  interface eth0 10.0.0.1/24
  ruleset main {
    branch a
  }
  ruleset a {
    branch b
  }
  ruleset b {
    branch a
  }
  ruleset spare {
    accept
  }
}
"
    ));
}

#[test]
fn values_of_the_wrong_kind() {
    insta::assert_snapshot!(rendered(
        "\
host web 10.0.0.80
service http tcp 80
service pong icmp echo-answer
group mixed { web, http }
firewall fw {
  interface eth0 10.0.0.1/24
  ruleset main {
    accept to http service web
    accept from not any
    accept days mon-fry time 08:00-25:00
    accept limit 5/fortnight
    deny log-limit 1/sec
  }
}
"
    ));
}

#[test]
fn nat_rules_that_cannot_be_written() {
    insta::assert_snapshot!(rendered(
        "\
host web 10.0.0.80
service ping icmp echo-request
firewall fw {
  interface eth0 10.0.0.1/24
  interface lo loopback
  ruleset main {
    accept on lo
  }
  nat {
    masquerade from 10.0.0.0/24
    snat to 10.0.0.1 on lo
    dnat to web:8080 on eth0 service ping
    redirect-all to web
  }
}
"
    ));
}
