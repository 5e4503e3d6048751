"""The one secret scrubber (masking.scrub) and the spellings of a password it is given."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._clients.postgres_client import dsn_secrets
from ansible_collections.aragora.ops.plugins.module_utils._clients.masking import MASK, password_spellings, scrub


def test_every_secret_is_masked_the_longest_first_and_empty_ones_are_ignored():
    assert scrub("pw pw-long x", ["pw", "pw-long", "", None]) == "%s %s x" % (MASK, MASK)
    assert scrub("nothing here", []) == "nothing here"


def test_a_url_password_is_masked_as_written_and_decoded():
    assert password_spellings("p%40ss") == {"p%40ss", "p@ss"}
    assert password_spellings(None) == set() and password_spellings("") == set()
    assert dsn_secrets("postgresql://db/aragora") == set()  # the spellings of each DSN: test_database.py
