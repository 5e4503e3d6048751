# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets kept out of every output, made one way for every client and check: the mask, the password inside a URL
or a libpq keyword DSN in each spelling a message may carry it in, and the one scrubber of texts. Standard library
only; no Ansible here."""

from __future__ import annotations

import re
import typing as t
import urllib.parse

MASK = "********"
_DSN_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def keyword_password(value: str) -> str | None:
    """The password of a libpq keyword DSN (host=db password=pw), if any."""
    found = _DSN_PASSWORD.search(value)
    return found.group(1).strip("'") if found else None


def url_password(value: str) -> str | None:
    """The password inside a URL such as redis://:pw@host or postgresql://user:pw@host/db, or inside a libpq
    keyword DSN (host=db password=pw), if any."""
    if "://" not in value and "=" in value:
        return keyword_password(value)
    try:
        return urllib.parse.urlsplit(value).password
    except ValueError:
        return None


def password_spellings(password: str | None) -> set[str]:
    """A password from a URL in every spelling a message may carry it in: as written and URL-decoded."""
    return {password, urllib.parse.unquote(password)} if password else set()


def scrub(text: str, secrets: t.Iterable[str | None]) -> str:
    """``text`` with every secret in it masked; the longest first, so a secret inside another leaves no part."""
    for secret in sorted((secret for secret in secrets if secret), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_url(value: str) -> str:
    """The URL with its password replaced, for evidence: postgresql://aragora:********@db:5432/aragora."""
    password = url_password(value)
    if password and "://" not in value:
        return value.replace(password, MASK)
    return value.replace(":" + password + "@", ":" + MASK + "@", 1) if password else value
