#!/usr/bin/env bash
# Runs playbooks/prelaunch.yml against the sandbox and says plainly what came of it. Exits 0 once the report is
# written, whatever the verdict: a NO-GO is a finding of the demo, not a failure of it.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
inventory=${1:-build/sandbox/inventory.yml}
reports=build/reports
started=$(date +%s.%N)
.venv/bin/ansible-playbook -i "$inventory" playbooks/prelaunch.yml -e aragora_report_dir="$PWD/$reports"
status=$?
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
report=$reports/readiness-report.json
if [ ! -f "$report" ] || [ "$(stat -c %Y "$report")" -lt "${started%.*}" ]; then
  echo "demo: prelaunch.yml wrote no report (exit $status); see the output above." >&2
  exit 1
fi
.venv/bin/python - "$report" "$elapsed" <<'PYTHON'
import json, sys
report = json.load(open(sys.argv[1]))
counts = ", ".join("%d %s" % (n, s) for s, n in report["counts"].items())
print()
print("demo: verdict %s (%s); prelaunch.yml ran in %s s." % (report["verdict"], counts, sys.argv[2]))
if report["verdict"] != "GO":
    print("demo: NO-GO means the sandbox is not ready for production as configured; the FAIL lines say why")
    print("      (the sandbox has no real AI provider key, for one). The demo itself succeeded.")
print("demo: report in build/reports/readiness-report.{md,html,json,xml}; stop the sandbox with: make sandbox-down")
PYTHON
