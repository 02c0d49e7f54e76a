#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Rampart developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rampart_confirm
short_description: Keep the rules of a Rampart try
description:
  - Runs C(rampart confirm) on the managed host. Run it after C(meta reset_connection),
    because only a NEW connection proves the new rules let the administrator back in.
  - When nothing waits for confirmation, checks that the loaded version is the
    one given; a try that already rolled back fails the task.
options:
  version:
    description: The version M(rampart.firewall.rampart_apply) loaded; the task fails when another one is loaded.
    type: str
extends_documentation_fragment:
  - rampart.firewall.common
"""

EXAMPLES = r"""
- rampart.firewall.rampart_confirm:
    version: "{{ applied.version }}"
"""

RETURN = r"""
version:
  description: The version loaded now.
  type: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rampart.firewall.plugins.module_utils.rampart import (
    COMMON_ARGS,
    run,
    state_args,
)

# `rampart confirm` exits 2 when no try waits for confirmation.
NOTHING_WAITS = 2


def main():
    spec = dict(version=dict(type="str"))
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    confirmed = False
    if not module.check_mode:
        rc, _, err = run(module, ["confirm"] + state_args(module))
        if rc not in (0, NOTHING_WAITS):
            module.fail_json(msg=err or "rampart confirm failed", rc=rc)
        confirmed = rc == 0
    # Exit status 1 only says the rules drifted; the JSON says which version is loaded.
    rc, status, err = run(module, ["status", "--json"] + state_args(module))
    if rc not in (0, 1) or status is None:
        module.fail_json(msg=err or "rampart status failed", rc=rc)
    loaded = (status.get("applied") or {}).get("version")
    wanted = module.params["version"]
    if wanted and loaded != wanted:
        module.fail_json(
            msg="version %s is loaded, not %s: the try was rolled back before it was confirmed" % (loaded, wanted),
            version=loaded,
        )
    module.exit_json(changed=confirmed, version=loaded)


if __name__ == "__main__":
    main()
