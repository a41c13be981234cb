/**
 * The default values of the charts powerstack pins, shipped with powerstack (`charts/<chart>-<version>/`,
 * extracted unmodified from the packaged charts, see charts/README.md). They let powerstack check every key
 * path of the values it sends, its own and the user's `extra_values`, without Helm or a network: Helm
 * silently ignores a key it does not know, so a typo or a key a chart upgrade moved would otherwise go
 * unnoticed until the cluster misbehaves.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { packageRoot } from "../package-root.js";

export interface ChartDefaults {
  chart: string;
  version: string;
  /** values.yaml, with each subchart's defaults under its name (the parent's own section wins). */
  values: Record<string, unknown>;
  /** The raw text of every values file, where commented-out keys (`# existingClaim:`) are looked for. */
  text: string;
}

export const chartsDir = () => join(packageRoot(), "charts");

const cache = new Map<string, ChartDefaults | undefined>();

/** The defaults of `chart` at `version`, or undefined when powerstack does not ship that version. */
export function chartDefaults(chart: string, version: string): ChartDefaults | undefined {
  const key = `${chart}-${version}`;
  if (cache.has(key)) return cache.get(key);
  const dir = join(chartsDir(), key);
  let found: ChartDefaults | undefined;
  if (existsSync(join(dir, "values.yaml"))) {
    const own = readFileSync(join(dir, "values.yaml"), "utf8");
    const values = (parse(own) ?? {}) as Record<string, unknown>;
    const texts = [own];
    const subDir = join(dir, "charts");
    for (const sub of existsSync(subDir) ? readdirSync(subDir).sort() : []) {
      const file = join(subDir, sub, "values.yaml");
      if (!existsSync(file)) continue;
      const text = readFileSync(file, "utf8");
      texts.push(text);
      const parent = values[sub];
      values[sub] = deepMerge((parse(text) ?? {}) as Record<string, unknown>, isMap(parent) ? parent : {});
    }
    found = { chart, version, values, text: texts.join("\n") };
  }
  cache.set(key, found);
  return found;
}

export const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Helm's coalescing of values: maps merge key by key, anything else (lists too) is replaced. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(b) && isMap(v) ? deepMerge(b, v) : v;
  }
  return out;
}
