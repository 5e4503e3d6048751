# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HS256 JWT of Aragora's access-token shape, signed with the server's ARAGORA_JWT_SECRET.

Aragora 2.11.1 signs its own tokens this way (billing/auth/tokens.py); HS256 is an HMAC over two base64url JSON
parts (RFC 7519), so the standard library suffices and the controller needs no JWT package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import typing as t


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token(secret: str, subject: str, email: str, role: str = "member", ttl_seconds: int = 900,
                 now: float | None = None, extra: t.Mapping[str, t.Any] | None = None) -> str:
    """A short-lived access token for ``subject`` with ``role`` (Aragora's claims: sub, email, org_id, role, iat,
    exp, type, tv)."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "email": email, "org_id": None, "role": role, "iat": issued,
              "exp": issued + int(ttl_seconds), "type": "access", "tv": 1, **(extra or {})}
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode("utf-8"), ("%s.%s" % (header, payload)).encode("ascii"), hashlib.sha256)
    return "%s.%s.%s" % (header, payload, _b64url(signature.digest()))
