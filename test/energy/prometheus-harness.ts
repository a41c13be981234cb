/**
 * A real Prometheus for the energy tests: on 127.0.0.1 at a free port, with a temp storage dir that can
 * be pre-filled through `promtool tsdb create-blocks-from openmetrics` (backfill: exact, known samples)
 * and/or a scrape config (live samples). `stop()` kills it and removes the dir.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface RunningPrometheus {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** A port nothing listens on: any (0 lets the kernel pick), or one in [min, max] (e.g. the NodePort range). */
export async function freePort(range?: { min: number; max: number; avoid?: number[] }): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(undefined));
      srv.listen(port, "127.0.0.1", () => {
        const { port: got } = srv.address() as { port: number };
        srv.close(() => resolve(got));
      });
    });
  if (!range) return (await tryPort(0))!;
  for (let i = 0; i < 100; i++) {
    const port = range.min + Math.floor(Math.random() * (range.max - range.min + 1));
    if (range.avoid?.includes(port)) continue;
    const got = await tryPort(port);
    if (got !== undefined) return got;
  }
  throw new Error(`no free port in ${range.min}-${range.max}`);
}

export async function startPrometheus(
  opts: { openMetrics?: string; config?: string; port?: number } = {},
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-prom-"));
  const data = join(dir, "data");
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child!.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (opts.openMetrics !== undefined) {
      const file = join(dir, "backfill.om");
      writeFileSync(file, opts.openMetrics);
      await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", file, data]);
    }
    const configFile = join(dir, "prometheus.yml");
    writeFileSync(configFile, opts.config ?? "global: {}\n");
    const port = opts.port ?? (await freePort());
    child = spawn(
      "prometheus",
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${data}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Backfilled samples are years old; keep them all.
        "--storage.tsdb.retention.time=100y",
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const logChunks: Buffer[] = [];
    child.stderr!.on("data", (b: Buffer) => logChunks.push(b));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`prometheus exited ${child.exitCode}:\n${Buffer.concat(logChunks).toString()}`);
      try {
        if ((await fetch(`${url}/-/ready`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`prometheus not ready after 20 s:\n${Buffer.concat(logChunks).toString()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
