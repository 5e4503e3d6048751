"""roles/*/meta/argument_specs.yml and roles/*/defaults/main.yml are what scripts/gen_role_specs.py makes from
scripts/role_vocabulary.yml, and the vocabulary says each thing once."""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.support.playbook import ROOT

from scripts import gen_role_specs, generated


VOCABULARY = gen_role_specs.load()


@pytest.fixture(name="vocabulary")
def vocabulary_fixture() -> dict:
    return copy.deepcopy(VOCABULARY)


def spec_path(role: str) -> str:
    return os.path.join("roles", role, "meta", "argument_specs.yml")


def defaults_path(role: str) -> str:
    return os.path.join("roles", role, "defaults", "main.yml")


def test_generated_role_files_are_what_make_role_specs_writes():
    differ = generated.stale(gen_role_specs.documents())
    assert not differ, "%s differ from scripts/role_vocabulary.yml: run `make role-specs`" % ", ".join(differ)


def test_every_role_of_the_collection_is_generated():
    roles = sorted(name for name in os.listdir(os.path.join(ROOT, "roles"))
                   if os.path.isdir(os.path.join(ROOT, "roles", name, "tasks")))
    files = gen_role_specs.documents()
    assert [role for role in roles if spec_path(role) not in files or defaults_path(role) not in files] == []


def test_a_shared_description_changes_every_role_that_takes_it_and_no_other(vocabulary):
    vocabulary["shared"]["aragora_validate_certs"]["description"] = "Something else entirely."
    takers = sorted(role for role, data in vocabulary["roles"].items()
                    if "description" not in data["variables"].get("aragora_validate_certs", {"description": "absent"}))
    assert len(takers) > 1
    documents = gen_role_specs.documents(vocabulary)
    assert sorted(generated.stale(documents)) == sorted(spec_path(role) for role in takers)
    for role in takers:
        specs = yaml.safe_load(documents[spec_path(role)])["argument_specs"]
        for entry in specs.values():
            if "aragora_validate_certs" in entry["options"]:
                assert entry["options"]["aragora_validate_certs"]["description"] == "Something else entirely."


def test_a_shared_default_changes_the_specs_and_the_defaults_of_its_roles(vocabulary):
    vocabulary["shared"]["aragora_k8s_namespace"]["default"] = "elsewhere"
    documents = gen_role_specs.documents(vocabulary)
    for role, data in vocabulary["roles"].items():
        if "aragora_k8s_namespace" in data["variables"]:
            assert yaml.safe_load(documents[defaults_path(role)])["aragora_k8s_namespace"] == "elsewhere"
            options = yaml.safe_load(documents[spec_path(role)])["argument_specs"]["main"]["options"]
            assert options["aragora_k8s_namespace"]["default"] == "elsewhere"


def test_a_role_keeps_its_own_default_over_the_shared_one(vocabulary):
    assert vocabulary["roles"]["prelaunch"]["variables"]["aragora_backup_dir"]["default"] == ""
    assert vocabulary["shared"]["aragora_backup_dir"]["default"] == "/var/backups/aragora"
    defaults = yaml.safe_load(gen_role_specs.documents(vocabulary)[defaults_path("prelaunch")])
    assert defaults["aragora_backup_dir"] == ""


def test_a_role_drops_a_shared_key_with_null(vocabulary):
    vocabulary["shared"]["aragora_timeout"]["no_log"] = True
    vocabulary["roles"]["golive"]["variables"]["aragora_timeout"]["no_log"] = None
    documents = gen_role_specs.documents(vocabulary)
    golive = yaml.safe_load(documents[spec_path("golive")])["argument_specs"]["main"]["options"]["aragora_timeout"]
    prelaunch = yaml.safe_load(documents[spec_path("prelaunch")])["argument_specs"]["main"]["options"]
    assert "no_log" not in golive
    assert prelaunch["aragora_timeout"]["no_log"] is True


def test_the_defaults_file_carries_the_comment_above_its_variable(vocabulary):
    vocabulary["roles"]["health_gate"]["variables"]["health_gate_timeout"]["comment"] = "Why this wait is this long."
    text = gen_role_specs.documents(vocabulary)[defaults_path("health_gate")]
    assert "\n# Why this wait is this long.\nhealth_gate_timeout: 120\n" in text


