"""The checklist's own way, for the benchmark: its verification commands (curl, redis-cli, psql, openssl s_client,
kubectl, websocat, grep on the env file), run one after another as an SRE's script would, for the items prelaunch.yml
checks. Each command is a shell line, as in PRODUCTION_READINESS_CHECKLIST.md; their output is discarded (the bench
times them, it does not judge them), but a command that cannot reach its service fails the bench so that a broken
proxy never passes for a fast baseline.

    python tests/bench/checklist_baseline.py --api https://127.0.0.1:8443 --ws ws://127.0.0.1:8765 \
        --env-file aragora.env --ca ca.pem --kubeconfig kubeconfig --backup-dir backups
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import typing as t


def read_env(path: str) -> dict[str, str]:
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                values[key.strip()] = value
    return values


def commands(api: str, ws: str, env_file: str, ca: str, kubeconfig: str, backup_dir: str,
             websocat: str | None) -> list[tuple[str, str, bool]]:
    """(checklist item, shell command, must succeed) for every item, in checklist order."""
    env = read_env(env_file)
    q = shlex.quote
    curl = "curl -sS --max-time 10 --cacert %s" % q(ca)
    kubectl = "kubectl --kubeconfig %s --request-timeout 10s -n aragora" % q(kubeconfig)
    host_port = api.split("://", 1)[1].rstrip("/")
    # s_client's own exit status varies with how the server closes; x509 fails when no certificate came.
    openssl = "{ echo | openssl s_client -connect %s -CAfile %s 2>/dev/null; true; }" % (q(host_port), q(ca))
    redis = "redis-cli -u %s" % q(env["ARAGORA_REDIS_URL"])
    psql = "psql %s -Atc" % q(env["DATABASE_URL"])

    def grep(name: str) -> str:
        return "grep -c '^%s=' %s || true" % (name, q(env_file))

    # Aragora answers 400 to a handshake without its subprotocol; the first message is read, as the probe does.
    origin = env.get("ARAGORA_ALLOWED_ORIGINS", "").split(",")[0]
    if websocat:
        ws_command = ("timeout 5 %s -1 --no-close --protocol aragora-v1 --origin %s %s </dev/null"
                      % (q(websocat), q(origin), q(ws)))
    else:  # the Python websockets client, when the websocat binary is not installed
        ws_command = ("%s -c 'import sys, websockets.sync.client as c; w = c.connect(sys.argv[1], origin=sys.argv[2], "
                      "subprotocols=[\"aragora-v1\"], open_timeout=5); w.recv(5); w.close()' %s %s"
                      % (q(sys.executable), q(ws), q(origin)))
    return [
        # 1. Security
        ("JWT secret length", "grep '^ARAGORA_JWT_SECRET=' %s | cut -d= -f2- | tr -d '\\n' | wc -c" % q(env_file), True),
        ("environment mode", grep("ARAGORA_ENV"), True),
        ("API keys not in .env", grep("ANTHROPIC_API_KEY"), True),
        ("CORS origins", grep("ARAGORA_ALLOWED_ORIGINS"), True),
        ("rate limiting enabled", "%s %s/api/rate-limits/config" % (curl, api), True),
        ("TLS enforced", "%s -I %s/api/health" % (curl, api), True),
        ("token blacklist backend", grep("ARAGORA_BLACKLIST_BACKEND"), True),
        # 2. High availability
        ("minimum 2 replicas", "%s get deploy aragora -o jsonpath='{.spec.replicas}'" % kubectl, True),
        ("HPA", "%s get hpa" % kubectl, True),
        ("PDB", "%s get pdb" % kubectl, True),
        ("anti-affinity", "%s get deploy aragora -o jsonpath='{.spec.template.spec.affinity}'" % kubectl, True),
        ("multi-zone distribution", "%s get pods -o wide" % kubectl, True),
        ("nodes and zones", "kubectl --kubeconfig %s --request-timeout 10s get nodes -L topology.kubernetes.io/zone"
         % q(kubeconfig), True),
        # 3. Database
        ("database connection", "%s %s/api/health | jq '.checks.database'" % (curl, api), True),
        ("database reachable", "%s 'select 1'" % psql, True),
        ("database version and settings", "%s 'show max_connections'" % psql, True),
        ("connection pool", grep("ARAGORA_DB_POOL_SIZE"), True),
        ("automated backups", "%s get cronjobs" % kubectl, True),
        ("backup files", "ls -l %s" % q(backup_dir), True),
        ("restore tested", "ls %s" % q(backup_dir), True),
        ("migrations applied", "%s logs job/aragora-migrate --tail 5 || true" % kubectl, False),
        ("migration job", "%s get job aragora-migrate" % kubectl, True),
        # 4. Redis
        ("redis ping", "%s ping" % redis, True),
        ("redis URL", grep("ARAGORA_REDIS_URL"), True),
        ("rate limit uses redis", "%s %s/api/rate-limits/config" % (curl, api), True),
        ("redis persistence (save)", "%s CONFIG GET save" % redis, True),
        ("redis persistence (aof)", "%s CONFIG GET appendonly" % redis, True),
        ("redis memory limit", "%s CONFIG GET maxmemory" % redis, True),
        ("redis eviction policy", "%s CONFIG GET maxmemory-policy" % redis, True),
        ("redis version", "%s INFO server" % redis, True),
        # 5. Monitoring (sed, not head: it reads the whole body, so curl never fails on a closed pipe)
        ("prometheus scraping", "%s %s/metrics | sed -n 1,10p" % (curl, api), True),
        ("service monitor", "%s get servicemonitors" % kubectl, True),
        ("alert rules", "%s get prometheusrules" % kubectl, True),
        ("sentry DSN", grep("SENTRY_DSN"), True),
        ("log level", grep("ARAGORA_LOG_LEVEL"), True),
        # 6. TLS
        ("cert-manager installed", "kubectl --kubeconfig %s --request-timeout 10s get pods -n cert-manager"
         % q(kubeconfig), True),
        ("cluster issuer", "kubectl --kubeconfig %s --request-timeout 10s get clusterissuers" % q(kubeconfig), True),
        ("certificate issued", "%s get certificates" % kubectl, True),
        ("certificate valid", "%s | openssl x509 -noout -dates" % openssl, True),
        ("certificate expiry", "%s get certificates -o jsonpath='{.items[*].status.notAfter}'" % kubectl, True),
        ("HTTPS", "%s -vI %s/api/health 2>&1 | grep -E 'SSL|subject|expire'" % (curl, api), True),
        # 7. OAuth
        ("OAuth redirect URLs", grep("GOOGLE_OAUTH_REDIRECT_URI"), True),
        ("OAuth allowed hosts", grep("OAUTH_ALLOWED_REDIRECT_HOSTS"), True),
        ("SSO", grep("ARAGORA_SSO_ENABLED"), True),
        ("session timeout", grep("ARAGORA_JWT_EXPIRY_HOURS"), True),
        # 8. Providers
        ("primary provider", grep("OPENAI_API_KEY"), True),
        ("fallback provider", grep("OPENROUTER_API_KEY"), True),
        ("circuit breakers", "%s %s/api/admin/system-health/circuit-breakers" % (curl, api), True),
        ("agent timeout", grep("ARAGORA_AGENT_TIMEOUT"), True),
        # 9. Resources
        ("CPU and memory limits", "%s get deploy aragora -o jsonpath='{.spec.template.spec.containers[*].resources}'"
         % kubectl, True),
        ("probes", "%s get deploy aragora -o jsonpath='{.spec.template.spec.containers[*].livenessProbe}'" % kubectl,
         True),
        ("concurrent debate limit", grep("ARAGORA_MAX_CONCURRENT_DEBATES"), True),
        ("rate limits configured", grep("ARAGORA_RATE_LIMIT"), True),
        # Go-live pre-launch health check
        ("health endpoint", "%s %s/api/health | jq -r '.status'" % (curl, api), True),
        ("liveness", "%s %s/healthz" % (curl, api), True),
        ("readiness", "%s %s/readyz" % (curl, api), True),
        ("release", "%s %s/health/build" % (curl, api), True),
        ("certificate > 7 days", "%s | openssl x509 -noout -checkend 604800" % openssl, True),
        ("ready replicas", "%s get deploy aragora -o jsonpath='{.status.readyReplicas}/{.spec.replicas}'" % kubectl,
         True),
        ("WebSocket", ws_command, True),
    ]


def run_all(items: t.Sequence[tuple[str, str, bool]], env: t.Mapping[str, str] | None = None) -> float:
    """Run every command one after another; seconds taken. RuntimeError naming the first that failed."""
    started = time.perf_counter()
    for name, command, must_succeed in items:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True,
                              timeout=60, check=False, env=env)
        if must_succeed and proc.returncode != 0:
            raise RuntimeError("baseline command for %r failed (%d): %s"
                               % (name, proc.returncode, proc.stderr.strip()[-300:]))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    for name in ("api", "ws", "env-file", "ca", "kubeconfig", "backup-dir"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--websocat", default=None, help="path of the websocat binary (else Python websockets)")
    args = parser.parse_args()
    items = commands(args.api, args.ws, args.env_file, args.ca, args.kubeconfig, args.backup_dir, args.websocat)
    print("%d commands in %.3f s" % (len(items), run_all(items, {**os.environ})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
