/**
 * What `powerstack experiment` reads from and writes to the cluster, through the Cluster boundary
 * (kubectl and helm on the control node): the facts recorded beside the results (versions, nodes), and
 * the few kubectl calls the run is made of, each bounded and each failure explained the way `verify`
 * explains them (kubectlFailure: K3s missing, API server down, or kubectl's own words).
 */
import type { Condition, ContainerStatus, KubePod, Meta, Terminated } from "../cluster/kube-objects.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster, CommandResult } from "../cluster/cluster.js";
import { packageRoot } from "../package-root.js";
import { PowerstackError } from "../errors.js";
import { kubectlFailure, KUBECTL_TIMEOUT_SEC } from "../verify/kubectl-read.js";

// --- the objects' fields the run reads (Kubernetes batch/v1 Job, core/v1 Pod and Node) ------------------

export type { Condition, ContainerStatus, Meta, Terminated };

/** A pod as `kubectl get jobs,pods -o json` lists it (the list's items carry their kind). */
export interface Pod extends KubePod {
  kind: "Pod";
}

export interface Job {
  kind: "Job";
  metadata: Meta;
  spec?: { completions?: number };
  status?: { succeeded?: number; failed?: number; conditions?: Condition[] };
}

// --- kubectl, bounded and explained -----------------------------------------------------------------

/** Runs kubectl; a non-zero exit becomes the explained error, naming the command and the control node. */
export async function kubectl(
  cluster: Cluster,
  control: string,
  args: string[],
  opts: { stdin?: string; timeoutSec?: number } = {},
): Promise<string> {
  const timeoutSec = opts.timeoutSec ?? KUBECTL_TIMEOUT_SEC;
  const r: CommandResult = await cluster.kubectl(args, { stdin: opts.stdin, timeoutSec });
  if (r.code !== 0) throw kubectlFailure(`kubectl ${args.join(" ")}`, r.code, r.stderr || r.stdout, control);
  return r.stdout;
}

export function parseJson<T>(stdout: string, command: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new PowerstackError(
      `\`${command}\` did not print JSON: ${stdout.trim().slice(0, 120) || "(nothing)"}`,
      undefined,
      `run \`k3s ${command}\` on the control node to see what it prints`,
    );
  }
}

export function items<T>(stdout: string, command: string): T[] {
  const doc = parseJson<{ items?: T[] }>(stdout, command);
  if (!Array.isArray(doc.items))
    throw new PowerstackError(`\`${command}\` printed JSON without an items list`);
  return doc.items;
}

// --- versions.json ------------------------------------------------------------------------------------

export interface ChartRelease {
  release: string;
  namespace: string;
  chart: string;
  chartVersion: string;
  appVersion: string;
}

export interface Versions {
  powerstack: string;
  /** The API server's version, e.g. v1.31.4+k3s1. */
  k3s: string;
  kepler?: ChartRelease;
  kubePrometheusStack?: ChartRelease;
  /** Every Helm release of the cluster, for whatever else a reader wants to know. */
  releases: ChartRelease[];
}

interface HelmListEntry {
  name: string;
  namespace: string;
  chart: string;
  app_version?: string;
}

/** `kepler-0.5.9` -> [kepler, 0.5.9]; Helm joins the chart's name and version with the last dash before a version. */
export function splitChart(chart: string): [string, string] {
  const m = /^(.+?)-(v?\d+\.\d+\.\d+.*)$/.exec(chart);
  return m ? [m[1]!, m[2]!] : [chart, ""];
}

export function powerstackVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

export async function readVersions(cluster: Cluster, control: string): Promise<Versions> {
  const version = parseJson<{ serverVersion?: { gitVersion?: string } }>(
    await kubectl(cluster, control, ["version", "-o", "json"]),
    "kubectl version -o json",
  );
  const r = await cluster.helm(["list", "-A", "-o", "json"], { timeoutSec: KUBECTL_TIMEOUT_SEC });
  if (r.code !== 0)
    throw new PowerstackError(
      `\`helm list -A -o json\` on ${control} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" / ")}`,
      undefined,
      "run `powerstack verify`: the experiment needs the monitoring stack that `powerstack up` installs",
    );
  const releases = parseJson<HelmListEntry[]>(r.stdout || "[]", "helm list -A -o json").map(
    (e): ChartRelease => {
      const [chart, chartVersion] = splitChart(e.chart);
      return {
        release: e.name,
        namespace: e.namespace,
        chart,
        chartVersion,
        appVersion: e.app_version ?? "",
      };
    },
  );
  return {
    powerstack: powerstackVersion(),
    k3s: version.serverVersion?.gitVersion ?? "unknown",
    kepler: releases.find((x) => x.chart === "kepler"),
    kubePrometheusStack: releases.find((x) => x.chart === "kube-prometheus-stack"),
    releases,
  };
}

// --- nodes.json ---------------------------------------------------------------------------------------

export interface NodeFacts {
  name: string;
  kernel: string;
  os: string;
  architecture: string;
  cpu: string;
  memory: string;
  /** The kubelet's version: K3s's on that node (v1.31.4+k3s1). */
  k3s: string;
  containerRuntime: string;
}

interface KubeNode {
  metadata: Meta;
  status?: {
    capacity?: { cpu?: string; memory?: string };
    nodeInfo?: {
      kernelVersion?: string;
      osImage?: string;
      architecture?: string;
      kubeletVersion?: string;
      containerRuntimeVersion?: string;
    };
  };
}

export function nodeFacts(n: KubeNode): NodeFacts {
  const info = n.status?.nodeInfo ?? {};
  return {
    name: n.metadata.name,
    kernel: info.kernelVersion ?? "",
    os: info.osImage ?? "",
    architecture: info.architecture ?? "",
    cpu: n.status?.capacity?.cpu ?? "",
    memory: n.status?.capacity?.memory ?? "",
    k3s: info.kubeletVersion ?? "",
    containerRuntime: info.containerRuntimeVersion ?? "",
  };
}

export async function readNodes(cluster: Cluster, control: string): Promise<NodeFacts[]> {
  const args = ["get", "nodes", "-o", "json"];
  return items<KubeNode>(await kubectl(cluster, control, args), `kubectl ${args.join(" ")}`).map(nodeFacts);
}