def test_every_role_default_passes_its_own_argument_spec():
    documents = gen_role_specs.documents()
    for path, text in documents.items():
        if not path.endswith("argument_specs.yml"):
            continue
        defaults = yaml.safe_load(documents[path.replace(os.path.join("meta", "argument_specs.yml"),
                                                         os.path.join("defaults", "main.yml"))])
        for name, entry in yaml.safe_load(text)["argument_specs"].items():
            # Required options have no default: the caller gives them.
            optional = {option: spec for option, spec in entry["options"].items() if not spec.get("required")}
            validator = ArgumentSpecValidator(optional)
            given = {option: defaults[option] for option in optional}
            result = validator.validate(given, validate_role_argument_spec=True)
            assert result.error_messages == [], (path, name)


def test_a_variable_shared_by_one_role_only_is_refused(vocabulary):
    vocabulary["shared"]["aragora_lonely"] = {"description": "x", "type": "str", "default": ""}
    vocabulary["roles"]["prelaunch"]["variables"]["aragora_lonely"] = None
    with pytest.raises(gen_role_specs.VocabularyError, match="shared.aragora_lonely: taken by prelaunch only"):
        gen_role_specs.documents(vocabulary)


def test_a_role_repeating_the_shared_declaration_is_refused(vocabulary):
    vocabulary["roles"]["golive"]["variables"]["aragora_validate_certs"] = {
        "type": vocabulary["shared"]["aragora_validate_certs"]["type"]}
    with pytest.raises(gen_role_specs.VocabularyError,
                       match=r"roles.golive.variables.aragora_validate_certs: type the same as in `shared`"):
        gen_role_specs.documents(vocabulary)


def test_a_required_variable_is_left_out_of_the_defaults_and_a_null_default_out_of_the_spec(vocabulary):
    variables = vocabulary["roles"]["health_gate"]["variables"]
    variables["health_gate_kind"] = {"description": "What.", "type": "str", "required": True}
    variables["health_gate_before"] = {"description": "Before.", "type": "raw", "default": None}
    documents = gen_role_specs.documents(vocabulary)
    options = yaml.safe_load(documents[spec_path("health_gate")])["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load(documents[defaults_path("health_gate")])
    assert options["health_gate_kind"] == {"description": "What.", "type": "str", "required": True}
    assert options["health_gate_before"] == {"description": "Before.", "type": "raw"}
    assert "health_gate_kind" not in defaults
    assert "health_gate_before" in defaults and defaults["health_gate_before"] is None


@pytest.mark.parametrize("declaration, message", [
    ({"type": "str", "default": ""}, "no description"),
    ({"description": "x", "type": "int", "default": "10"}, "default '10' is not of type int"),
    ({"description": "x", "type": "int", "default": True}, "default True is not of type int"),
    ({"description": "x", "type": "string", "default": ""}, "type string is not one of"),
    ({"description": "x", "type": "str", "default": "c", "choices": ["a", "b"]}, r"default \['c'\] is not among"),
    ({"description": "x", "type": "list", "elements": "str", "default": ["a", "z"], "choices": ["a"]},
     r"default \['z'\] is not among"),
    ({"description": "x", "type": "str", "default": "", "requried": True}, r"unknown key\(s\) requried"),
    ({"description": "x", "type": "str"}, r"no default \(null for none\) and not required"),
    ({"description": "x", "type": "str", "required": True, "default": "a"}, "required, and a default of 'a'"),
])
def test_a_role_variable_the_argument_spec_cannot_hold_is_refused(vocabulary, declaration, message):
    vocabulary["roles"]["health_gate"]["variables"]["health_gate_new"] = declaration
    with pytest.raises(gen_role_specs.VocabularyError, match="roles.health_gate.variables.health_gate_new: " + message):
        gen_role_specs.documents(vocabulary)


def test_an_entry_point_naming_a_variable_the_role_lacks_is_refused(vocabulary):
    vocabulary["roles"]["golive"]["entry_points"]["watch"]["options"].append("aragora_no_such")
    with pytest.raises(gen_role_specs.VocabularyError, match="entry_points.watch: options aragora_no_such are no"):
        gen_role_specs.documents(vocabulary)


def test_a_role_missing_from_the_vocabulary_is_refused(vocabulary):
    del vocabulary["roles"]["health_gate"]
    with pytest.raises(gen_role_specs.VocabularyError, match="roles health_gate are not in the vocabulary"):
        gen_role_specs.documents(vocabulary)


@pytest.mark.parametrize("role", sorted(VOCABULARY["roles"]))
def test_adopting_a_role_from_its_generated_files_gives_back_its_entry(role):
    adopted = yaml.safe_load("roles:\n" + gen_role_specs.adopt(VOCABULARY, role))["roles"][role]
    entry = copy.deepcopy(VOCABULARY["roles"][role])
    for own in entry["variables"].values():
        if own.get("comment"):
            own["comment"] = " ".join(own["comment"].split())
    assert adopted == entry


def test_a_role_written_by_hand_is_adopted_with_its_shared_variables_by_difference(tmp_path, monkeypatch):
    role = tmp_path / "roles" / "newcomer"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": {
        "short_description": "A new role", "options": {
            "aragora_timeout": {"description": "Seconds for each network call.", "type": "int", "default": 10},
            "newcomer_kind": {"description": "What.", "type": "str", "required": True}}}}}))
    (role / "defaults" / "main.yml").write_text("---\n# How long each call may take.\naragora_timeout: 10\n")
    monkeypatch.setattr(gen_role_specs, "ROOT", str(tmp_path))
    adopted = yaml.safe_load("roles:\n" + gen_role_specs.adopt(VOCABULARY, "newcomer"))["roles"]["newcomer"]
    assert adopted == {"entry_points": {"main": {"short_description": "A new role"}}, "variables": {
        "aragora_timeout": {"comment": "How long each call may take.", "type": "int"},
        "newcomer_kind": {"description": "What.", "type": "str", "required": True}}}


