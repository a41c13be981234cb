/**
 * A Helm release at a pinned chart version with values rendered by powerstack, installed or upgraded
 * ONLY when an input changed. kube-prometheus-stack creates a new revision on every `helm upgrade`, even
 * an identical one (prometheus-community/helm-charts #5236), and restarts what the revision touches, so
 * "upgrade to be safe" is exactly what must not happen.
 *
 * The inputs are fingerprinted: sha256 of the chart reference, version, rendered values and anything else
 * the manifests depend on (a post-renderer's script and patch). The fingerprint is written into the
 * release's own description (`helm upgrade --description`), so it lives with the revision it describes:
 * no state file on the node, and a hand-made `helm upgrade` (other description) is seen as drift.
 * The probe is one `helm history --max 1 -o json`: status, chart-version and description of the latest
 * revision. Decisions:
 *   - no release                          -> install
 *   - deployed, same chart and fingerprint -> nothing (no new revision)
 *   - chart version or fingerprint differs -> upgrade
 *   - failed                              -> upgrade (a retry of the last attempt)
 *   - pending-* / uninstalling            -> refuse, naming the fix (another Helm operation is running or died)
 *
 * Values reach Helm on stdin (`--values -`), never in argv or a file on the node. The roles keep
 * credentials out of values altogether (they live in Kubernetes Secrets the charts reference), so the
 * fingerprint in the description and in command lines is a digest of nothing secret.
 *
 * Charts: OCI references (`oci://...`) directly; repository charts through `helm repo add`, done only
 * when the repository is missing (or points elsewhere), and `helm repo update <repo>` before an install or
 * upgrade, because a cached index may not know the newly pinned version yet. Air-gapped, the chart's `.tgz`
 * from the artifacts directory, uploaded to the node only when the node's copy has another sha256, and
 * installed from there (chart-source.ts: why moving between online and air-gap is not an upgrade). A
 * no-op run touches none of these.
 *
 * CRDs: Helm installs a chart's CRDs (`crds/` of the chart and its subcharts) only on the first install,
 * skips those that already exist (e.g. older ones a teardown left: Helm never deletes CRDs) and never
 * upgrades them (kube-prometheus-stack README, "Upgrading Chart": "With Helm v3, CRDs created by this chart
 * are not updated by default and should be manually updated"; helm.sh/docs/chart_best_practices/
 * custom_resource_definitions). A chart bump would then run a newer operator on old CRDs. So for a release
 * whose chart ships CRDs, `helm show crds` of the pinned chart (it prints Chart.CRDObjects(), which
 * includes subcharts' `crds/`, helm pkg/chart/chart.go; checked with Helm 3.17.3: for kube-prometheus-stack
 * 88.5.3 the 10 CRDs of its `crds` subchart) is applied server-side BEFORE an install, a
 * chart-version change, or the retry of a failed revision; never for a values-only change and never on a
 * no-op run. (The chart's own `crds.upgradeJob` is a preview, off by default, and runs a hook Job with
 * images of its own, one more thing an air-gapped node must carry.) Server-side apply also avoids the 256 KiB last-applied annotation these CRDs
 * exceed, and `--force-conflicts` takes the fields over from Helm, which created them.
 */
