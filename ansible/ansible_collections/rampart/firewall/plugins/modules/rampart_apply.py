#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Rampart developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rampart_apply
short_description: Load a Rampart firewall on the managed host, on trial
description:
  - Runs C(rampart apply --dry-run) on the managed host first. When the loaded
    rules already equal the new ones, nothing is loaded and the task is unchanged.
  - Otherwise runs C(rampart apply) with a try window. Before loading, Rampart
    traces the SSH connection Ansible uses through the new rules and refuses
    rules that would cut it.
  - A try must be confirmed from a NEW connection with M(rampart.firewall.rampart_confirm)
    after C(meta reset_connection), or the host restores its previous rules by
    itself. The role C(rampart.firewall.apply) does the three steps.
  - Check mode runs only the dry run and reports the diff.
options:
  policy:
    description: Policy file on the managed host.
    type: path
  compiled:
    description: Bundle made by C(rampart compile --target bundle), on the managed host.
    type: path
  firewall:
    description: The policy's firewall to load (needed when the policy has several).
    type: str
  backend:
    description: How the rules reach the kernel.
    type: str
    choices: [iptables, nft]
    default: iptables
  try_seconds:
    description: Seconds to wait for a confirmation before rolling back; 0 loads for good.
    type: int
    default: 60
  force:
    description: Load even if the rules would cut the management connection.
    type: bool
    default: false
  mgmt:
    description: The management connection to protect, as ADMIN_ADDR:SSH_PORT (default, the one Ansible uses).
    type: str
extends_documentation_fragment:
  - rampart.firewall.common
"""

EXAMPLES = r"""
- name: Load the gateway's firewall on trial
  rampart.firewall.rampart_apply:
    policy: /etc/rampart/site.rp
    firewall: gw1
    try_seconds: 60
"""

RETURN = r"""
changes:
  description: What changed (or would change), chain by chain, as C(rampart apply --dry-run --json) prints it.
  type: list
  elements: dict
  returned: always
guard:
  description: The lock-out guard's verdict on the management connection (keeps, cuts, unchecked).
  type: dict
  returned: always
version:
  description: Version of the loaded ruleset.
  type: str
  returned: when loaded
pending_deadline:
  description: Unix time when the try rolls back unless confirmed; null when loaded for good.
  type: int
  returned: when loaded
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.firewall.plugins.module_utils.rampart import (
    COMMON_ARGS,
    render,
    run,
    state_args,
)


def main():
    spec = dict(
        policy=dict(type="path"),
        compiled=dict(type="path"),
        firewall=dict(type="str"),
        backend=dict(type="str", choices=["iptables", "nft"], default="iptables"),
        try_seconds=dict(type="int", default=60),
        force=dict(type="bool", default=False),
        mgmt=dict(type="str"),
    )
    spec.update(COMMON_ARGS)
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[("policy", "compiled")],
        required_one_of=[("policy", "compiled")],
        supports_check_mode=True,
    )
    p = module.params
    args = ["apply"]
    args += [p["policy"]] if p["policy"] else ["--compiled", p["compiled"]]
    args += ["--backend", p["backend"], "--json"] + state_args(module)
    if p["firewall"]:
        args += ["--firewall", p["firewall"]]
    if p["mgmt"]:
        args += ["--mgmt", p["mgmt"]]
    if p["force"]:
        args.append("--force")

    rc, preview, err = run(module, args + ["--dry-run"])
    if preview is None:
        module.fail_json(msg=err or "rampart apply --dry-run failed", rc=rc)
    guard = preview.get("guard") or {}
    cuts = guard.get("verdict") == "cuts"
    if cuts and not p["force"]:
        module.fail_json(
            msg="the new rules would cut the management connection: %s would get %s, decided by %s"
            % (guard.get("packet"), guard.get("gets"), guard.get("decided_by")),
            rc=rc,
            guard=guard,
        )
    # The dry run exits 1 when the guard would refuse; --force loads anyway.
    if rc != 0 and not cuts:
        module.fail_json(msg=err or "rampart apply --dry-run failed", rc=rc, result=preview)
    changes = preview.get("changes") or []
    diff = dict(prepared=render(changes))
    if module.check_mode or not changes:
        module.exit_json(changed=bool(changes), changes=changes, guard=guard, diff=diff)

    rc, applied, err = run(module, args + ["--try", str(p["try_seconds"])])
    if rc != 0 or applied is None:
        module.fail_json(msg=err or "rampart apply failed", rc=rc, result=applied)
    module.exit_json(
        changed=True,
        changes=changes,
        guard=guard,
        version=applied.get("version"),
        pending_deadline=applied.get("pending_deadline"),
        diff=diff,
    )

if __name__ == "__main__":
    main()
