//! The emitted text of every fixture, reviewed as snapshots.

use crate::fixtures;

#[test]
fn every_fixture() {
    for (name, rs) in fixtures::all() {
        let out = rampart_nft::emit_with_notes(&rs);
        insta::assert_snapshot!(name, out.text);
        // Byte-identical for the same input.
        assert_eq!(out.text, rampart_nft::emit(&rs.clone()), "{name} is not deterministic");
    }
}

#[test]
fn notes_name_left_out_rules() {
    let out = rampart_nft::emit_with_notes(&fixtures::unsupported());
    let rules: Vec<Option<u32>> = out.notes.iter().map(|n| n.rule).collect();
    assert_eq!(rules, [Some(1), Some(2)]);
}
