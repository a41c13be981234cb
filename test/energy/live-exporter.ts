/**
 * A stand-in for Kepler (current line) on loopback, for `measure`: counters that grow at known rates, so a
 * real Prometheus scraping it every 250 ms holds samples whose increase over any window is known.
 *
 * - node-a CPU package: 40 J/s, plus 100 J/s while busy.
 * - idle/idle-pod: 25 J/s, always (the baseline that must cancel out).
 * - batch/bench: 100 J/s while busy, flat otherwise (the measured command's cost).
 *
 * "Busy" is switched by the measured command itself (POST /busy/on, /busy/off), and every sample carries
 * an explicit timestamp (the instant its value was computed), so values are exact functions of time
 * and no scrape latency blurs them.
 */
import { createServer, type Server } from "node:http";

export interface LiveExporter {
  url: string;
  /** Seconds spent busy so far (closed intervals only once /busy/off came). */
  busySeconds(atMs?: number): number;
  /** Resolves at the first scrape of /metrics (Prometheus' discovery takes ~5 s to hand out targets). */
  firstScrape: Promise<number>;
  close(): Promise<void>;
}

export const RATES = { node: 40, nodeBusy: 100, idle: 25, bench: 100 };

export async function startExporter(): Promise<LiveExporter> {
  const t0 = Date.now();
  const busy: Array<{ on: number; off?: number }> = [];
  const busySeconds = (at = Date.now()) =>
    busy.reduce((s, b) => s + Math.max(0, Math.min(b.off ?? at, at) - b.on), 0) / 1000;

  let scraped: (ms: number) => void = () => {};
  const firstScrape = new Promise<number>((r) => (scraped = r));

  const server: Server = createServer((req, res) => {
    const now = Date.now();
    if (req.method === "POST" && req.url === "/busy/on") {
      busy.push({ on: now });
      res.end("on\n");
      return;
    }
    if (req.method === "POST" && req.url === "/busy/off") {
      const last = busy.at(-1);
      if (last && last.off === undefined) last.off = now;
      res.end("off\n");
      return;
    }
    if (req.url !== "/metrics") {
      res.statusCode = 404;
      res.end();
      return;
    }
    scraped(now);
    const up = (now - t0) / 1000;
    const b = busySeconds(now);
    const pod = (name: string, ns: string) =>
      `node_name="node-a",pod_id="${name}-uid",pod_name="${name}",pod_namespace="${ns}",state="running",zone="package"`;
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(
      [
        "# TYPE kepler_node_cpu_joules_total counter",
        `kepler_node_cpu_joules_total{node_name="node-a",path="aggregated-package",zone="package"} ${1e6 + RATES.node * up + RATES.nodeBusy * b} ${now}`,
        "# TYPE kepler_pod_cpu_joules_total counter",
        `kepler_pod_cpu_joules_total{${pod("idle-pod", "idle")}} ${5e5 + RATES.idle * up} ${now}`,
        `kepler_pod_cpu_joules_total{${pod("bench", "batch")}} ${1e5 + RATES.bench * b} ${now}`,
        "",
      ].join("\n"),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    busySeconds,
    firstScrape,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
