/**
 * A newer version of a pinned chart, made offline by the real Helm: the packaged chart unpacked, edited
 * (e.g. a CRD marked as the newer operator's), and `helm package --version <new>`d. Boundary tests use it
 * where a chart-version bump must be rendered by real Helm (FakeControlNode.charts).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chartPath, helm, type PinnedChart } from "../support/real-helm.js";

/** The Prometheus CRD's operator-version annotation, as the pinned chart (88.5.3) ships it. */
export const PINNED_OPERATOR_VERSION = "0.93.1";
export const PROMETHEUS_CRD_FILE = "kube-prometheus-stack/charts/crds/crds/crd-prometheuses.yaml";

const made = new Map<string, Promise<string>>();

/**
 * The pinned chart at `version`; `edit` changes files of the unpacked chart (paths as in the archive).
 * Made once per process per (chart, version, tag): `tag` names the edit.
 */
export function bumpedChart(
  chart: PinnedChart,
  version: string,
  edit: Record<string, (text: string) => string> = {},
  tag = "",
): Promise<string> {
  const key = JSON.stringify([chart, version, tag]);
  let p = made.get(key);
  if (!p)
    made.set(
      key,
      (p = (async () => {
        const dir = mkdtempSync(join(tmpdir(), "powerstack-bumped-chart-"));
        execFileSync("tar", ["-xzf", chartPath(chart), "-C", dir]);
        for (const [file, fn] of Object.entries(edit))
          writeFileSync(join(dir, file), fn(readFileSync(join(dir, file), "utf8")));
        const name = execFileSync("tar", ["-tzf", chartPath(chart)], { encoding: "utf8" }).split("/")[0]!;
        await helm(["package", join(dir, name), "--version", version, "--destination", dir]);
        return join(dir, `${name}-${version}.tgz`);
      })()),
    );
  return p;
}

/** kube-prometheus-stack at `version`, its Prometheus CRD annotated as operator `operatorVersion`. */
export const bumpedKubePrometheusStack = (version: string, operatorVersion: string) =>
  bumpedChart(
    "kubePrometheusStack",
    version,
    {
      [PROMETHEUS_CRD_FILE]: (t) =>
        t.replace(
          `operator.prometheus.io/version: ${PINNED_OPERATOR_VERSION}`,
          `operator.prometheus.io/version: ${operatorVersion}`,
        ),
    },
    operatorVersion,
  );
