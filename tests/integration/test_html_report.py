"""The HTML report of a real prelaunch run, opened in a real headless browser (Chromium from Debian): the page it
renders carries the verdict, the sections by status, each check with its evidence and remediation, and the
sign-off table; it loads nothing from the network and needs no script. The screenshot is kept for people to see."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess

import pytest

from tests.support.playbook import by_id, read_report, run_playbook, write_inventory

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh installs it)")


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / ("profile-%d" % len(list(tmp_path.glob("profile-*"))))  # a fresh profile each time
    return subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=%s" % profile, *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_html_report_renders_in_chromium(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": {
        "aragora_api_url": sandbox_state["urls"]["api"], "aragora_env_file": sandbox_state["paths"]["env_file"],
        "aragora_ca_path": sandbox_state["paths"]["ca"]}})
    reports = tmp_path / "reports"
    run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(reports)})
    page = reports / "readiness-report.html"
    report = read_report(str(reports))
    assert report["verdict"] == "NO-GO" and page.is_file()

    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom.stdout))
    assert "Verdict: NO-GO" in text and "Sections by status" in text and "Sign-Off" in text
    for role in ("Engineering Lead", "Security Review", "Operations", "Product Owner"):
        assert role in text
    failing = [check for check in report["checks"] if check["status"] == "FAIL"]
    assert failing
    for check in failing:  # each failing check is there with its message and remediation (HTML entities decoded)
        assert check["message"] in dom.stdout.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    assert by_id(report)["security.environment_mode"]["status"] == "PASS" and "Environment mode is production" in text

    screenshot = tmp_path / "readiness-report.png"
    shot = chromium(tmp_path, "--screenshot=%s" % screenshot, "--window-size=1280,1600", page.as_uri())
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    header = screenshot.read_bytes()[:24]
    width, height = struct.unpack(">II", header[16:24])
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1280, 1600)
    keep = os.environ.get("ARAGORA_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)
