# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One judge of secret-bearing values: a value copied from an example is a placeholder (FAIL); a value that does
not have the known shape of its kind (prefix, length, alphabet) is suspect (WARN). Used by every check that reads
a secret: the provider keys, the JWT secret, the API and metrics tokens, the encryption key, the OAuth client
secret, SUPABASE_KEY and the key inside SENTRY_DSN. Never returns or logs the value itself.

The shapes are those the providers issue today (docs/aragora-2.11.1.md, "Secrets"); the checklist's own examples
(``sk-ant-xxx``, ``sk-xxx``, ``sk-or-xxx``, ``AIzaSy...``, ``xai-xxx``, ``xxx``) are placeholders.
"""

from __future__ import annotations

import dataclasses
import re

# Words and marks that betray a copied example rather than an issued secret. Long enough that a random token hits
# one by chance less than once in 20,000 ('xxx' alone would be once in 530: it counts only as the whole remainder).
_PLACEHOLDER_WORDS = re.compile(
    r"change[-_ ]?me|changeme|change[-_]this|example|placeholder|replace|your[-_]|secret|password|xxxx|todo|<|>"
    r"|\.\.\.|\*\*\*", re.I)
# A remainder made only of filler: 'xxx', 'XXXX', '...', '***', '000'.
_FILLER = re.compile(r"[xX.*0_-]*")


@dataclasses.dataclass(frozen=True)
class SecretShape:
    """The shape a kind of secret has when issued: a prefix, a minimum length and an alphabet."""

    what: str  # "an Anthropic API key"
    prefixes: tuple[str, ...] = ()
    min_length: int = 16
    alphabet: str = r"A-Za-z0-9_\-"  # a regular-expression character class body

    def problem(self, value: str) -> str | None:
        """Why ``value`` does not look like one (WARN), or None."""
        if self.prefixes and not value.startswith(self.prefixes):
            return "does not start with %s as %s does" % (" or ".join(self.prefixes), self.what)
        if len(value) < self.min_length:
            return "is %d characters long; %s has at least %d" % (len(value), self.what, self.min_length)
        if not re.fullmatch("[%s]+" % self.alphabet, value):
            return "holds characters %s never contains" % self.what
        return None


# Provider keys (the variables Aragora 2.11.1 reads) and the other secret-bearing settings.
SHAPES: dict[str, SecretShape] = {
    "ANTHROPIC_API_KEY": SecretShape("an Anthropic API key", ("sk-ant-",), 40),
    "OPENAI_API_KEY": SecretShape("an OpenAI API key", ("sk-",), 40),
    "OPENROUTER_API_KEY": SecretShape("an OpenRouter API key", ("sk-or-",), 40),
    "MISTRAL_API_KEY": SecretShape("a Mistral API key", (), 32, "A-Za-z0-9"),
    "GEMINI_API_KEY": SecretShape("a Google AI (Gemini) API key", ("AIza",), 39),
    "XAI_API_KEY": SecretShape("an xAI API key", ("xai-",), 40),
    "ARAGORA_API_TOKEN": SecretShape("a generated API token", (), 32),
    "ARAGORA_METRICS_TOKEN": SecretShape("a generated metrics token", (), 32),
    "ARAGORA_ENCRYPTION_KEY": SecretShape("Aragora's encryption key (64 hex characters)", (), 64, "0-9a-fA-F"),
    "GOOGLE_OAUTH_CLIENT_SECRET": SecretShape("a Google OAuth client secret", (), 24),
    # A JWT (eyJ...) or a new-style sb_secret_/sb_publishable_ key.
    "SUPABASE_KEY": SecretShape("a Supabase API key", ("eyJ", "sb_secret_", "sb_publishable_"), 40,
                                r"A-Za-z0-9_\-."),
}


def placeholder(value: str, prefixes: tuple[str, ...] = ()) -> str | None:
    """Why ``value`` is an example rather than a secret ('the checklist's example sk-ant-xxx'), or None."""
    rest = value
    for prefix in sorted(prefixes, key=len, reverse=True):
        if value.startswith(prefix):
            rest = value[len(prefix):]
            break
    # sk-ant-xxx, sk-or-xxx, xai-xxx, xxx, AIzaSy...: a known prefix (or none) followed by filler only.
    if _FILLER.fullmatch(rest) or _FILLER.fullmatch(value):
        return "filler after the prefix, like the checklist's examples (sk-ant-xxx, sk-or-xxx, xxx)"
    match = _PLACEHOLDER_WORDS.search(rest)  # after the prefix: sb_secret_ is a real Supabase prefix
    if match:
        return "contains %r, the mark of a copied example" % match.group(0)
    return None


def reserved_example_host(host: str) -> bool:
    """example.com/.net/.org and the .example and .invalid names (RFC 2606): nothing real is ever there."""
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain)
               for domain in ("example.com", "example.net", "example.org", "example", "invalid"))


def judge(name: str, value: str) -> tuple[str, str] | None:
    """('placeholder' | 'shape', why) for the setting ``name`` holding ``value``; None when it looks issued."""
    shape = SHAPES.get(name)
    reason = placeholder(value, shape.prefixes if shape else ())
    if reason:
        return "placeholder", "%s is a placeholder: %s" % (name, reason)
    problem = shape.problem(value) if shape else None
    if problem:
        return "shape", "%s %s" % (name, problem)
    return None
