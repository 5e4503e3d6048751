"""AWX's "Limit" and "Job Tags" (--limit, --tags) never give a green run without a verdict: the report runs in the
targets' play (a limit narrows it), a limit that leaves no target fails saying so, a tag per checklist section
selects those checks and the report still runs, and a run that checked nothing is NO-GO."""

from __future__ import annotations

import os

from tests.support.playbook import read_report, run_playbook, write_inventory


def sandbox_target(state: dict) -> dict:
    return {"aragora_api_url": state["urls"]["api"], "aragora_ca_path": state["paths"]["ca"],
            "aragora_env_file": state["paths"]["env_file"]}


def test_limit_narrows_the_report_to_the_hosts_left(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": sandbox_target(sandbox_state), "unreachable": {"aragora_api_url": "https://127.0.0.1:9"}})
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--limit", "sandbox",
                       "--tags", "health", env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    report = read_report(str(tmp_path))
    assert run.returncode == 0 and list(report["targets"]) == ["sandbox"], run.stdout[-3000:]
    assert report["verdict"] == "GO" and "aragora_readiness_verdict" in run.stdout


def test_a_limit_that_leaves_no_target_fails_and_says_so(tmp_path, sandbox_state):
    inventory = str(tmp_path / "inventory.yml")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("all:\n  children:\n    aragora:\n      hosts:\n        sandbox: {ansible_connection: local}\n"
                     "    aragora_db:\n      hosts:\n        db-1: {ansible_connection: local}\n")
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--limit", "db-1")
    assert run.returncode != 0
    assert "no Aragora target is left to check" in run.stdout and "--limit db-1 leaves none" in run.stdout
    assert not os.path.exists(tmp_path / "readiness-report.json")


def test_tags_select_checklist_sections_and_the_report_still_runs(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": sandbox_target(sandbox_state)})
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--tags", "security,tls")
    report = read_report(str(tmp_path))
    assert {check["id"].split(".")[0] for check in report["checks"]} == {"security", "tls"}
    assert run.returncode == 0 and report["verdict"] == "GO", run.stdout[-3000:]
    assert "1. Security Configuration" in run.stdout  # the summary, printed as lines


def test_tags_that_select_no_check_are_no_go(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": sandbox_target(sandbox_state)})
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--tags", "no-such-tag")
    report = read_report(str(tmp_path))
    assert run.returncode != 0 and report["verdict"] == "NO-GO"
    (why,) = report["checks"]
    assert why["status"] == "FAIL" and "no check ran" in why["message"]


def test_a_tags_run_says_its_verdict_covers_only_those_sections(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": sandbox_target(sandbox_state)})
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--tags", "tls",
                       env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    report = read_report(str(tmp_path))
    assert run.returncode == 0 and report["verdict"] == "GO", run.stdout[-3000:]
    assert report["partial"] is True
    left_out = report["not_run"]["sandbox"]
    assert "tls" not in left_out["groups_not_run"] and {"health", "security", "database"} <= set(
        left_out["groups_not_run"])
    assert left_out["checks_not_run"] > len(report["checks"])
    assert "Partial run: not checked: health, websocket, security" in run.stdout
    assert "this verdict covers only the checks above" in run.stdout
    assert "aragora_readiness_partial: true" in run.stdout
    markdown = (tmp_path / "readiness-report.md").read_text(encoding="utf-8")
    assert "| Scope | **partial run, sandbox: not checked: health," in markdown
    assert "Partial run: not checked:" in (tmp_path / "readiness-report.html").read_text(encoding="utf-8")


def test_skipping_the_always_tag_is_refused_rather_than_ending_green_without_a_verdict(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": sandbox_target(sandbox_state)})
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--skip-tags", "always")
    assert run.returncode != 0
    assert "--skip-tags always skips every check and the report" in run.stdout
    assert not os.path.exists(tmp_path / "readiness-report.json")
