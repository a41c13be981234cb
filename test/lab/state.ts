/**
 * The lab's state file: every host resource is recorded BEFORE it is created (or, when its name is only
 * known afterwards, such as a loop device or a pid, right after), so `labDown` can remove all of it even
 * after a crash or a killed test run. Written atomically (temp file + rename).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { RUN_DIR, STATE_FILE } from "./config.js";

export type Resource =
  | { kind: "route"; dest: string }
  | { kind: "netns"; name: string }
  | { kind: "veth"; netns: string; name: string }
  | { kind: "mount"; target: string }
  | { kind: "loop"; device: string; file: string }
  /** `needle`: a string of its command line, checked before killing (pids are reused). */
  | { kind: "process"; pid: number; needle: string; role: "nspawn" | "relay"; node?: string }
  | { kind: "cgroup"; path: string }
  | { kind: "dir"; path: string };

export interface NodeRecord {
  name: string;
  index: number;
  ip: string;
  dir: string;
  loopDevice?: string;
  nspawnPid?: number;
  /** The host's value of each stand-in sysctl when the lab came up: what a "fresh boot" resets to. */
  sysctlDefaults: Record<string, string>;
}

export interface LabState {
  version: 1;
  createdAt: string;
  base?: string;
  resources: Resource[];
  nodes: NodeRecord[];
  complete: boolean;
  /** The process using the lab (a vitest run): another labUp waits for it rather than pulling the lab away. */
  owner?: { pid: number; startTime: string; what: string };
}

export function readState(): LabState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  try {
    const s = JSON.parse(readFileSync(STATE_FILE, "utf8")) as LabState;
    return s.version === 1 && Array.isArray(s.resources) ? s : undefined;
  } catch {
    return undefined; // torn or corrupt: labDown falls back to sweeping by name
  }
}

export class StateFile {
  constructor(readonly state: LabState) {}

  static fresh(): StateFile {
    mkdirSync(RUN_DIR, { recursive: true, mode: 0o755 });
    const s = new StateFile({
      version: 1,
      createdAt: new Date().toISOString(),
      resources: [],
      nodes: [],
      complete: false,
    });
    s.save();
    return s;
  }

  save(): void {
    const tmp = `${STATE_FILE}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1) + "\n");
    renameSync(tmp, STATE_FILE);
  }

  add(r: Resource): void {
    this.state.resources.push(r);
    this.save();
  }

  remove(match: (r: Resource) => boolean): void {
    this.state.resources = this.state.resources.filter((r) => !match(r));
    this.save();
  }

  node(name: string): NodeRecord {
    const n = this.state.nodes.find((x) => x.name === name);
    if (!n)
      throw new Error(`no lab node named ${name} (nodes: ${this.state.nodes.map((x) => x.name).join(", ")})`);
    return n;
  }
}
