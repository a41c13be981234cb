/**
 * A real OpenSSH server on 127.0.0.1 for transport and engine tests: its own host key(s), client key,
 * authorized_keys and log, in a temp dir; root login by key only. Stopped (and the dir removed) by stop().
 * `startSshd({ hostKeyTypes: ["rsa", "ecdsa"] })` serves those host key types (default: ed25519 alone).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SshSettings } from "../../src/inventory/types.js";

export type HostKeyKind = "ed25519" | "rsa" | "ecdsa";

export interface Sshd {
  port: number;
  dir: string;
  keyFile: string;
  /** The first host key's public line (`type base64 comment`). */
  hostPublicKey: string;
  /** Every host key served, by kind: `type base64` (a known_hosts line without the host). */
  hostKeys: Partial<Record<HostKeyKind, string>>;
  /** A known_hosts file that trusts this server (by its first host key). */
  knownHostsFile: string;
  settings(overrides?: Partial<SshSettings>): SshSettings;
  /** Lines of the server's log (auth and session events). */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `addresses`: loopback addresses it listens on, each trusted in known_hosts (default 127.0.0.1 alone): one
 * server standing in for several nodes needs one address per node, as an inventory refuses two nodes on
 * one SSH address and port.
 */
export async function startSshd(
  opts: { hostKeyTypes?: HostKeyKind[]; addresses?: string[] } = {},
): Promise<Sshd> {
  const addresses = opts.addresses ?? ["127.0.0.1"];
  const dir = mkdtempSync(join(tmpdir(), "powerstack-sshd-"));
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const kinds = opts.hostKeyTypes ?? ["ed25519"];
  const hostKeyFiles = kinds.map((kind, i) => {
    const f = join(dir, i === 0 ? "host_key" : `host_key_${kind}`);
    const size = kind === "rsa" ? ["-b", "2048"] : [];
    execFileSync("ssh-keygen", ["-q", "-t", kind, ...size, "-N", "", "-f", f]);
    return f;
  });
  const hostKeys: Partial<Record<HostKeyKind, string>> = {};
  kinds.forEach((kind, i) => {
    hostKeys[kind] = readFileSync(`${hostKeyFiles[i]}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
  const port = await freePort();
  const hostPublicKey = readFileSync(join(dir, "host_key.pub"), "utf8").trim();
  writeFileSync(
    join(dir, "known_hosts"),
    addresses.map((a) => `[${a}]:${port} ${hostPublicKey.split(" ").slice(0, 2).join(" ")}\n`).join(""),
  );
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      ...addresses.map((a) => `ListenAddress ${a}`),
      ...hostKeyFiles.map((f) => `HostKey ${f}`),
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `PidFile ${join(dir, "sshd.pid")}`,
      "MaxSessions 50",
      "MaxStartups 100",
      "LogLevel VERBOSE",
    ].join("\n") + "\n",
  );
  const child: ChildProcess = spawn(
    "/usr/sbin/sshd",
    ["-D", "-e", "-f", join(dir, "sshd_config"), "-E", join(dir, "sshd.log")],
    { stdio: "ignore" },
  );
  // Ready when the port accepts connections and says hello.
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync("ssh-keyscan", ["-p", String(port), "127.0.0.1"], { stdio: "pipe", timeout: 2000 });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    dir,
    keyFile: join(dir, "client_key"),
    hostPublicKey,
    hostKeys,
    knownHostsFile: join(dir, "known_hosts"),
    settings: (o = {}) => ({
      user: "root",
      port,
      keyFile: join(dir, "client_key"),
      knownHosts: "strict",
      knownHostsFile: join(dir, "known_hosts"),
      connectTimeoutSec: 5,
      connectRetries: 1,
      ...o,
    }),
    log: () => {
      try {
        return readFileSync(join(dir, "sshd.log"), "utf8");
      } catch {
        return "";
      }
    },
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
