#!/usr/bin/env bash
# Try powerstack without hardware: set up this machine, boot the 3-node container lab (test/lab), and run
# `powerstack up` against it: --check first, then for real, then again to show a rerun changes nothing.
# Runs what a container lab can run (roles kernel and storage); see README "What needs real servers".
# Needs root (network namespaces, loop devices, systemd-nspawn) on Debian 12 with Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-packages.sh .ci/host-packages.txt
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null

echo "== booting the lab (3 nodes; the base image is built once, ~90 s)"
npx tsx test/lab/cli.ts up
INV=/run/powerstack-lab/inventory.yaml
VAULT=$(sed -n 's/^vault_file: //p' "$INV")
export POWERSTACK_VAULT_PASSWORD=${POWERSTACK_VAULT_PASSWORD:-lab-demo-password}
if [ ! -f "$VAULT" ]; then
  # A demo vault; for real clusters use `powerstack init` or `powerstack vault create`.
  umask 077
  printf 'grafana_admin_password: %s\n' "$(head -c 12 /dev/urandom | base64)" > "$VAULT"
  node dist/bin/powerstack.js vault encrypt "$VAULT" >/dev/null
fi
ps() { node dist/bin/powerstack.js -i "$INV" "$@"; }

echo; echo "== powerstack up --check (plans, changes nothing)"
ps up --check --only kernel,storage
echo; echo "== powerstack up"
ps up --only kernel,storage
echo; echo "== powerstack up, again: nothing to do"
ps up --only kernel,storage

echo; echo "== powerstack render: the cluster layer as files (what up would send to K3s and Helm)"
OUT=${POWERSTACK_RENDER_DIR:-/tmp/powerstack-render}
ps render "$OUT"
(cd "$OUT" && find . -type f | sort)
echo; echo "== the real Helm (3.17.3, the pinned charts) renders those values, as up would install them"
npx tsx scripts/render-with-helm.ts "$OUT"
echo
echo "Skipped here, and why: K3s (server, agents), Helm installs of kube-prometheus-stack and Kepler, the"
echo "Grafana login and Redfish need real servers (no K3s binary, Kubernetes API or BMC can run in this lab)."
echo "What they would get is in $OUT; the test suite renders it with the real Helm and the pinned charts."
echo
echo "The lab stays up: ssh -F /run/powerstack-lab/ssh_config ctl; remove it with: npm run lab -- down"
