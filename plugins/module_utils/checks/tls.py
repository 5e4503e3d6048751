# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 6, SSL/TLS Certificates: the live TLS endpoint."""

from __future__ import annotations
