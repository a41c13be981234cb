/** The user's `extra_values` over the values powerstack renders: merged last, as Helm merges values files. */
import { parse, stringify } from "yaml";
import { deepMerge } from "./defaults.js";

export function withExtraValues(rendered: string, extra: Record<string, unknown>, source: string): string {
  if (Object.keys(extra).length === 0) return rendered;
  const merged = deepMerge((parse(rendered) ?? {}) as Record<string, unknown>, extra);
  return (
    `# Rendered by powerstack, then ${source} merged over it (maps key by key, other values replaced).\n` +
    stringify(merged, { lineWidth: 0 })
  );
}
