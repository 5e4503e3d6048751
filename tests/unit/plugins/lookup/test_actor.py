"""lookup('aragora.ops.actor'): the rollback and restore roles' one rule for who runs them, over real variables
rendered by Ansible's own templar (as the roles' `awx_user_name | default(tower_user_name) | default('')` did)."""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.aragora.ops.plugins.lookup.actor import LookupModule


def actor(variables, *terms):
    loader = DataLoader()
    templar = Templar(loader=loader, variables=variables)
    return LookupModule(loader=loader, templar=templar).run(list(terms), variables=variables)


@pytest.mark.parametrize("variables, terms, expected", [
    ({}, (), [""]),
    ({"awx_user_name": "alice", "tower_user_name": "alice"}, (), ["alice"]),
    ({"tower_user_name": "bob"}, (), ["bob"]),
    ({"awx_user_name": "", "tower_user_name": "bob"}, (), [""]),
    ({"awx_user_name": "alice"}, ("carol",), ["carol"]),
    ({"awx_user_name": "alice"}, ("",), ["alice"]),
])
def test_the_given_name_else_the_awx_user_else_empty(variables, terms, expected):
    assert actor(variables, *terms) == expected


def test_a_variable_that_is_a_template_is_rendered():
    # As a play's vars are: trusted templates (Ansible renders no other string).
    assert actor({"awx_user_name": trust_as_template("{{ launcher }}"), "launcher": "dave"}) == ["dave"]
