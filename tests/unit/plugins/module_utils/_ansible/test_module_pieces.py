"""The probe modules' option pieces (module_args.PIECES) and their doc fragments: each piece is documented by its
fragment, option for option, and each module documents exactly the pieces its argument spec is made of."""

from __future__ import annotations

import ast
import importlib
import os
import typing as t

import pytest
import yaml

from ansible_collections.aragora.ops.plugins.module_utils._ansible import check_module, module_args
from ansible_collections.aragora.ops.plugins.module_utils._ansible.module_args import GROUP_PIECES, PIECES, pieces_of
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from tests.support.playbook import ROOT

PROBE_MODULES = ("readiness_check", "golive_check", "smoke_test", "database_check", "kubernetes_check", "redis_check",
                 "tls_check", "websocket_check")
# The fragments of the probe modules that document no piece.
COMMON_FRAGMENTS = {"ansible.builtin.action_common_attributes", "aragora.ops.python", "aragora.ops.read_only",
                    "aragora.ops.target.check_results"}


def fragment_doc(name: str) -> dict[str, t.Any]:
    """The YAML of a fragment of this collection, as extends_documentation_fragment names it."""
    parts = name.split(".")[2:]
    module = importlib.import_module("ansible_collections.aragora.ops.plugins.doc_fragments." + parts[0])
    return yaml.safe_load(getattr(module.ModuleDocFragment, parts[1].upper() if len(parts) > 1 else "DOCUMENTATION"))


