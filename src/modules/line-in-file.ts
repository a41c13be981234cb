/**
 * A line (or a marked block) in a file that also holds lines powerstack does not own (fstab, exports).
 * The new content is computed locally from the probed content (plan stays pure), then written whole and
 * atomically, keeping the file's mode and owner.
 */
import type { FileDiff, Module } from "../engine/types.js";
import { afterWriting, file, type RemoteFile } from "../facts/file.js";
import type { Host } from "../transport/host.js";
import { writeFileAtomic } from "./remote-file.js";

/** The one action of both modules here: write the edited file (the diff's `after`). */
export type EditAction = { kind: "edit"; diff: FileDiff; verb: string };

export interface LineParams {
  path: string;
  /** The line as it must appear. */
  line: string;
  /** Lines matching this are replaced by `line` (the last one kept; others removed); default: exact match. */
  match?: RegExp;
  state?: "present" | "absent";
  /** Mode for a file that does not exist yet. */
  mode?: string;
}

export function editLines(content: string, p: LineParams): string {
  const lines = content === "" ? [] : content.replace(/\n$/, "").split("\n");
  const hits = (l: string) => (p.match ? p.match.test(l) : l === p.line);
  if (p.state === "absent") return joinLines(lines.filter((l) => !hits(l)));
  const idx = lines.map((l, i) => (hits(l) ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 0) return joinLines([...lines, p.line]);
  const last = idx[idx.length - 1]!;
  return joinLines(lines.flatMap((l, i) => (i === last ? [p.line] : idx.includes(i) ? [] : [l])));
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

export const lineInFile: Module<LineParams, { path: RemoteFile }, EditAction> = {
  name: "line",
  reads: (p) => ({ path: file.of(p.path) }),
  plan({ path: seen }, p) {
    if (!seen.exists && p.state === "absent") return [];
    const before = seen.content ?? "";
    const after = editLines(before, p);
    if (after === before && seen.exists) return [];
    const verb = p.state === "absent" ? "remove" : seen.exists ? "set" : "create with";
    return [{ kind: "edit", verb, diff: { path: p.path, before, after } }];
  },
  describe: (a, p) => `${a.verb} line in ${p.path}: ${p.line}`,
  touches: (_a, p) => afterWriting(p.path),
  apply: (ctx, actions, p) => writeEdit(ctx.host, actions, p),
};

async function writeEdit(host: Host, actions: EditAction[], p: { path: string; mode?: string }) {
  for (const a of actions) await writeFileAtomic(host, p.path, a.diff.after, p.mode ? { mode: p.mode } : {});
}

export interface BlockParams {
  path: string;
  /** Identifies the block: `# BEGIN <marker>` ... `# END <marker>`. */
  marker: string;
  /** Block body without markers; empty removes the block. */
  block: string;
  mode?: string;
}

export function editBlock(content: string, p: BlockParams): string {
  const begin = `# BEGIN ${p.marker}`;
  const end = `# END ${p.marker}`;
  const lines = content === "" ? [] : content.replace(/\n$/, "").split("\n");
  const b = lines.indexOf(begin);
  const e = b >= 0 ? lines.indexOf(end, b) : -1;
  const body = p.block === "" ? [] : [begin, ...p.block.replace(/\n$/, "").split("\n"), end];
  const out = b >= 0 && e >= 0 ? [...lines.slice(0, b), ...body, ...lines.slice(e + 1)] : [...lines, ...body];
  return joinLines(out);
}

export const blockInFile: Module<BlockParams, { path: RemoteFile }, EditAction> = {
  name: "block",
  reads: (p) => ({ path: file.of(p.path) }),
  plan({ path: seen }, p) {
    const before = seen.content ?? "";
    const after = editBlock(before, p);
    if (after === before && (seen.exists || p.block === "")) return [];
    return [{ kind: "edit", verb: p.block === "" ? "remove" : "set", diff: { path: p.path, before, after } }];
  },
  describe: (a, p) => `${a.verb} block ${p.marker} in ${p.path}`,
  touches: (_a, p) => afterWriting(p.path),
  apply: (ctx, actions, p) => writeEdit(ctx.host, actions, p),
};
