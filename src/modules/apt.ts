/**
 * Debian/Ubuntu packages. Read with dpkg-query (no apt lock, no network); `apt-get update` runs only
 * when something must be installed, never on a no-op rerun.
 */
import type { Module } from "../engine/types.js";
import { debPackages } from "../facts/system.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface AptParams {
  names: string[];
  state?: "present" | "absent";
}

export type AptAction = { kind: "install"; names: string[] } | { kind: "remove"; names: string[] };

const APT_ENV = "DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a";
const APT_OPTS =
  "-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

export const apt: Module<AptParams, { installed: Set<string> }, AptAction> = {
  name: "package",
  reads: (p) => ({ installed: debPackages.of(p.names) }),
  plan({ installed }, p) {
    if (p.state === "absent") {
      const present = p.names.filter((n) => installed.has(n));
      return present.length ? [{ kind: "remove", names: present }] : [];
    }
    const missing = p.names.filter((n) => !installed.has(n));
    return missing.length ? [{ kind: "install", names: missing }] : [];
  },
  describe: (a) => `${a.kind} ${a.names.join(" ")}`,
  // A package brings files, units and other packages with it: everything may have changed.
  touches: () => "all",
  async apply({ host, progress }, actions) {
    for (const a of actions) {
      const names = a.names.map(shq).join(" ");
      if (a.kind === "remove") {
        progress?.(`removing ${a.names.length} package${a.names.length === 1 ? "" : "s"}`);
        await run(host, `${APT_ENV} apt-get ${APT_OPTS} remove ${names}`, { timeoutSec: 900 });
        continue;
      }
      progress?.("apt-get update");
      await run(host, `${APT_ENV} apt-get ${APT_OPTS} update`, { timeoutSec: 900 });
      progress?.(`installing ${a.names.length} package${a.names.length === 1 ? "" : "s"}`);
      await run(host, `${APT_ENV} apt-get ${APT_OPTS} install --no-install-recommends ${names}`, {
        timeoutSec: 1800,
      });
    }
  },
};
