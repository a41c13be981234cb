/**
 * `powerstack verify`: the real dependencies (SSH to every node, kubectl on the control node, Redfish
 * clients, Prometheus and Grafana at the control node's NodePorts) handed to src/verify/verify.ts, and
 * its results printed as a table, or as JSON with `--json`. Exit code: 0 all pass, 1 a check failed,
 * 3 something could not be reached.
 */
import type { ParsedCommand } from "./argv.js";
import type { Cluster } from "../cluster/cluster.js";
import { connectCluster } from "../cluster/connect.js";
import { nodePortUrl } from "../inventory/node-port-url.js";
import { KEPLER_LINES } from "../prometheus/kepler-metrics.js";
import { inventoryClientFactory } from "../redfish/from-inventory.js";
import { nodeConnector } from "../transport/connect-node.js";
import { exitCodeFor, summarize, verifyJson, verifyText } from "../verify/report.js";
import { runVerify } from "../verify/verify.js";
import { openRun } from "./context.js";
import type { GlobalOptions } from "./options.js";

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const local = cmd.opts<{ prometheus?: string }>();
  const ctx = await openRun("verify", opts);
  let connecting: Promise<Cluster & { close(): Promise<void> }> | undefined;
  try {
    const inv = ctx.inventory;
    const grafanaSecret = inv.cluster.monitoring.grafanaAdminPasswordSecret;
    const log = (event: string, data: Record<string, unknown>) => ctx.log.write(event, data);

    const results = await runVerify({
      inventory: inv,
      connect: nodeConnector(inv, ctx.secret),
      // One connection for every kubectl call, opened at the first one.
      cluster: () => (connecting ??= connectCluster(ctx)),
      // The client's defaults (10 s, one retry) already answer promptly; a node's bmc settings win.
      bmcClient: inventoryClientFactory(ctx.secret, { log }),
      prometheus: {
        url: local.prometheus ?? nodePortUrl(inv, "prometheus"),
        line: KEPLER_LINES[inv.cluster.kepler.flavour],
      },
      grafana: {
        url: nodePortUrl(inv, "grafana"),
        user: inv.cluster.monitoring.grafanaAdminUser,
        password: ctx.secret(grafanaSecret),
        passwordSource: `vault key \`${grafanaSecret}\``,
        namespace: inv.cluster.monitoring.namespace,
      },
      forks: opts.forks,
      log,
    });

    if (opts.json) for (const obj of verifyJson(results)) ctx.out.object(obj);
    else ctx.out.info(verifyText(results));
    ctx.log.write("summary", { ...summarize(results) });
    return exitCodeFor(results);
  } finally {
    // A connection still being opened when the checks gave up is closed once it is there.
    await connecting?.then(
      (c) => c.close(),
      () => undefined,
    );
    ctx.close();
  }
}
