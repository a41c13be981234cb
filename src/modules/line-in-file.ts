/**
 * A line (or a marked block) in a file that also holds lines powerstack does not own (fstab, exports).
 * The new content is computed locally from the probed content (plan stays pure), then written whole and
 * atomically, keeping the file's mode and owner.
 */
import type { ShellModule } from "../engine/types.js";
import { parseFileProbe, probeFileCommand, writeFileAtomic, type RemoteFile } from "./remote-file.js";

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

export const lineInFile: ShellModule<LineParams, RemoteFile> = {
  name: "line",
  probe: (p) => ({ command: probeFileCommand(p.path), parse: parseFileProbe }),
  plan(seen, p) {
    if (!seen.exists && p.state === "absent") return [];
    const before = seen.content ?? "";
    const after = editLines(before, p);
    if (after === before && seen.exists) return [];
    const verb = p.state === "absent" ? "remove" : seen.exists ? "set" : "create with";
    return [{ summary: `${verb} line in ${p.path}: ${p.line}`, diff: { path: p.path, before, after } }];
  },
  async apply({ host }, p, changes) {
    await writeFileAtomic(host, p.path, changes[0]!.diff!.after, p.mode ? { mode: p.mode } : {});
  },
};

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

export const blockInFile: ShellModule<BlockParams, RemoteFile> = {
  name: "block",
  probe: (p) => ({ command: probeFileCommand(p.path), parse: parseFileProbe }),
  plan(seen, p) {
    const before = seen.content ?? "";
    const after = editBlock(before, p);
    if (after === before && (seen.exists || p.block === "")) return [];
    return [
      {
        summary: `${p.block === "" ? "remove" : "set"} block ${p.marker} in ${p.path}`,
        diff: { path: p.path, before, after },
      },
    ];
  },
  async apply({ host }, p, changes) {
    await writeFileAtomic(host, p.path, changes[0]!.diff!.after, p.mode ? { mode: p.mode } : {});
  },
};
