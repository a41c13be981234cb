/**
 * Unified diff of two texts, for --diff. Files powerstack manages are small (config files), so a plain
 * LCS table is fast enough and keeps us free of a diff dependency.
 */
import type { Change } from "./types.js";

type Op = { kind: " " | "-" | "+"; text: string; ai: number; bi: number };

function lines(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** The edit script from `a` to `b`, line by line. */
function diffOps(a: string[], b: string[]): Op[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ kind: " ", text: a[i]!, ai: i++, bi: j++ });
    // Deletions before insertions, as `diff -u` prints a replaced line.
    else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
      ops.push({ kind: "-", text: a[i]!, ai: i++, bi: j });
    else ops.push({ kind: "+", text: b[j]!, ai: i, bi: j++ });
  }
  return ops;
}

/** `diff -u` of two texts, `context` lines around each change. */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  const ops = diffOps(lines(before), lines(after));
  const out = [`--- ${path} (before)`, `+++ ${path} (after)`];
  for (let k = 0; k < ops.length;) {
    if (ops[k]!.kind === " ") {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last nearby change.
    let start = Math.max(0, k - context);
    let end = k;
    while (end < ops.length) {
      if (ops[end]!.kind !== " ") {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < ops.length && ops[end + run]!.kind === " ") run++;
      if (end + run >= ops.length || run > 2 * context) {
        end = Math.min(ops.length, end + context);
        break;
      }
      end += run;
    }
    const hunk = ops.slice(start, end);
    const aLen = hunk.filter((o) => o.kind !== "+").length;
    const bLen = hunk.filter((o) => o.kind !== "-").length;
    out.push(
      `@@ -${aLen ? hunk[0]!.ai + 1 : hunk[0]!.ai},${aLen} +${bLen ? hunk[0]!.bi + 1 : hunk[0]!.bi},${bLen} @@`,
    );
    for (const o of hunk) out.push(o.kind + o.text);
    k = end;
    start = end;
  }
  return out.join("\n");
}

/**
 * How many lines differ: each run of removed and added lines counts as its longer side, so a line
 * replaced is one line changed, as a reader would say.
 */
export function changedLineCount(before: string, after: string): number {
  let count = 0;
  let removed = 0;
  let added = 0;
  for (const op of [...diffOps(lines(before), lines(after)), undefined]) {
    if (op?.kind === "-") removed++;
    else if (op?.kind === "+") added++;
    else {
      count += Math.max(removed, added);
      removed = added = 0;
    }
  }
  return count;
}

/** What stands in for the content of a sensitive diff, wherever a diff would be shown or logged. */
export function sensitiveNote(before: string, after: string): string {
  const n = changedLineCount(before, after);
  return `(sensitive: ${n} line${n === 1 ? "" : "s"} changed)`;
}

/**
 * The text of a change's diff as it may leave the process (--diff, --json, the run log): the unified
 * diff, or for a sensitive change its headers and sensitiveNote, never its lines.
 */
export function diffText(c: Change): string | undefined {
  if (!c.diff) return undefined;
  const { path, before, after } = c.diff;
  if (c.sensitive)
    return [`--- ${path} (before)`, `+++ ${path} (after)`, sensitiveNote(before, after)].join("\n");
  return unifiedDiff(path, before, after);
}
