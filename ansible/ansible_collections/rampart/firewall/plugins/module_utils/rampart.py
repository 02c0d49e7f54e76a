# -*- coding: utf-8 -*-
# Copyright: Rampart developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Running rampart on the managed host: one place for the binary, the state
directory and reading its JSON."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

COMMON_ARGS = dict(
    rampart=dict(type="str", default="rampart"),
    state_dir=dict(type="path"),
)


def binary(module):
    """The rampart binary named by the `rampart` option; fails the task when
    the host has none."""
    name = module.params["rampart"]
    if os.path.isabs(name):
        if not os.access(name, os.X_OK):
            module.fail_json(msg="%s is not an executable file: install rampart there" % name)
        return name
    return module.get_bin_path(name, required=True)


def state_args(module):
    state_dir = module.params["state_dir"]
    return ["--state-dir", state_dir] if state_dir else []


def run(module, args):
    """Run rampart with `args`; returns (rc, parsed JSON or None, stderr)."""
    rc, out, err = module.run_command([binary(module)] + args)
    try:
        parsed = json.loads(out) if out.strip() else None
    except ValueError:
        module.fail_json(msg="rampart printed something that is not JSON", rc=rc, stdout=out, stderr=err)
    return rc, parsed, err.strip()


SIGNS = {"added": "+", "removed": "-", "moved": "~"}


def render(changes):
    """The changes of `rampart apply --dry-run --json`, chain by chain, as
    text for Ansible's --diff."""
    lines = []
    for chain in changes:
        name = chain["chain"]
        lines.append(name if " " in name else "chain %s" % name)
        for e in chain["edits"]:
            origin = ""
            if e.get("policy_rule") is not None:
                origin = "  (R%s%s)" % (e["policy_rule"], " " + e["at"] if e.get("at") else "")
            lines.append("  %s %s%s" % (SIGNS.get(e["change"], "?"), e["rule"], origin))
    return "\n".join(lines) + "\n" if lines else ""
