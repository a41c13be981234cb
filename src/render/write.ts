/**
 * `powerstack render DIR` on disk: a stable layout and an index, so a directory rendered twice from the
 * same inventory is identical byte for byte (diffable, committable to a GitOps repository):
 *
 *   DIR/index.json                          what is where (paths relative to DIR)
 *   DIR/nodes/<node>/k3s-config.yaml        /etc/rancher/k3s/config.yaml of that node
 *   DIR/releases/<release>/values.yaml      the values Helm gets on stdin
 *   DIR/releases/<release>/post-render.sh   the post-renderer (and patch.yaml beside it), when there is one
 *   DIR/manifests/<name>.yaml               every object powerstack applies itself, one file per step
 *
 * Files powerstack wrote before and no longer renders (a node removed from the inventory) are removed;
 * anything else in DIR is left alone.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import type { Rendered } from "./artifacts.js";

export interface RenderIndex {
  nodes: Array<{ name: string; k3s_config: string }>;
  releases: Array<{
    name: string;
    namespace: string;
    chart: string;
    version: string;
    values: string;
    post_render?: string;
  }>;
  manifests: string[];
}

export const POST_RENDER_SCRIPT_FILE = "post-render.sh";
/** The post-renderer finds its patch beside itself (templates/kepler-post-render.sh.hbs). */
export const POST_RENDER_PATCH_FILE = "patch.yaml";

export function renderFiles(r: Rendered): {
  index: RenderIndex;
  files: Map<string, { content: string; mode: number }>;
} {
  const files = new Map<string, { content: string; mode: number }>();
  const put = (path: string, content: string, mode = 0o644) => files.set(path, { content, mode });
  const index: RenderIndex = { nodes: [], releases: [], manifests: [] };
  for (const n of r.nodes) {
    const path = `nodes/${n.name}/k3s-config.yaml`;
    put(path, n.k3sConfig, 0o600);
    index.nodes.push({ name: n.name, k3s_config: path });
  }
  for (const rel of r.releases) {
    const values = `releases/${rel.name}/values.yaml`;
    put(values, rel.values);
    const entry: RenderIndex["releases"][number] = {
      name: rel.name,
      namespace: rel.namespace,
      chart: rel.chart,
      version: rel.version,
      values,
    };
    if (rel.postRender) {
      const script = `releases/${rel.name}/${POST_RENDER_SCRIPT_FILE}`;
      put(script, rel.postRender.script, 0o755);
      put(`releases/${rel.name}/${POST_RENDER_PATCH_FILE}`, rel.postRender.patch);
      entry.post_render = script;
    }
    index.releases.push(entry);
  }
  for (const m of r.manifests) {
    const path = `manifests/${m.name}`;
    put(
      path,
      `# Applied by powerstack (role ${m.role}) with kubectl apply --server-side.\n` +
        m.objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(""),
    );
    index.manifests.push(path);
  }
  put("index.json", `${JSON.stringify(index, null, 2)}\n`);
  return { index, files };
}

export function writeRendered(dir: string, r: Rendered): RenderIndex {
  const { index, files } = renderFiles(r);
  const indexFile = join(dir, "index.json");
  if (existsSync(indexFile))
    removeStale(dir, JSON.parse(readFileSync(indexFile, "utf8")) as RenderIndex, files);
  for (const [path, { content, mode }] of files) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content, { mode });
    // writeFileSync's mode applies only to a new file: a K3s config holding the token stays 0600 regardless.
    chmodSync(full, mode);
  }
  return index;
}

function removeStale(dir: string, old: RenderIndex, keep: Map<string, unknown>): void {
  const paths = [
    ...old.nodes.map((n) => n.k3s_config),
    ...old.releases.flatMap((r) => [
      r.values,
      ...(r.post_render ? [r.post_render, join(dirname(r.post_render), POST_RENDER_PATCH_FILE)] : []),
    ]),
    ...old.manifests,
  ];
  for (const p of paths) if (!keep.has(p) && !p.includes("..")) rmSync(join(dir, p), { force: true });
}