def test_a_variable_two_roles_declare_in_full_is_refused(vocabulary):
    vocabulary["roles"]["health_gate"]["variables"]["inventory_guard_action"] = {
        "description": "x", "type": "str", "default": "act"}
    with pytest.raises(gen_role_specs.VocabularyError,
                       match="inventory_guard_action: declared by health_gate and inventory_guard; declare it once"):
        gen_role_specs.documents(vocabulary)


def test_adopting_every_role_into_the_vocabulary_leaves_the_file_as_it_is(tmp_path):
    copy_path = tmp_path / "role_vocabulary.yml"
    copy_path.write_text(open(gen_role_specs.VOCABULARY, encoding="utf-8").read())
    gen_role_specs.adopt_into_vocabulary(sorted(VOCABULARY["roles"]), str(copy_path))
    assert copy_path.read_text() == open(gen_role_specs.VOCABULARY, encoding="utf-8").read()


def test_adopting_a_role_whose_files_changed_rewrites_its_entry_only(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    for role in VOCABULARY["roles"]:
        for path in (spec_path(role), defaults_path(role)):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(open(os.path.join(ROOT, path), encoding="utf-8").read())
    defaults = root / defaults_path("health_gate")
    defaults.write_text(defaults.read_text().replace("health_gate_interval: 3", "health_gate_interval: 5"))
    copy_path = tmp_path / "role_vocabulary.yml"
    copy_path.write_text(open(gen_role_specs.VOCABULARY, encoding="utf-8").read())
    monkeypatch.setattr(gen_role_specs, "ROOT", str(root))
    gen_role_specs.adopt_into_vocabulary(["health_gate"], str(copy_path))
    adopted = gen_role_specs.load(str(copy_path))
    assert adopted["roles"]["health_gate"]["variables"]["health_gate_interval"]["default"] == 5
    adopted["roles"]["health_gate"]["variables"]["health_gate_interval"]["default"] = 3
    assert adopted == VOCABULARY


def test_a_branch_changing_generated_files_is_merged_into_the_vocabulary_by_difference(vocabulary):
    # What another branch did to health_gate's files: a new sentence, a changed default, a new variable.
    documents = gen_role_specs.documents(vocabulary)
    base = (yaml.safe_load(documents[spec_path("health_gate")])["argument_specs"],
            yaml.safe_load(documents[defaults_path("health_gate")]))
    theirs = copy.deepcopy(base)
    theirs[0]["main"]["description"].append("Its result is C(health_gate_result).")
    theirs[1]["health_gate_interval"] = 5
    theirs[0]["main"]["options"]["health_gate_interval"]["default"] = 5
    theirs[0]["main"]["options"]["aragora_timeout"] = {"description": "Seconds.", "type": "float", "default": 10}
    theirs[1]["aragora_timeout"] = 10
    gen_role_specs.merge_changes(vocabulary, "health_gate", base, theirs, {"aragora_timeout": "Why."})
    merged = yaml.safe_load(gen_role_specs.documents(vocabulary)[spec_path("health_gate")])["argument_specs"]["main"]
    assert merged["description"][-1] == "Its result is C(health_gate_result)."
    assert merged["options"]["health_gate_interval"]["default"] == 5
    # A shared variable is taken by what it says differently; the unchanged ones keep the vocabulary's wording.
    assert vocabulary["roles"]["health_gate"]["variables"]["aragora_timeout"] == {
        "comment": "Why.", "description": "Seconds."}
    assert merged["options"]["health_gate_timeout"] == base[0]["main"]["options"]["health_gate_timeout"]
