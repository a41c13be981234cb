/**
 * CLI start-up: `powerstack --help` against a bare `node -e 0`, interleaved, on this machine, now.
 *
 *   npm run bench:startup            (no lab, no root; also printed last by `npm run bench`)
 *
 * Node's own start-up is most of the figure and varies with the machine's moment (on the 2-core CI
 * machine 115-140 ms for `node -e 0`), so the two run alternately and both medians are printed: the
 * difference is what powerstack adds.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = resolve(import.meta.dirname, "..");
const POWERSTACK = join(ROOT, "dist/bin/powerstack.js");

export interface StartupFigures {
  runs: number;
  /** Medians, milliseconds. */
  help: number;
  version: number;
  node: number;
}

function wallMs(argv: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`node ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function measureStartup(runs = 31): StartupFigures {
  const help: number[] = [];
  const version: number[] = [];
  const node: number[] = [];
  wallMs([POWERSTACK, "--help"]); // warm the page cache
  for (let i = 0; i < runs; i++) {
    node.push(wallMs(["-e", "0"]));
    help.push(wallMs([POWERSTACK, "--help"]));
    version.push(wallMs([POWERSTACK, "--version"]));
  }
  return { runs, help: median(help), version: median(version), node: median(node) };
}

export function formatStartup(f: StartupFigures): string {
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  return (
    `\`powerstack --help\`: ${ms(f.help)}, \`--version\`: ${ms(f.version)}; bare \`node -e 0\`: ${ms(f.node)} ` +
    `(powerstack adds ${ms(f.help - f.node)}); medians of ${f.runs} interleaved runs`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  console.log(formatStartup(measureStartup()));
}