import { createHash } from "node:crypto";
import { PowerstackError } from "../errors.js";
import type { Change, ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { uploadIfChanged } from "../transport/upload.js";
import {
  chartIdentity,
  chartName,
  chartRef,
  chartShipsCrds,
  requireArchive,
  type ChartSource,
} from "./chart-source.js";
import { HELM_BIN } from "./helm-binary.js";
import { K3S_BIN } from "./k3s.js";
import { FIELD_MANAGER, KUBECTL } from "./kube-apply.js";
import { K3S_KUBECONFIG } from "./kubeconfig.js";

export { chartName, chartRef, type ChartSource } from "./chart-source.js";

/** Helm pointed at the server's admin kubeconfig (as the Cluster boundary does). */
export const HELM = `KUBECONFIG=${K3S_KUBECONFIG} ${HELM_BIN}`;

export interface HelmReleaseParams {
  release: string;
  namespace: string;
  chart: ChartSource;
  version: string;
  /** Rendered values YAML: sent on stdin. */
  values: string;
  /** Executable on the node that rewrites the rendered manifests (`helm --post-renderer`). */
  postRenderer?: string;
  /** What else the manifests depend on (the post-renderer's script and patch): part of the fingerprint. */
  extraInputs?: string;
  /** `--wait --timeout`: how long Helm waits for the release's workloads to be ready (default 600 s). */
  timeoutSec?: number;
  /**
   * Apply the chart's CRDs server-side before an install or a chart-version change (Helm never upgrades
   * CRDs). Default: whether the chart source says it ships CRDs (`crds: true`). Not part of the
   * fingerprint: it changes no manifest of the release.
   */
  applyCrds?: boolean;
}

export interface ReleaseRevision {
  revision: number;
  status: string;
  /** `<chart name>-<chart version>`, as Helm records it. */
  chart: string;
  description: string;
}

export interface HelmReleaseSeen {
  /** K3s or Helm not installed yet (check mode before their plays ran). */
  toolsAbsent: boolean;
  latest?: ReleaseRevision;
  repos: Array<{ name: string; url: string }>;
  /** A history read that failed for another reason than "release: not found". */
  readError?: string;
}

const DEFAULT_TIMEOUT_SEC = 600;
const MARK = "@@helm-release";
const FINGERPRINT = /powerstack inputs sha256:([0-9a-f]{64})/;

export function fingerprint(p: HelmReleaseParams): string {
  const inputs = {
    chart: chartIdentity(p.chart),
    version: p.version,
    values: p.values,
    postRenderer: p.postRenderer ?? null,
    extraInputs: p.extraInputs ?? null,
  };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

export const description = (p: HelmReleaseParams) => `powerstack inputs sha256:${fingerprint(p)}`;

export function probeCommand(p: HelmReleaseParams): string {
  const history = `${HELM} history ${shq(p.release)} -n ${shq(p.namespace)} --max 1 -o json`;
  return [
    `if [ ! -x ${K3S_BIN} ] || [ ! -x ${HELM_BIN} ]; then echo '${MARK} tools-absent'; else`,
    `out=$(${history} 2>&1); echo "${MARK} history $?"; printf '%s\\n' "$out";`,
    `echo '${MARK} repos'; ${HELM} repo list -o json 2>/dev/null; fi`,
  ].join(" ");
}

/** The JSON array in Helm's output (a warning line may precede it). */
function jsonArray(text: string): unknown[] | undefined {
  const line = text.split("\n").find((l) => l.trim().startsWith("["));
  if (!line) return undefined;
  try {
    const v = JSON.parse(line.trim()) as unknown;
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseProbe(stdout: string): HelmReleaseSeen {
  if (stdout.includes(`${MARK} tools-absent`)) return { toolsAbsent: true, repos: [] };
  const seen: HelmReleaseSeen = { toolsAbsent: false, repos: [] };
  const hist = new RegExp(`^${MARK} history (\\d+)\\n([\\s\\S]*?)^${MARK} repos$`, "m").exec(stdout);
  const reposText = stdout.split(`${MARK} repos\n`)[1] ?? "";
  seen.repos = ((jsonArray(reposText) ?? []) as Array<{ name: string; url: string }>).map((r) => ({
    name: r.name,
    url: r.url,
  }));
  if (!hist) {
    seen.readError = "no answer from the node";
    return seen;
  }
  const [, rc, body = ""] = hist;
  if (rc !== "0") {
    // `helm history` of an unknown release: `Error: release: not found`.
    if (!/release: not found/.test(body)) seen.readError = body.trim().split("\n").slice(-3).join(" / ");
    return seen;
  }
  const rows = jsonArray(body) as
    Array<{ revision: number; status: string; chart: string; description?: string }> | undefined;
  const last = rows?.at(-1);
  if (!last) {
    seen.readError = `unexpected output of helm history: ${body.trim().slice(0, 200)}`;
    return seen;
  }
  seen.latest = {
    revision: Number(last.revision),
    status: last.status,
    chart: last.chart,
    description: last.description ?? "",
  };
  return seen;
}

const releaseName = (p: HelmReleaseParams) => `${p.namespace}/${p.release}`;

/** Pure: what the release needs, before the repository question. */
function releaseChange(seen: HelmReleaseSeen, p: HelmReleaseParams): string | undefined {
  const want = `${chartName(p.chart)} ${p.version}`;
  if (seen.toolsAbsent) return `install ${releaseName(p)}: ${want} (once K3s and Helm are installed)`;
  if (seen.readError)
    throw new PowerstackError(
      `reading Helm release ${releaseName(p)} failed: ${seen.readError}`,
      undefined,
      "check that K3s answers (`k3s kubectl get nodes` on the control node) and rerun",
    );
  const latest = seen.latest;
  if (!latest) return `install ${releaseName(p)}: ${want}`;
  const status = latest.status;
  if (status.startsWith("pending-"))
    throw new PowerstackError(
      `Helm release ${releaseName(p)} is ${status} (revision ${latest.revision}): another Helm operation is running, or one died midway`,
      undefined,
      status === "pending-install"
        ? `wait for it to finish; if none is running, \`helm uninstall ${p.release} -n ${p.namespace}\` on the control node (volumes keep their data) and rerun`
        : `wait for it to finish; if none is running, \`helm rollback ${p.release} -n ${p.namespace}\` on the control node and rerun`,
    );
  if (status === "uninstalling")
    throw new PowerstackError(
      `Helm release ${releaseName(p)} is being uninstalled`,
      undefined,
      "wait for the uninstall to finish (`helm status` on the control node) and rerun",
    );
  const haveVersion = latest.chart.startsWith(`${chartName(p.chart)}-`)
    ? latest.chart.slice(chartName(p.chart).length + 1)
    : latest.chart;
  if (status === "failed")
    return `upgrade ${releaseName(p)}: revision ${latest.revision} failed, retry with ${want}`;
  if (latest.chart !== `${chartName(p.chart)}-${p.version}`)
    return `upgrade ${releaseName(p)}: chart ${haveVersion} -> ${p.version}`;
  if (FINGERPRINT.exec(latest.description)?.[1] !== fingerprint(p))
    return `upgrade ${releaseName(p)}: values changed (revision ${latest.revision} was made from other inputs)`;
  if (status !== "deployed") return `upgrade ${releaseName(p)}: latest revision is ${status}`;
  return undefined;
}

/**
 * Pure: whether the chart's CRDs are applied before this install or upgrade: on install, on a chart-version
 * change, and on the retry of a failed revision (its CRD step may not have run; applying the same CRDs
 * again changes nothing). Not for a values-only change.
 */
export function crdsNeeded(seen: HelmReleaseSeen, p: HelmReleaseParams): boolean {
  if (!(p.applyCrds ?? chartShipsCrds(p.chart))) return false;
  const latest = seen.latest;
  if (seen.toolsAbsent || !latest || latest.status === "failed") return true;
  return latest.chart !== `${chartName(p.chart)}-${p.version}`;
}

/**
 * `helm show crds` of the pinned chart (on the node: the repository, registry or uploaded archive), applied
 * server-side as powerstack's field manager. Through a temp file: a failing `helm show` must not become an
 * empty, "successful" apply (POSIX sh has no pipefail), and no CRDs at all is an error, not a silent no-op.
 */
export function crdsCommand(p: HelmReleaseParams): string {
  const show = `${HELM} show crds ${shq(chartRef(p.chart))} --version ${shq(p.version)}`;
  const apply = `${KUBECTL} apply --server-side --field-manager=${FIELD_MANAGER} --force-conflicts -f "$crds"`;
  const none = `{ echo ${shq(`helm show crds printed no CRDs for ${chartName(p.chart)} ${p.version}`)} >&2; false; }`;
  return `crds=$(mktemp) && { ${show} > "$crds" && { [ -s "$crds" ] || ${none}; } && ${apply}; rc=$?; rm -f "$crds"; [ "$rc" -eq 0 ]; }`;
}

type RepoState = "ok" | "missing" | "elsewhere";

function repoState(seen: HelmReleaseSeen, c: ChartSource): RepoState {
  if (c.kind !== "repo") return "ok";
  const r = seen.repos.find((x) => x.name === c.repoName);
  if (!r) return "missing";
  return r.url.replace(/\/+$/, "") === c.repoUrl.replace(/\/+$/, "") ? "ok" : "elsewhere";
}

export function upgradeCommand(p: HelmReleaseParams): string {
  const timeout = p.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  return [
    `${HELM} upgrade --install ${shq(p.release)} ${shq(chartRef(p.chart))}`,
    `--version ${shq(p.version)} --namespace ${shq(p.namespace)} --create-namespace`,
    `--values - --description ${shq(description(p))} --wait --timeout ${timeout}s`,
    ...(p.postRenderer ? [`--post-renderer ${shq(p.postRenderer)}`] : []),
  ].join(" ");
}

export const helmRelease: ShellModule<HelmReleaseParams, HelmReleaseSeen> = {
  name: "helm-release",
  probe: (p) => ({ command: probeCommand(p), parse: (stdout) => parseProbe(stdout) }),
  plan(seen, p) {
    const release = releaseChange(seen, p);
    if (!release) return [];
    const changes: Change[] = [];
    // A missing archive is an input error, found before anything is touched (also by --check).
    requireArchive(p.chart, p.version);
    if (p.chart.kind === "archive")
      changes.push({
        summary: `chart archive ${p.chart.local} -> ${p.chart.remote} (sent only if the node's copy differs)`,
      });
    if (p.chart.kind === "repo") {
      const state = repoState(seen, p.chart);
      if (state === "missing")
        changes.push({ summary: `add Helm repository ${p.chart.repoName} (${p.chart.repoUrl})` });
      if (state === "elsewhere")
        changes.push({ summary: `point Helm repository ${p.chart.repoName} at ${p.chart.repoUrl}` });
    }
    if (crdsNeeded(seen, p))
      changes.push({
        summary: `apply the CRDs of ${chartName(p.chart)} ${p.version} server-side (Helm never upgrades CRDs)`,
      });
    // --diff shows the values of a first install; an upgrade names its reason (the previous values are not
    // read back: that would cost every no-op run another Helm call).
    changes.push({
      summary: release,
      diff: release.startsWith("install")
        ? { path: `values of ${releaseName(p)}`, before: "", after: p.values }
        : undefined,
    });
    return changes;
  },
  async apply({ host }, p, _changes, seen) {
    if (seen.toolsAbsent)
      throw new PowerstackError(
        `K3s or Helm is not installed on ${host.name}: Helm release ${releaseName(p)} cannot be installed`,
        undefined,
        "run the K3s and Helm plays first (`powerstack up` without --only, or with --only k3s-server,k3s-ready,helm)",
      );
    const chart = p.chart;
    if (chart.kind === "repo") {
      if (repoState(seen, chart) !== "ok")
        await run(host, `${HELM} repo add ${shq(chart.repoName)} ${shq(chart.repoUrl)} --force-update`, {
          timeoutSec: 120,
        });
      await run(host, `${HELM} repo update ${shq(chart.repoName)}`, { timeoutSec: 180 });
    }
    if (chart.kind === "archive") {
      requireArchive(chart, p.version);
      await uploadIfChanged(host, chart.local, chart.remote, { mode: "0644" });
    }
    if (crdsNeeded(seen, p))
      try {
        await run(host, crdsCommand(p), { timeoutSec: 300 });
      } catch (err) {
        throw new PowerstackError(
          `applying the CRDs of ${chartName(p.chart)} ${p.version} failed (the release was left as it is): ${(err as Error).message}`,
          undefined,
          "check that K3s answers (`k3s kubectl get crd` on the control node) and rerun: the CRDs are applied again before the upgrade",
        );
      }
    try {
      await run(host, upgradeCommand(p), {
        stdin: p.values,
        timeoutSec: (p.timeoutSec ?? DEFAULT_TIMEOUT_SEC) + 120,
      });
    } catch (err) {
      throw new PowerstackError(
        `${(err as Error).message}`,
        undefined,
        `look at \`helm status ${p.release} -n ${p.namespace}\` and \`k3s kubectl get pods -n ${p.namespace}\` on the control node; a rerun retries the upgrade`,
      );
    }
  },
};
