/**
 * Debian/Ubuntu packages. Probed with dpkg-query (no apt lock, no network); `apt-get update` runs only
 * when something must be installed, never on a no-op rerun.
 */
import type { ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface AptParams {
  names: string[];
  state?: "present" | "absent";
}

/** Installed package names. */
type AptSeen = Set<string>;

const APT_ENV = "DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a";
const APT_OPTS =
  "-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

export const apt: ShellModule<AptParams, AptSeen> = {
  name: "package",
  probe: (p) => ({
    command: `dpkg-query -W -f '\${Package} \${db:Status-Abbrev}\\n' ${p.names.map(shq).join(" ")} 2>/dev/null; true`,
    parse(stdout) {
      return new Set(
        stdout
          .split("\n")
          .map((l) => l.trim().split(/\s+/))
          .filter(([, status]) => status === "ii")
          .map(([name]) => name!.replace(/:.*$/, "")),
      );
    },
  }),
  plan(seen, p) {
    if (p.state === "absent") {
      const present = p.names.filter((n) => seen.has(n));
      return present.length ? [{ summary: `remove ${present.join(" ")}` }] : [];
    }
    const missing = p.names.filter((n) => !seen.has(n));
    return missing.length ? [{ summary: `install ${missing.join(" ")}` }] : [];
  },
  async apply({ host }, p, _changes, seen) {
    if (p.state === "absent") {
      await run(
        host,
        `${APT_ENV} apt-get ${APT_OPTS} remove ${p.names
          .filter((n) => seen.has(n))
          .map(shq)
          .join(" ")}`,
        { timeoutSec: 900 },
      );
      return;
    }
    const missing = p.names
      .filter((n) => !seen.has(n))
      .map(shq)
      .join(" ");
    await run(
      host,
      `${APT_ENV} apt-get ${APT_OPTS} update && ${APT_ENV} apt-get ${APT_OPTS} install --no-install-recommends ${missing}`,
      { timeoutSec: 1800 },
    );
  },
};
