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
import { defineFact } from "../engine/fact.js";
import type { FileDiff, Module } from "../engine/types.js";
import { HELM, HELM_BIN, K3S_BIN, KUBECTL } from "../facts/k3s.js";
import { shq, type Host } from "../transport/host.js";
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
import { FIELD_MANAGER } from "./kube-apply.js";

export { chartName, chartRef, type ChartSource } from "./chart-source.js";
export { HELM };

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

export function probeCommand(p: Pick<HelmReleaseParams, "release" | "namespace">): string {
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

/** The release's latest revision and Helm's repositories (one `helm history` and one `helm repo list`). */
export const helmReleaseState = defineFact<HelmReleaseSeen, { release: string; namespace: string }>({
  name: "helm-release",
  key: (r) => `${r.namespace}/${r.release}`,
  command: probeCommand,
  parse: (out) => parseProbe(out.stdout),
});

const releaseName = (p: Pick<HelmReleaseParams, "release" | "namespace">) => `${p.namespace}/${p.release}`;

/** Install or upgrade, and why. */
export type ReleaseStep = { kind: "install"; toolsAbsent?: boolean } | { kind: "upgrade"; why: string };

/** Pure: what the release needs, before the repository question. */
function releaseStep(seen: HelmReleaseSeen, p: HelmReleaseParams): ReleaseStep | undefined {
  if (seen.toolsAbsent) return { kind: "install", toolsAbsent: true };
  if (seen.readError)
    throw new PowerstackError(
      `reading Helm release ${releaseName(p)} failed: ${seen.readError}`,
      undefined,
      "check that K3s answers (`k3s kubectl get nodes` on the control node) and rerun",
    );
  const latest = seen.latest;
  if (!latest) return { kind: "install" };
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
  const upgrade = (why: string): ReleaseStep => ({ kind: "upgrade", why });
  if (status === "failed")
    return upgrade(`revision ${latest.revision} failed, retry with ${chartName(p.chart)} ${p.version}`);
  if (latest.chart !== `${chartName(p.chart)}-${p.version}`)
    return upgrade(`chart ${haveVersion} -> ${p.version}`);
  if (FINGERPRINT.exec(latest.description)?.[1] !== fingerprint(p))
    return upgrade(`values changed (revision ${latest.revision} was made from other inputs)`);
  if (status !== "deployed") return upgrade(`latest revision is ${status}`);
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

export type HelmReleaseAction =
  | { kind: "upload-chart" }
  | { kind: "add-repo" | "repoint-repo" }
  | { kind: "apply-crds" }
  /** Install or upgrade (`helm upgrade --install`; a repository chart gets `helm repo update` first). */
  | (ReleaseStep & { diff?: FileDiff });

export const helmRelease: Module<HelmReleaseParams, { release: HelmReleaseSeen }, HelmReleaseAction> = {
  name: "helm-release",
  reads: (p) => ({ release: helmReleaseState.of({ release: p.release, namespace: p.namespace }) }),
  plan({ release: seen }, p) {
    const step = releaseStep(seen, p);
    if (!step) return [];
    const actions: HelmReleaseAction[] = [];
    // A missing archive is an input error, found before anything is touched (also by --check).
    requireArchive(p.chart, p.version);
    if (p.chart.kind === "archive") actions.push({ kind: "upload-chart" });
    if (p.chart.kind === "repo") {
      const state = repoState(seen, p.chart);
      if (state === "missing") actions.push({ kind: "add-repo" });
      if (state === "elsewhere") actions.push({ kind: "repoint-repo" });
    }
    if (crdsNeeded(seen, p)) actions.push({ kind: "apply-crds" });
    // --diff shows the values of a first install; an upgrade names its reason (the previous values are not
    // read back: that would cost every no-op run another Helm call).
    actions.push({
      ...step,
      ...(step.kind === "install"
        ? { diff: { path: `values of ${releaseName(p)}`, before: "", after: p.values } }
        : {}),
    });
    return actions;
  },
  describe(a, p) {
    const repo = p.chart.kind === "repo" ? p.chart : undefined;
    switch (a.kind) {
      case "upload-chart":
        return p.chart.kind === "archive"
          ? `chart archive ${p.chart.local} -> ${p.chart.remote} (sent only if the node's copy differs)`
          : "chart archive";
      case "add-repo":
        return `add Helm repository ${repo?.repoName} (${repo?.repoUrl})`;
      case "repoint-repo":
        return `point Helm repository ${repo?.repoName} at ${repo?.repoUrl}`;
      case "apply-crds":
        return `apply the CRDs of ${chartName(p.chart)} ${p.version} server-side (Helm never upgrades CRDs)`;
      case "install":
        return `install ${releaseName(p)}: ${chartName(p.chart)} ${p.version}${a.toolsAbsent ? " (once K3s and Helm are installed)" : ""}`;
      case "upgrade":
        return `upgrade ${releaseName(p)}: ${a.why}`;
    }
  },
  // A release creates objects of every kind; the release fact itself is read again. What its workloads
  // answer changes too: Grafana's login (read from the operator's machine) is read again, so the task
  // A change in the cluster may change any read of it (objects, releases, volumes, nodes, Grafana's login).
  touches: () => "all",
  async apply({ host, progress }, actions, p) {
    // Without K3s and Helm no step of the release can run: refuse before anything is sent.
    if (actions.some((a) => a.kind === "install" && a.toolsAbsent))
      throw new PowerstackError(
        `K3s or Helm is not installed on ${host.name}: Helm release ${releaseName(p)} cannot be installed`,
        undefined,
        "run the K3s and Helm plays first (`powerstack up` without --only, or with --only k3s-server,k3s-ready,helm)",
      );
    // A cached repository index may not know the newly pinned version yet: refreshed once, before the
    // first step that resolves the chart (`helm show crds` as much as the upgrade).
    let indexFresh = false;
    const refreshIndex = async () => {
      if (p.chart.kind !== "repo" || indexFresh) return;
      await run(host, `${HELM} repo update ${shq(p.chart.repoName)}`, { timeoutSec: 180 });
      indexFresh = true;
    };
    for (const a of actions) {
      switch (a.kind) {
        case "upload-chart":
          if (p.chart.kind === "archive") {
            requireArchive(p.chart, p.version);
            await uploadIfChanged(host, p.chart.local, p.chart.remote, { mode: "0644" });
          }
          break;
        case "add-repo":
        case "repoint-repo":
          if (p.chart.kind === "repo")
            await run(
              host,
              `${HELM} repo add ${shq(p.chart.repoName)} ${shq(p.chart.repoUrl)} --force-update`,
              {
                timeoutSec: 120,
              },
            );
          break;
        case "apply-crds":
          await refreshIndex();
          try {
            await run(host, crdsCommand(p), { timeoutSec: 300 });
          } catch (err) {
            throw new PowerstackError(
              `applying the CRDs of ${chartName(p.chart)} ${p.version} failed (the release was left as it is): ${(err as Error).message}`,
              undefined,
              "check that K3s answers (`k3s kubectl get crd` on the control node) and rerun: the CRDs are applied again before the upgrade",
            );
          }
          break;
        case "install":
        case "upgrade":
          await refreshIndex();
          await installOrUpgrade(host, p, progress);
      }
    }
  },
};

async function installOrUpgrade(host: Host, p: HelmReleaseParams, progress?: (text: string) => void) {
  progress?.(`helm --wait: waiting for ${releaseName(p)} (up to ${p.timeoutSec ?? DEFAULT_TIMEOUT_SEC}s)`);
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
}
