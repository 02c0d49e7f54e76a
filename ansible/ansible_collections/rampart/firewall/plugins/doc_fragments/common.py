# -*- coding: utf-8 -*-
# Copyright: Rampart developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of module_utils/rampart.py's COMMON_ARGS.
    DOCUMENTATION = r"""
options:
  rampart:
    description: The rampart binary on the managed host.
    type: str
    default: rampart
  state_dir:
    description: Rampart's state directory on the managed host.
    type: path
"""
