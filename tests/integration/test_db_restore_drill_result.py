"""The restore drill leaves the db_restore role's result fact (db_restore_result), decided in Python from what the
drill registered, also when it fails, while its output stays what it was. Real ansible-playbook runs of
playbooks/db_restore_drill.yml and the real postgres_restore module; both cases stop before any database is reached
(check mode, an empty backup directory), so no PostgreSQL is needed."""

from __future__ import annotations

import json

from tests.support.playbook import ROOT, run_playbook, said, write_inventory

# The playbook of the drill, then its result fact written where the test reads it.
KEEP_RESULT = """---
- name: The drill
  ansible.builtin.import_playbook: {playbook}

- name: Keep the drill's result
  hosts: aragora_db
  gather_facts: false
  tasks:
    - name: Write db_restore_result
      ansible.builtin.copy:
        content: "{{{{ db_restore_result | to_json }}}}"
        dest: {dest}
        mode: "0600"
      delegate_to: localhost
      check_mode: false
"""


def drill(tmp_path, *args: str, **extra):
    result_file = tmp_path / "result.json"
    playbook = tmp_path / "drill_and_result.yml"
    playbook.write_text(KEEP_RESULT.format(playbook="%s/playbooks/db_restore_drill.yml" % ROOT, dest=result_file))
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db-1": {}}, group="aragora_db")
    backups = tmp_path / "backups"
    backups.mkdir()
    evidence = tmp_path / "drill" / "restore-drill.json"
    run = run_playbook(str(playbook), inventory, {"aragora_backup_dir": str(backups),
                                                  "aragora_restore_evidence_file": str(evidence), **extra}, *args)
    return run, evidence, result_file


def test_a_drill_in_check_mode_plans_and_says_so(tmp_path):
    run, evidence, result_file = drill(tmp_path, "--check", awx_user_name="oncall-alice")
    assert run.returncode == 0, said(run)
    line = ("check mode: the drill would restore into a scratch database and write %s Evidence: %s"
            % (evidence, evidence))
    assert line in said(run) and not evidence.exists()
    result = json.loads(result_file.read_text())
    assert result["outcome"] == "planned" and result["report"] == line and result["error"] == ""
    assert result["actor"] == "oncall-alice" and result["incident_files"] == []
    assert [(check["id"], check["status"]) for check in result["checks"]] == [("restore.row_counts", "SKIP")]


def test_a_failed_drill_fails_as_before_and_its_result_says_why(tmp_path):
    run, evidence, _result_file = drill(tmp_path)
    backups = tmp_path / "backups"
    message = "restore drill failed: no archive given and none in backup_dir %s" % backups
    # The run fails with the module's own message, and the failure is evidence too.
    assert run.returncode != 0 and message in said(run)
    assert json.loads(evidence.read_text())["result"] == "failure"


def test_a_failed_drill_keeps_its_result_for_what_runs_after(tmp_path):
    # The role's always keeps the fact before the failure reaches the play: a rescue after it reads it.
    rescue = tmp_path / "rescue.yml"
    result_file = tmp_path / "result.json"
    rescue.write_text("""---
- name: Drill, then read its result
  hosts: aragora_db
  gather_facts: false
  tasks:
    - name: The drill
      block:
        - name: Restore drill of the newest archive
          ansible.builtin.include_role:
            name: aragora.ops.db_restore
            tasks_from: drill.yml
      rescue:
        - name: Write db_restore_result
          ansible.builtin.copy:
            content: "{{ db_restore_result | to_json }}"
            dest: %s
            mode: "0600"
          delegate_to: localhost
""" % result_file)
    backups = tmp_path / "backups"
    backups.mkdir()
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db-1": {}}, group="aragora_db")
    run = run_playbook(str(rescue), inventory, {"aragora_backup_dir": str(backups),
                                                "aragora_restore_evidence_file": str(tmp_path / "e.json")})
    assert run.returncode == 0, said(run)
    result = json.loads(result_file.read_text())
    message = "restore drill failed: no archive given and none in backup_dir %s" % backups
    assert result["outcome"] == "failed" and result["error"] == result["reason"] == message
    assert result["evidence"]["result"] == "failure" and result["from"] is None
    assert [(check["id"], check["status"]) for check in result["checks"]] == [("restore.row_counts", "SKIP")]
    assert result["checks"][0]["message"] == "The verification did not run: " + message
