/**
 * The monitoring release as `up` would send it, rendered by the REAL Helm against the pinned chart, and the
 * real Prometheus/Alertmanager tools (`promtool`, `amtool`, Debian's prometheus and prometheus-alertmanager)
 * to check what comes out. Inventories: inventory/example.yaml as shipped, and variants of its text.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { parseInventory } from "../../src/inventory/load.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import { renderArtifacts, type RenderedRelease } from "../../src/render/artifacts.js";
import { helmTemplate } from "../support/real-helm.js";

const run = promisify(execFile);

export const EXAMPLE_INVENTORY = join(packageRoot(), "inventory", "example.yaml");

/** inventory/example.yaml, optionally with Slack removed and/or the other Kepler line. */
export function exampleInventory(o: { slack?: boolean; flavour?: "current" | "legacy" } = {}): Inventory {
  let text = readFileSync(EXAMPLE_INVENTORY, "utf8");
  if (o.slack === false) {
    const before = text;
    text = text.replace(/^\s*slack_webhook_secret:.*\n/m, "").replace(/^\s*slack_channel:.*\n/m, "");
    if (text === before) throw new Error("example inventory: no slack keys to remove");
  }
  if (o.flavour) text = text.replace(/flavour: current\b/, `flavour: ${o.flavour}`);
  return parseInventory(text, EXAMPLE_INVENTORY);
}

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [k: string]: unknown;
}

/** The kube-prometheus-stack release of `renderArtifacts` (exact values YAML `up` sends). */
export function monitoringRelease(inv: Inventory): RenderedRelease {
  const rel = renderArtifacts(inv).releases.find((r) => r.chart.endsWith("kube-prometheus-stack"));
  if (!rel) throw new Error("renderArtifacts: no kube-prometheus-stack release");
  return rel;
}

/** `helm template` of the pinned chart with those values; every manifest, parsed. */
export async function renderMonitoring(
  inv: Inventory,
): Promise<{ release: RenderedRelease; docs: KubeDoc[] }> {
  const release = monitoringRelease(inv);
  const out = await helmTemplate({
    release: release.name,
    namespace: release.namespace,
    chart: "kubePrometheusStack",
    values: release.values,
    // K3s serves the operator's CRDs once the chart installed them; the chart gates some objects on these.
    apiVersions: ["monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1"],
  });
  const docs = parseAllDocuments(out)
    .map((d) => d.toJS() as KubeDoc | null)
    .filter((d): d is KubeDoc => !!d && typeof d === "object" && "kind" in d);
  return { release, docs };
}

export interface RuleGroup {
  name: string;
  rules: Array<{
    alert?: string;
    record?: string;
    expr: string | number;
    for?: string;
    labels?: Record<string, string>;
  }>;
}

/** Every rule group of every PrometheusRule, with the object it came from. */
export function ruleGroups(docs: KubeDoc[]): Array<{ object: string; group: RuleGroup }> {
  return docs
    .filter((d) => d.kind === "PrometheusRule")
    .flatMap((d) =>
      ((d.spec?.groups ?? []) as RuleGroup[]).map((group) => ({ object: d.metadata.name, group })),
    );
}

/** The Alertmanager config the chart renders into Secret `alertmanager-<fullname>-alertmanager`. */
export function alertmanagerConfig(docs: KubeDoc[]): { secret: string; yaml: string } {
  const s = docs.find((d) => d.kind === "Secret" && /^alertmanager-.*-alertmanager$/.test(d.metadata.name));
  const b64 = s?.data?.["alertmanager.yaml"];
  if (!s || !b64) throw new Error("no Alertmanager config Secret in the render");
  return { secret: s.metadata.name, yaml: Buffer.from(b64, "base64").toString("utf8") };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `powerstack-${prefix}-`));
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a real tool; a non-zero exit is a result, not a throw. */
export async function tool(bin: string, args: string[]): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(bin, args, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== "number") throw e;
    return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

/** `promtool check rules` on each group, one rules file per group; returns files and the tool's verdict. */
export async function promtoolCheckGroups(
  groups: Array<{ object: string; group: RuleGroup }>,
  dir: string,
  flags: string[] = [],
): Promise<{ files: string[]; result: ToolResult }> {
  const files = groups.map(({ object, group }, i) => {
    const f = join(
      dir,
      `${String(i).padStart(3, "0")}-${object}-${group.name}.rules.yaml`.replace(/[^\w.-]/g, "_"),
    );
    writeFileSync(f, stringify({ groups: [group] }, { lineWidth: 0 }));
    return f;
  });
  return { files, result: await tool("promtool", ["check", "rules", ...flags, ...files]) };
}

/** `amtool config routes test`: the receiver(s) an alert with these labels goes to. */
export async function amRoute(configFile: string, labels: Record<string, string>): Promise<string> {
  const r = await tool("amtool", [
    "config",
    "routes",
    "test",
    `--config.file=${configFile}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  ]);
  if (r.code !== 0) throw new Error(`amtool config routes test failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}