def module_doc(name: str) -> dict[str, t.Any]:
    with open(os.path.join(ROOT, "plugins", "modules", name + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", "") == "DOCUMENTATION")
    return yaml.safe_load(text)


class SpecSeen(Exception):
    pass


def argument_spec_of(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, t.Any]]:
    """The argument spec the module really builds (its main() run until AnsibleModule is made)."""
    seen: dict[str, t.Any] = {}

    def capture(argument_spec, **_kwargs):
        seen.update(argument_spec)
        raise SpecSeen

    monkeypatch.setattr(check_module, "MaskedModule", capture)
    with pytest.raises(SpecSeen):
        importlib.import_module("ansible_collections.aragora.ops.plugins.modules." + name).main()
    return seen


@pytest.mark.parametrize("piece", sorted(PIECES))
def test_each_piece_is_documented_by_its_fragment_option_for_option(piece):
    spec = PIECES[piece].spec
    documented = fragment_doc(PIECES[piece].fragment)["options"]
    assert sorted(documented) == sorted(spec)
    for option, entry in spec.items():
        doc = documented[option]
        assert doc.get("type", "str") == entry.get("type", "str"), option
        assert doc.get("default") == entry.get("default"), option
        for key in ("elements", "choices", "aliases"):
            assert doc.get(key) == entry.get(key), (option, key)


def test_no_option_is_in_two_pieces_and_every_group_names_known_pieces():
    names = [option for piece in PIECES.values() for option in piece.spec]
    assert len(names) == len(set(names))
    assert set(GROUP_PIECES) == set(GROUPS)
    assert {piece for pieces in GROUP_PIECES.values() for piece in pieces} <= set(PIECES)
    assert set(module_args.SMOKE_PIECES) <= set(PIECES)


@pytest.mark.parametrize("name", PROBE_MODULES)
def test_each_probe_module_documents_exactly_the_pieces_of_its_argument_spec(name, monkeypatch):
    spec = argument_spec_of(name, monkeypatch)
    pieces = [piece for piece in PIECES if set(PIECES[piece].spec) & set(spec)]
    for piece in pieces:  # a piece is taken whole
        assert set(PIECES[piece].spec) <= set(spec), (name, piece)
    doc = module_doc(name)
    assert set(doc["extends_documentation_fragment"]) == COMMON_FRAGMENTS | {PIECES[p].fragment for p in pieces}
    own = set(spec) - {option for piece in pieces for option in PIECES[piece].spec}
    assert set(doc.get("options") or {}) == own, name


def test_readiness_and_golive_take_every_piece_and_the_presets_only_theirs(monkeypatch):
    every = set(module_args.TARGET_ARGUMENT_SPEC)
    assert every <= set(argument_spec_of("readiness_check", monkeypatch))
    assert every <= set(argument_spec_of("golive_check", monkeypatch))
    tls = argument_spec_of("tls_check", monkeypatch)
    assert "grafana_token" not in tls and "env_file" not in tls and "kubeconfig" not in tls
    assert {"api_url", "ca_path", "tls_server_name", "http_url", "thresholds", "timeout"} <= set(tls)
    assert set(tls) == set(module_args.compose(pieces_of(["tls"])))


def test_a_module_refuses_an_option_of_a_piece_it_does_not_take():
    """What AnsibleModule says to tls_check given grafana_token (the action plugin's path validates the same)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # pylint: disable=import-outside-toplevel

    validation = ArgumentSpecValidator(check_module.probe_argument_spec(["tls"])).validate(
        {"api_url": "https://api.example.com", "grafana_token": "x"})
    assert "grafana_token" in validation.errors.msg and validation.unsupported_parameters


def test_invalid_params_judges_only_the_options_a_module_was_given():
    assert module_args.invalid_params({"ws_url": "http://x"}) == "ws_url must start with ws:// or wss://, got 'http://x'"
    assert module_args.invalid_params({"timeout": 5.0}) is None  # tls_check's parameters hold no ws_url


@pytest.mark.parametrize("given", ["k8s_context", "kube_context"])
def test_the_kubeconfig_context_has_the_k8s_name_and_keeps_its_first_one(given, monkeypatch):
    """kube_context, the option's first name, is an alias of k8s_context: both reach the cluster's client."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # pylint: disable=import-outside-toplevel

    from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import (  # pylint: disable=import-outside-toplevel
        cluster_target,
    )
    from ansible_collections.aragora.ops.plugins.module_utils._engine.target import (  # pylint: disable=import-outside-toplevel
        TargetOptions,
    )

    monkeypatch.delenv("K8S_AUTH_CONTEXT", raising=False)
    validation = ArgumentSpecValidator(check_module.probe_argument_spec(None)).validate({given: "production"})
    assert not validation.error_messages
    target = cluster_target(TargetOptions.from_params(validation.validated_parameters))
    assert target is not None and target.context == "production"


# What a check reads besides ctx.options, and the option that gives it.
CONTEXT_READS = {r"ctx\.threshold\(": "thresholds", r"ctx\.(?:api|client)\b": "api_url", r"ctx\.config\b": "config",
                 r"ctx\.api_token\b": "api_token", r"ctx\.metrics_token\b": "metrics_token",
                 r"ctx\.http_url\b": "http_url", r"ctx\.expected_version\b": "expected_version"}


def options_read(module_name: str) -> set[str]:
    """The options the source of a check module reads: ``ctx.options.<name>`` and CONTEXT_READS."""
    import re  # pylint: disable=import-outside-toplevel

    with open(os.path.join(ROOT, "plugins", "module_utils", "_checks", module_name + ".py"), encoding="utf-8") as handle:
        source = handle.read()
    read = set(re.findall(r"ctx\.options\.([a-z0-9_]+)", source))
    return read | {option for pattern, option in CONTEXT_READS.items() if re.search(pattern, source)}


def test_each_group_takes_the_pieces_of_every_option_its_checks_read():
    """An option a group's checks read but its modules do not take would silently keep its default there: read
    from the source, every option a check module reads is in the pieces of that module's groups (the smoke
    test's, for its steps and the WebSocket probe they share)."""
    from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY  # pylint: disable=import-outside-toplevel

    pieces_of_module: dict[str, set[str]] = {}
    for spec in REGISTRY.values():
        pieces_of_module.setdefault(spec.func.__module__.rsplit(".", 1)[-1], set()).update(
            {"checks", *GROUP_PIECES[spec.group]})
    # k8s_cluster.py serves the Kubernetes checks (and the Deployment's environment as a configuration source, from the
    # same snapshot: there its cert-manager and monitoring lists keep their defaults, and no configuration check
    # reads them).
    pieces_of_module["k8s_cluster"] = {"checks", *GROUP_PIECES["ha"]}
    smoke_pieces = {"checks", *module_args.SMOKE_PIECES}
    owner = {option: name for name, piece in PIECES.items() for option in piece.spec}
    for name, taken in sorted(pieces_of_module.items()):
        assert {option for option in options_read(name) if owner[option] not in taken} == set(), name
    for name in ("smoke", "websocket"):
        assert {option for option in options_read(name) if owner[option] not in smoke_pieces} == set(), name
    assert "ws_url" in options_read("websocket") and "thresholds" in options_read("tls")  # the patterns still match
