/**
 * Render what `up` sends through the REAL Helm, as a user of `powerstack render` would: the artifacts are
 * written with writeRendered into a temp directory, and each release of its index.json is templated from
 * there (values.yaml on stdin, the post-renderer beside it run with the real kubectl's kustomize) against
 * the exact pinned chart. Shared by the tests that check the rendered manifests (cross-references, ...).
 *
 * helm template is given what the pinned K3s serves: Kubernetes 1.31.4 and monitoring.coreos.com/v1 (the
 * charts gate their ServiceMonitors on it).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { loadInventory, parseInventory } from "../../src/inventory/load.js";
import type { Inventory } from "../../src/inventory/types.js";
import { quantityValue } from "../../src/modules/kube-apply.js";
import { packageRoot } from "../../src/package-root.js";
import { renderArtifacts } from "../../src/render/artifacts.js";
import { writeRendered, type RenderIndex } from "../../src/render/write.js";
import { helmTemplate, pinnedChartFor, realTools, type PinnedChart } from "../support/real-helm.js";
import { inventory, type InventoryOptions } from "./fixtures.js";

/** A rendered Kubernetes object, loosely typed: tests navigate it and say what is missing. */
export type Obj = Record<string, any>;

export const KUBE_VERSION = "1.31.4";
export const API_VERSIONS = ["monitoring.coreos.com/v1"];

export interface Variant {
  name: string;
  inventory: () => Inventory;
}

export const exampleInventory = () => loadInventory(join(packageRoot(), "inventory", "example.yaml"));

const fixture = (name: string, o: InventoryOptions): Variant => ({ name, inventory: () => inventory(o) });

/** inventory/example.yaml with its text edited (each edit must apply: a no-op edit throws). */
function editedExample(edits: Array<[RegExp, string]>): Inventory {
  const file = join(packageRoot(), "inventory", "example.yaml");
  let text = readFileSync(file, "utf8");
  for (const [re, to] of edits) {
    const before = text;
    text = text.replace(re, to);
    if (text === before) throw new Error(`example inventory: ${re} matched nothing`);
  }
  return parseInventory(text, file);
}

/** The example inventory and the variants that change what is rendered. */
export const VARIANTS: Variant[] = [
  { name: "example inventory (current Kepler, Slack, 3 BMCs)", inventory: exampleInventory },
  fixture("current Kepler, Slack on", { flavour: "current", slack: true }),
  fixture("current Kepler, Slack off", { flavour: "current", slack: false }),
  fixture("current Kepler, worker without a BMC (Redfish for the others)", {
    flavour: "current",
    bmcs: ["ctl"],
  }),
  fixture("legacy Kepler, Slack on", { flavour: "legacy", slack: true }),
  fixture("legacy Kepler, Slack off", { flavour: "legacy", slack: false }),
  fixture("legacy Kepler, worker without a BMC", { flavour: "legacy", bmcs: ["ctl"] }),
  {
    // The legacy chart's default scrapeTimeout (5s) above a 3s interval: Prometheus would refuse it.
    name: "example inventory, legacy Kepler, 3s scrape interval",
    inventory: () =>
      editedExample([
        [/^(\s+)scrape_interval: 15s\n/m, "$1scrape_interval: 3s\n"],
        [/^(\s+)flavour: current.*\n/m, "$1flavour: legacy\n"],
      ]),
  },
  {
    // Nothing may assume the default namespaces (claimRefs, secret paths, URLs, selectors).
    name: "example inventory in other namespaces (monitoring: observability, kepler: energy; legacy)",
    inventory: () =>
      editedExample([
        [/^(\s+)retention: 30d\n/m, "$1retention: 30d\n$1namespace: observability\n"],
        [/^(\s+)flavour: current.*\n/m, "$1flavour: legacy\n$1namespace: energy\n"],
      ]),
  },
];

export interface RenderedRelease {
  entry: RenderIndex["releases"][number];
  chart: PinnedChart;
  /** The values file as written by writeRendered, parsed. */
  values: Obj;
  objects: Obj[];
  /** Wall time of `helm template` (with the post-renderer). */
  ms: number;
}

export interface RenderedVariant {
  name: string;
  inventory: Inventory;
  dir: string;
  index: RenderIndex;
  releases: Record<string, RenderedRelease>;
  /** By path relative to dir (`manifests/kepler.yaml`). */
  manifests: Record<string, Obj[]>;
}

