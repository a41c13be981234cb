/**
 * `extra_values` of a release: Helm values the user adds over powerstack's (an image tag, a resource limit,
 * an environment variable). Helm ignores keys it does not know, so each key path is checked here, at load
 * time, against the default values of the exact chart version `up` will install, with the same rules as
 * powerstack's own values (src/charts/), and reported at its line in the inventory.
 */
import { chartDefaults } from "../charts/defaults.js";
import { unknownKeyPaths, type KeyRules } from "../charts/key-paths.js";
import type { Path, SourceMap } from "./schema-walker.js";

export function checkExtraValues(
  src: SourceMap,
  at: Path,
  values: Record<string, unknown>,
  chart: string,
  version: string,
  rules: KeyRules,
): void {
  if (Object.keys(values).length === 0) return;
  const defaults = chartDefaults(chart, version);
  if (!defaults) {
    src.report(
      at,
      `powerstack cannot check these values: it ships the default values of ${chart} only for the versions it pins, not ${version}`,
      "use the pinned chart version (remove `chart_version`), or drop `extra_values`",
    );
    return;
  }
  for (const { path, problem } of unknownKeyPaths(values, defaults, rules)) {
    src.report(
      [...at, ...path],
      `\`${path.join(".")}\` is not a value of ${chart} ${version}: ${problem}`,
      `check the key in \`helm show values ${chart} --version ${version}\` (Helm would silently ignore it)`,
      "key",
    );
  }
}
