/**
 * Long-lived lab processes (nspawn, socat): detached from the caller (the lab outlives `lab up` and a test
 * worker), output to a log file, each placed in its own lab cgroup before it starts so that teardown can
 * find and kill everything it left, even without the state file.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { CGROUP_HIERARCHIES, CGROUP_NAME } from "./config.js";
import { LabError } from "./exec.js";
import type { StateFile } from "./state.js";

/** Create `/sys/fs/cgroup/<h>/powerstack-lab/<leaf>` in each hierarchy nspawn uses; returns the dirs. */
export function makeCgroups(st: StateFile, leaf: string): string[] {
  const dirs: string[] = [];
  for (const h of CGROUP_HIERARCHIES) {
    const root = `/sys/fs/cgroup/${h}/${CGROUP_NAME}`;
    const dir = `${root}/${leaf}`;
    if (!st.state.resources.some((r) => r.kind === "cgroup" && r.path === root))
      st.add({ kind: "cgroup", path: root });
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
  }
  return dirs;
}

/** Start argv detached inside `cgroups`; returns its pid (the wrapper shell execs, so the pid is argv's). */
export function spawnDetached(argv: string[], logFile: string, cgroups: string[]): number {
  mkdirSync(logFile.slice(0, logFile.lastIndexOf("/")), { recursive: true });
  const fd = openSync(logFile, "a");
  try {
    const script = 'for cg in $LAB_CGROUPS; do echo $$ > "$cg/cgroup.procs" || exit 97; done; exec "$@"';
    const child = spawn("/bin/sh", ["-c", script, "lab-spawn", ...argv], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, LAB_CGROUPS: cgroups.join(" ") },
    });
    child.on("error", () => {}); // reported through the pid check below
    child.unref();
    if (child.pid === undefined) throw new LabError(`cannot start ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
