/**
 * Unified diff of two texts, for --diff. Files powerstack manages are small (config files), so a plain
 * LCS table is fast enough and keeps us free of a diff dependency.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  const a = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const b = after === "" ? [] : after.replace(/\n$/, "").split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  type Op = { kind: " " | "-" | "+"; text: string; ai: number; bi: number };
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