export function parseObjects(text: string, source: string): Obj[] {
  return parseAllDocuments(text).flatMap((d, i) => {
    if (d.errors.length) throw new Error(`${source}: document ${i}: ${d.errors[0]!.message}`);
    const o = d.toJS() as Obj | null;
    return o ? [o] : [];
  });
}

/** Write the artifacts as `powerstack render` does, then template each release through the real Helm. */
export async function renderVariant(name: string, inv: Inventory): Promise<RenderedVariant> {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-rendered-"));
  const index = writeRendered(dir, renderArtifacts(inv));
  const read = (p: string) => readFileSync(join(dir, p), "utf8");
  const manifests = Object.fromEntries(index.manifests.map((p) => [p, parseObjects(read(p), p)]));
  const releases = Object.fromEntries(
    await Promise.all(
      index.releases.map(async (entry) => {
        const chart = pinnedChartFor(entry);
        const values = read(entry.values);
        const t0 = Date.now();
        const out = await helmTemplate({
          release: entry.name,
          namespace: entry.namespace,
          chart,
          values,
          postRenderer: entry.post_render ? join(dir, entry.post_render) : undefined,
          kubeVersion: KUBE_VERSION,
          apiVersions: API_VERSIONS,
          env: { POWERSTACK_KUBECTL: realTools().kubectl },
        });
        const ms = Date.now() - t0;
        const rel: RenderedRelease = {
          entry,
          chart,
          values: (parse(values) as Obj | null) ?? {},
          objects: parseObjects(out, `helm template ${entry.name}`),
          ms,
        };
        return [entry.name, rel] as const;
      }),
    ),
  );
  return { name, inventory: inv, dir, index, releases, manifests };
}

// ---- helpers to navigate rendered objects -------------------------------------------------------------

export const allManifestObjects = (v: RenderedVariant) => Object.values(v.manifests).flat();

export const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);

export function one(objs: Obj[], kind: string, what = kind): Obj {
  const found = ofKind(objs, kind);
  if (found.length !== 1)
    throw new Error(
      `expected exactly one ${what}, found ${found.length}: ${found.map((o) => o.metadata?.name).join(", ")}`,
    );
  return found[0]!;
}

export const nsOf = (o: Obj, defaultNs: string): string => o.metadata?.namespace ?? defaultNs;

/** The pod template of a workload (Deployment, DaemonSet, StatefulSet, Job, CronJob, Pod). */
export function podSpec(o: Obj): Obj | undefined {
  if (o.kind === "Pod") return o.spec;
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template?.spec;
  if (["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"].includes(o.kind))
    return o.spec?.template?.spec;
  return undefined;
}

export const containersOf = (spec: Obj): Obj[] => [
  ...(spec.initContainers ?? []),
  ...(spec.containers ?? []),
  ...(spec.ephemeralContainers ?? []),
];

/**
 * A Kubernetes label selector (matchLabels and matchExpressions) against a label set. `null`/undefined
 * is "no selector" and the caller decides what that means (the operator: nothing, or own namespace).
 */
export function selectorMatches(selector: Obj, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as Array<{
    key: string;
    operator: string;
    values?: string[];
  }>) {
    const has = e.key in labels;
    const val = labels[e.key];
    const ok =
      e.operator === "In"
        ? has && (e.values ?? []).includes(val!)
        : e.operator === "NotIn"
          ? !has || !(e.values ?? []).includes(val!)
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/** Whether a pod's tolerations tolerate a taint (core/v1 Toleration.ToleratesTaint semantics). */
export function tolerates(
  tolerations: Obj[] | undefined,
  taint: { key: string; value?: string; effect: string },
): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.key && t.key !== taint.key) return false;
    if (!t.key && t.operator !== "Exists") return false;
    if ((t.operator ?? "Equal") === "Exists") return true;
    return (t.value ?? "") === (taint.value ?? "");
  });
}

/** Bytes of a Kubernetes quantity (`50Gi`, `500M`); throws on a quantity it cannot read. */
export function bytes(q: string | number): number {
  const v = quantityValue(String(q));
  if (v === undefined) throw new Error(`not a quantity: ${q}`);
  return v;
}

/** The keys a Secret object carries (data and stringData). */
export const secretKeys = (s: Obj): string[] => [
  ...Object.keys(s.data ?? {}),
  ...Object.keys(s.stringData ?? {}),
];

/** A Secret's value of one key, decoded. */
export function secretValue(s: Obj, key: string): string | undefined {
  if (s.stringData?.[key] !== undefined) return String(s.stringData[key]);
  if (s.data?.[key] !== undefined) return Buffer.from(String(s.data[key]), "base64").toString("utf8");
  return undefined;
}
