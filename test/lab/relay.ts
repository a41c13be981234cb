/**
 * The apt relay (LAB.md step 9): nodes have no route out, so each mirror host of the host's apt sources is
 * reached through two socat processes: one in the switch namespace listening on 10.77.0.x:port, one in the
 * root namespace connecting to the real mirror, joined by a unix socket in the run directory. Nodes map
 * the mirror's host name to 10.77.0.x in /etc/hosts.
 */
import { existsSync } from "node:fs";
import { GATEWAY_IP, MAX_RELAY_HOSTS, RUN_DIR, SWITCH_NS } from "./config.js";
import { LabError, run, waitFor } from "./exec.js";
import type { MirrorHost } from "./apt-sources.js";
import { pidAlive } from "./proc.js";
import { makeCgroups, spawnDetached } from "./spawn.js";
import type { StateFile } from "./state.js";

export interface Relay extends MirrorHost {
  /** Address in the lab the host name maps to. */
  ip: string;
}

/** 10.77.0.1 for the first host, .2, .3, ... for further ones. */
export function planRelays(hosts: MirrorHost[]): Relay[] {
  const names = [...new Set(hosts.map((h) => h.host))];
  if (names.length > MAX_RELAY_HOSTS)
    throw new LabError(
      `the host's apt sources name ${names.length} mirror hosts; the lab relays at most ${MAX_RELAY_HOSTS}`,
    );
  const base = Number(GATEWAY_IP.split(".")[3]);
  return hosts.map((h) => ({ ...h, ip: GATEWAY_IP.replace(/\d+$/, String(base + names.indexOf(h.host))) }));
}

export async function startRelays(st: StateFile, relays: Relay[]): Promise<void> {
  const cgroups = makeCgroups(st, "relay");
  for (const [i, r] of relays.entries()) {
    const sock = `${RUN_DIR}/mirror-${i}.sock`;
    const log = `${RUN_DIR}/logs/relay-${i}.log`;
    const outer = spawnDetached(
      ["socat", `UNIX-LISTEN:${sock},fork,unlink-early,mode=600`, `TCP:${r.host}:${r.port}`],
      log,
      cgroups,
    );
    st.add({ kind: "process", pid: outer, needle: sock, role: "relay" });
    const inner = spawnDetached(
      [
        "ip",
        "netns",
        "exec",
        SWITCH_NS,
        "socat",
        `TCP-LISTEN:${r.port},bind=${r.ip},fork,reuseaddr`,
        `UNIX-CONNECT:${sock}`,
      ],
      log,
      cgroups,
    );
    st.add({ kind: "process", pid: inner, needle: sock, role: "relay" });
    await waitFor(
      `the apt relay for port ${r.port} (log ${log})`,
      5_000,
      async () => {
        if (!pidAlive(outer) || !pidAlive(inner)) throw new LabError("socat exited");
        const listening = await run("ip", [
          "netns",
          "exec",
          SWITCH_NS,
          "ss",
          "-Hltn",
          "src",
          `${r.ip}:${r.port}`,
        ]);
        return existsSync(sock) && listening.stdout.trim() ? true : undefined;
      },
      50,
    );
  }
}
