/**
 * Teardown's confirmation list, made from the same actions that run: teardown first runs its plays in
 * check mode (facts read, actions planned, nothing applied), and this turns the recorded results into
 * the lines it shows before it asks. No role keeps a hand-written description of what it removes, so
 * the list cannot drift from what the modules do.
 *
 * What check mode cannot see, the list does not show either: a step that only becomes possible after an
 * earlier one (the mount point removed once the unmount before it ran) is planned on the real run.
 */
import type { TaskResult } from "./types.js";

/** The results a check run ended on that make its plan incomplete: a node not reached, a refusal, a stop. */
export function incompletePlan(results: readonly TaskResult[]): TaskResult[] {
  return results.filter(
    (r) => r.status === "failed" || r.status === "unreachable" || r.status === "interrupted",
  );
}

/** Play, then position in the node's task list, then the action's place among the task's. */
type Order = readonly [play: number, task: number, action: number];
const compare = (a: Order, b: Order) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** `teardown-storage: mount /mnt/data` -> `teardown-storage` (tasksFromRoles names every task so). */
const roleOf = (task: string) => /^([^:\s]+): /.exec(task)?.[1];

/**
 * Per role, in run order, each planned change with the nodes it is planned on (in `nodeOrder`, the
 * inventory's):
 *
 *     teardown-helm
 *       ctl          helm uninstall kepler -n kepler
 *     teardown-kernel
 *       ctl, w1, w2  remove /etc/sysctl.d/90-powerstack.conf
 *
 * A handler (named by itself, not by its role) is listed under the role that ran last on its node in that
 * play, which is the one that notified it. Empty when nothing is planned.
 */
export function confirmationList(results: readonly TaskResult[], nodeOrder: readonly string[]): string[] {
  interface Row {
    order: Order;
    role: string;
    summary: string;
    hosts: string[];
  }
  const plays: string[] = [];
  /** Position of a result among its node's results in its play: the same task list gives the same order. */
  const position = new Map<string, number>();
  const lastRole = new Map<string, string>();
  const rows = new Map<string, Row>();
  for (const r of results) {
    if (!plays.includes(r.play)) plays.push(r.play);
    const at = `${r.play}\0${r.host}`;
    const pos = position.get(at) ?? 0;
    position.set(at, pos + 1);
    const role = (!r.handler && roleOf(r.task)) || lastRole.get(at) || r.play;
    lastRole.set(at, role);
    if (r.status !== "changed") continue;
    r.changes.forEach((c, i) => {
      const key = `${role}\0${c.summary}`;
      const order: Order = [plays.indexOf(r.play), pos, i];
      const row = rows.get(key);
      if (!row) rows.set(key, { order, role, summary: c.summary, hosts: [r.host] });
      else {
        // Nodes of a play run in parallel: their results arrive in any order, the list does not.
        if (!row.hosts.includes(r.host)) row.hosts.push(r.host);
        if (compare(order, row.order) < 0) row.order = order;
      }
    });
  }
  const sorted = [...rows.values()].sort(
    (a, b) => compare(a.order, b.order) || a.role.localeCompare(b.role) || a.summary.localeCompare(b.summary),
  );
  const rank = (h: string) => (nodeOrder.includes(h) ? nodeOrder.indexOf(h) : nodeOrder.length);
  for (const r of sorted) r.hosts.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const width = Math.max(0, ...sorted.map((r) => r.hosts.join(", ").length));
  const lines: string[] = [];
  let heading: string | undefined;
  for (const r of sorted) {
    if (r.role !== heading) lines.push((heading = r.role));
    lines.push(`  ${r.hosts.join(", ").padEnd(width)}  ${r.summary}`);
  }
  return lines;
}
