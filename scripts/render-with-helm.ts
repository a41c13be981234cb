/**
 * For the lab demo: feed what `powerstack render DIR` wrote to the real Helm (the dev dependency's Helm
 * 3.17.3, the pinned charts of the shared reference set), as `up` would install it, and print what each
 * release would create. Offline: nothing is contacted. Usage: tsx scripts/render-with-helm.ts DIR
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { RenderIndex } from "../src/render/write.js";
import { chartsAvailable, helmTemplate, pinnedChartFor, realTools } from "../test/support/real-helm.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: tsx scripts/render-with-helm.ts DIR (written by `powerstack render DIR`)");
if (!chartsAvailable()) process.exit(0);
const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as RenderIndex;
for (const r of index.releases) {
  const manifests = await helmTemplate({
    release: r.name,
    namespace: r.namespace,
    chart: pinnedChartFor(r),
    values: readFileSync(join(dir, r.values), "utf8"),
    postRenderer: r.post_render ? join(dir, r.post_render) : undefined,
    apiVersions: ["monitoring.coreos.com/v1"],
    env: { POWERSTACK_KUBECTL: realTools().kubectl },
  });
  const kinds = new Map<string, number>();
  for (const d of parseAllDocuments(manifests)) {
    const kind = (d.toJS() as { kind?: string } | null)?.kind;
    if (kind) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const total = [...kinds.values()].reduce((a, b) => a + b, 0);
  console.log(`${r.name} ${r.version} (${r.chart}): helm template renders ${total} objects`);
  console.log(`  ${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}`);
}
