/**
 * Stand-ins for Kepler exporters on loopback: each serves fixed series at /metrics in Prometheus' text
 * format (no timestamps: Prometheus stamps them with the scrape time, so "now" queries see them), for a
 * real Prometheus to scrape. One server per Kepler pod, as a DaemonSet has one per node.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeKepler {
  /** `127.0.0.1:<port>`: a scrape target. */
  target: string;
  close(): Promise<void>;
}

/** Node series of the current line (0.10+) for one node: package and dram zones, platform watts. */
export function currentNode(node: string, packageJoules: number): string[] {
  const labels = (zone: string) =>
    `node_name="${node}",path="/sys/class/powercap/intel-rapl:0",zone="${zone}"`;
  return [
    "# HELP kepler_node_cpu_joules_total Energy consumption of cpu at node level in joules",
    "# TYPE kepler_node_cpu_joules_total counter",
    `kepler_node_cpu_joules_total{${labels("package")}} ${packageJoules}`,
    `kepler_node_cpu_joules_total{${labels("dram")}} ${packageJoules / 10}`,
    "# TYPE kepler_platform_watts gauge",
    `kepler_platform_watts{node_name="${node}",source="redfish",bmc_id="bmc-${node}",chassis_id="1U",power_control_id="PC1",power_control_name="Server Power Control"} 245`,
  ];
}

/** Node series of the legacy line (0.7.x): `package` per socket and `mode` dynamic/idle, node in `instance`. */
export function legacyNode(dynamicJoules: number, idleJoules: number): string[] {
  return [
    "# TYPE kepler_node_package_joules_total counter",
    `kepler_node_package_joules_total{mode="dynamic",package="0",source="rapl-sysfs"} ${dynamicJoules}`,
    `kepler_node_package_joules_total{mode="idle",package="0",source="rapl-sysfs"} ${idleJoules}`,
  ];
}

export async function startFakeKepler(lines: string[]): Promise<FakeKepler> {
  const body = lines.join("\n") + "\n";
  const server: Server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.statusCode = 404;
      return void res.end();
    }
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One scrape job of a Prometheus config: static targets, each with extra target labels. */
export function scrapeJob(
  job: string,
  targets: Array<{ target: string; labels?: Record<string, string> }>,
): string {
  const configs = targets
    .map(
      (t) =>
        `      - targets: ["${t.target}"]${t.labels ? `\n        labels: ${JSON.stringify(t.labels)}` : ""}`,
    )
    .join("\n");
  return `  - job_name: ${job}\n    static_configs:\n${configs}`;
}

export function prometheusConfig(jobs: string[]): string {
  return (
    ["global: { scrape_interval: 1s, scrape_timeout: 500ms }", "scrape_configs:", ...jobs].join("\n") + "\n"
  );
}
