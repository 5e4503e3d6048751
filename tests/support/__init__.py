# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers shared by the unit and integration tests (fault_server: a fault-injecting stand-in for Aragora)."""
