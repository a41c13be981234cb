/**
 * Where a Helm chart comes from: a Helm repository, an OCI registry, or (air-gapped) the chart's `.tgz` from
 * the artifacts directory, uploaded to the control node and installed from there.
 *
 * Identity (what the release fingerprint records): the chart's upstream origin and name, never where the
 * bytes came from this time. An archive stands in for the online chart it was pulled from (`origin`), so
 * switching a cluster from `install: online` to `install: airgap` with the same chart version and values
 * is NOT an upgrade (no new Helm revision, nothing restarted). Helm itself records only `<name>-<version>`.
 * The price: a chart changed in place under the same name and version (a hand-patched tgz) is not seen as
 * a change; give such a chart its own version. The archive's bytes are still checked where it matters:
 * the node's copy is replaced whenever its sha256 differs from the operator's file (uploadIfChanged).
 *
 * Note: for a local archive Helm ignores `--version` (checked with Helm 3.17.3: `helm template` and
 * `helm show crds` of kepler-0.11.4.tgz with `--version 9.9.9` succeed), so the file NAME is what pins the
 * version: `<chart>-<version>.tgz`, as `helm pull` writes it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import type { K3sInstallMode } from "../inventory/types.js";

/** A chart from the network. `crds`: the chart ships CRDs (its own or a subchart's `crds/`). */
export type OnlineChart =
  | { kind: "oci"; url: string; crds?: boolean }
  | { kind: "repo"; repoName: string; repoUrl: string; chart: string; crds?: boolean };

/** Air-gapped: `local` on the operator's machine, uploaded to `remote` on the control node. */
export interface ArchiveChart {
  kind: "archive";
  /** The chart's name (Chart.yaml `name`), as Helm records it in a release. */
  chart: string;
  local: string;
  remote: string;
  /** The online chart this archive is a copy of: its identity. */
  origin?: OnlineChart;
  crds?: boolean;
}

export type ChartSource = OnlineChart | ArchiveChart;

/** Where uploaded chart archives live on the control node. */
export const CHARTS_DIR = "/var/lib/powerstack/charts";

/** The chart reference Helm is given on the node. */
export function chartRef(c: ChartSource): string {
  if (c.kind === "oci") return c.url;
  if (c.kind === "repo") return `${c.repoName}/${c.chart}`;
  return c.remote;
}

/** The chart's name as Helm records it in a release (`<name>-<version>`). */
export function chartName(c: ChartSource): string {
  return c.kind === "oci" ? c.url.replace(/\/+$/, "").split("/").pop()! : c.chart;
}

/**
 * Where the chart comes from, by URL: a repository renamed locally is the same chart, another URL is not;
 * an archive is the chart it was pulled from (see the file comment).
 */
export function chartIdentity(c: ChartSource): string {
  if (c.kind === "oci") return c.url;
  if (c.kind === "repo") return `${c.repoUrl}#${c.chart}`;
  return c.origin ? chartIdentity(c.origin) : `archive#${c.chart}`;
}

/** Whether the chart ships CRDs that powerstack applies itself (the archive: as its origin says). */
export function chartShipsCrds(c: ChartSource): boolean {
  if (c.crds !== undefined) return c.crds;
  return c.kind === "archive" ? (c.origin?.crds ?? false) : false;
}

/** `<chart>-<version>.tgz`: the name `helm pull` writes, and the one looked for in the artifacts directory. */
export const chartArchiveFile = (chart: string, version: string) => `${chart}-${version}.tgz`;

/** The chart `up` installs: the online one, or in air-gap mode its archive from the artifacts directory. */
export function pinnedChart(
  online: OnlineChart,
  version: string,
  k3s: { install: K3sInstallMode; artifactsDir?: string },
): ChartSource {
  if (k3s.install !== "airgap") return online;
  const file = chartArchiveFile(chartName(online), version);
  return {
    kind: "archive",
    chart: chartName(online),
    local: join(k3s.artifactsDir ?? ".", file),
    remote: `${CHARTS_DIR}/${file}`,
    origin: online,
  };
}

/** How to fetch a chart's archive on a machine with network access. */
export function pullCommand(c: ChartSource, version: string): string {
  const o = c.kind === "archive" ? c.origin : c;
  if (!o) return `helm package <chart dir> --version ${version}`;
  return o.kind === "oci"
    ? `helm pull ${o.url} --version ${version}`
    : `helm pull ${o.chart} --repo ${o.repoUrl} --version ${version}`;
}

/** An air-gapped install needs the archive on the operator's machine: a clear error otherwise. */
export function requireArchive(c: ChartSource, version: string): void {
  if (c.kind !== "archive" || existsSync(c.local)) return;
  throw new InputError(
    `air-gapped install: chart archive ${c.local} is missing`,
    `on a machine with network access run \`${pullCommand(c, version)}\` (it writes ${chartArchiveFile(c.chart, version)}) and copy the file into cluster.k3s.artifacts_dir`,
  );
}
