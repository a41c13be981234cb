/**
 * Does every key path of our rendered values exist in the chart's own default values? A typo
 * (`serviceMonitorSelectorNilUsesHelmValue`) or a key moved by a chart upgrade is silently ignored by Helm;
 * this finds it without a cluster.
 *
 * A leaf of ours (a scalar, a list, or an empty map) must exist in the upstream values at the same path,
 * except:
 *  - below a FREE-FORM path: the chart passes that subtree through (a StorageSpec of the operator's API,
 *    a map of rule groups, a labels map); the free-form key itself must exist upstream;
 *  - an UNLISTED key: the chart's templates read it but its values file leaves it out or comments it out
 *    (`# existingClaim:`); its parent must exist upstream, and a commented key must be found commented.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const UPSTREAM_DIR = join(import.meta.dirname, "upstream-values");

export interface Upstream {
  values: Record<string, unknown>;
  /** Raw text of the values files, where commented-out keys are looked for. */
  text: string;
}

export function upstream(...files: string[]): Upstream {
  const texts = files.map((f) => readFileSync(join(UPSTREAM_DIR, f), "utf8"));
  return { values: parse(texts[0]!) as Record<string, unknown>, text: texts.join("\n") };
}

let kpsCache: Upstream | undefined;

/** kube-prometheus-stack with its grafana subchart's defaults under `grafana.` (the parent's win). */
export function kubePrometheusStackUpstream(): Upstream {
  if (kpsCache) return kpsCache;
  const kps = upstream("kube-prometheus-stack.values.yaml", "grafana.values.yaml");
  const grafana = parse(readFileSync(join(UPSTREAM_DIR, "grafana.values.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  kps.values.grafana = deepMerge(grafana, kps.values.grafana as Record<string, unknown>);
  return (kpsCache = kps);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(b) && isMap(v) ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export function leafPaths(v: unknown, prefix: string[] = []): string[][] {
  if (!isMap(v) || Object.keys(v).length === 0) return [prefix];
  return Object.entries(v).flatMap(([k, child]) => leafPaths(child, [...prefix, k]));
}

function lookup(root: unknown, path: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const k of path) {
    if (!isMap(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) return { found: false };
    cur = cur[k];
  }
  return { found: true, value: cur };
}

export interface KeyRules {
  /** path -> why the chart passes anything below it through. */
  freeForm: Record<string, string>;
  /** path -> evidence; `commented: true` when the values file has it as a comment. */
  unlisted: Record<string, { commented: boolean; evidence: string }>;
}

/** Problems, one line each; [] when every path of ours exists upstream. */
export function unknownPaths(rendered: unknown, up: Upstream, rules: KeyRules): string[] {
  const problems: string[] = [];
  for (const path of leafPaths(rendered)) {
    const dotted = path.join(".");
    const free = Object.keys(rules.freeForm).find((f) => dotted === f || dotted.startsWith(`${f}.`));
    if (free) {
      if (!lookup(up.values, free.split(".")).found)
        problems.push(`${dotted}: free-form parent ${free} is not in the chart's values`);
      continue;
    }
    const parent = lookup(up.values, path.slice(0, -1));
    if (!parent.found || !isMap(parent.value)) {
      problems.push(`${dotted}: parent ${path.slice(0, -1).join(".")} is not a map in the chart's values`);
      continue;
    }
    const unlisted = rules.unlisted[dotted];
    if (unlisted) {
      const key = path.at(-1)!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (unlisted.commented && !new RegExp(`#\\s*${key}:`).test(up.text))
        problems.push(`${dotted}: listed as commented out upstream, but no \`# ${path.at(-1)}:\` found`);
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(parent.value, path.at(-1)!))
      problems.push(`${dotted}: not in the chart's values`);
  }
  return problems;
}
