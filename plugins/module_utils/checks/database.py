# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 3, Database & Persistence: PostgreSQL as the application uses it, its backups and restore tests."""

from __future__ import annotations
