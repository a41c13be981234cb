/**
 * Does every key path of a values tree exist in the chart's own default values? A leaf (a scalar, a list,
 * or an empty map) must exist in the defaults at the same path, except:
 *  - below a FREE-FORM path: the chart passes that subtree through (a StorageSpec of the operator's API, a
 *    map of rule groups, a labels map); the free-form key itself must exist in the defaults;
 *  - an UNLISTED key: the chart's templates read it but its values file leaves it out or comments it out
 *    (`# existingClaim:`); its parent must exist, and a commented key must be found commented.
 */
import { isMap, type ChartDefaults } from "./defaults.js";

export interface KeyRules {
  /** path -> why the chart passes anything below it through. */
  freeForm: Record<string, string>;
  /** path -> evidence; `commented: true` when the values file has it as a comment. */
  unlisted: Record<string, { commented: boolean; evidence: string }>;
}

export interface UnknownPath {
  path: string[];
  problem: string;
}

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

/** Every path of `values` the chart does not know, with why; [] when all are known. */
export function unknownKeyPaths(values: unknown, up: ChartDefaults, rules: KeyRules): UnknownPath[] {
  const problems: UnknownPath[] = [];
  for (const path of leafPaths(values)) {
    const dotted = path.join(".");
    const free = Object.keys(rules.freeForm).find((f) => dotted === f || dotted.startsWith(`${f}.`));
    if (free) {
      if (!lookup(up.values, free.split(".")).found)
        problems.push({ path, problem: `free-form parent ${free} is not in the chart's values` });
      continue;
    }
    const parent = lookup(up.values, path.slice(0, -1));
    if (!parent.found || !isMap(parent.value)) {
      problems.push({
        path,
        problem: `parent ${path.slice(0, -1).join(".")} is not a map in the chart's values`,
      });
      continue;
    }
    const unlisted = rules.unlisted[dotted];
    if (unlisted) {
      const key = path.at(-1)!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (unlisted.commented && !new RegExp(`#\\s*${key}:`).test(up.text))
        problems.push({
          path,
          problem: `listed as commented out upstream, but no \`# ${path.at(-1)}:\` found`,
        });
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(parent.value, path.at(-1)!))
      problems.push({ path, problem: "not in the chart's values" });
  }
  return problems;
}

/** The same, one line each (`a.b.c: not in the chart's values`), for tests and messages. */
export const unknownPaths = (values: unknown, up: ChartDefaults, rules: KeyRules): string[] =>
  unknownKeyPaths(values, up, rules).map((p) => `${p.path.join(".")}: ${p.problem}`);
