/**
 * known_hosts as OpenSSH reads it, against real sshd's on loopback serving RSA, ECDSA and ed25519 host
 * keys: a `@revoked` key is refused wherever its line is; a host known only by another key type is asked
 * for that type first (strict connects), and a key of a type it is not known by is a changed key, never
 * learned by accept-new.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ExitCode } from "../../src/errors.js";
import type { HostKeyPolicy } from "../../src/inventory/types.js";
import { UnreachableError } from "../../src/transport/errors.js";
import { hostKeyAlgorithms, inspectHostKey } from "../../src/transport/known-hosts.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { startSshd, type HostKeyKind, type Sshd } from "../support/sshd.js";

let all: Sshd; // RSA, ECDSA and ed25519 host keys
let rsaOnly: Sshd;
let ecdsaOnly: Sshd;
let ed25519Only: Sshd;
beforeAll(async () => {
  [all, rsaOnly, ecdsaOnly, ed25519Only] = await Promise.all([
    startSshd({ hostKeyTypes: ["ed25519", "ecdsa", "rsa"] }),
    startSshd({ hostKeyTypes: ["rsa"] }),
    startSshd({ hostKeyTypes: ["ecdsa"] }),
    startSshd({ hostKeyTypes: ["ed25519"] }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([all, rsaOnly, ecdsaOnly, ed25519Only].map((s) => s?.stop()));
});

const target = (s: Sshd) => ({ name: "loop", address: "127.0.0.1", port: s.port });
const hostName = (s: Sshd) => `[127.0.0.1]:${s.port}`;
const line = (s: Sshd, kind: HostKeyKind) => `${hostName(s)} ${s.hostKeys[kind]!}`;
let files = 0;
function knownHosts(s: Sshd, ...lines: string[]): string {
  const f = join(s.dir, `known_hosts_${files++}`);
  writeFileSync(f, lines.map((l) => l + "\n").join(""));
  return f;
}
/** A key of `kind` that no server here has. */
function strangerKey(s: Sshd, kind: HostKeyKind): string {
  const f = join(s.dir, `stranger_${files++}`);
  execFileSync("ssh-keygen", ["-q", "-t", kind, "-N", "", "-f", f]);
  return readFileSync(`${f}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
}

async function connects(s: Sshd, policy: HostKeyPolicy, file: string): Promise<void> {
  const h = await SshHost.connect(target(s), s.settings({ knownHosts: policy, knownHostsFile: file }));
  try {
    expect((await h.exec("echo ok")).stdout).toBe("ok\n");
  } finally {
    await h.close();
  }
}

async function refused(s: Sshd, policy: HostKeyPolicy, file: string): Promise<UnreachableError> {
  const started = Date.now();
  const err = await SshHost.connect(
    target(s),
    s.settings({ knownHosts: policy, knownHostsFile: file, connectRetries: 3 }),
  ).then(
    async (h) => {
      await h.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnreachableError);
  expect((err as UnreachableError).exitCode).toBe(ExitCode.unreachable);
  expect((err as UnreachableError).retryable).toBe(false);
  expect(Date.now() - started).toBeLessThan(2000); // not retried
  return err as UnreachableError;
}

describe("@revoked", () => {
  test("a revoked key is refused after a plain line trusting it, before it, and under every policy", async () => {
    const key = ed25519Only.hostKeys.ed25519!;
    const after = knownHosts(ed25519Only, line(ed25519Only, "ed25519"), `@revoked * ${key}`);
    for (const policy of ["strict", "accept-new", "off"] as const) {
      const err = await refused(ed25519Only, policy, after);
      expect(err.message).toBe(
        `loop: host key of ${hostName(ed25519Only)} (ssh-ed25519) is marked @revoked in ${after}:2`,
      );
      expect(err.fix).toMatch(/investigate the node/);
    }
    const before = knownHosts(
      ed25519Only,
      `@revoked ${hostName(ed25519Only)} ${key}`,
      line(ed25519Only, "ed25519"),
    );
    expect((await refused(ed25519Only, "strict", before)).message).toMatch(/marked @revoked in .*:1$/);
    // The revoked line names another host: the key is still revoked (a revoked key is never trusted).
    const elsewhere = knownHosts(ed25519Only, line(ed25519Only, "ed25519"), `@revoked otherhost ${key}`);
    expect((await refused(ed25519Only, "strict", elsewhere)).message).toMatch(/marked @revoked/);
    // accept-new learned nothing.
    expect(readFileSync(after, "utf8").split("\n").filter(Boolean)).toHaveLength(2);
  });

  test("revoking another key leaves this one trusted", async () => {
    const file = knownHosts(
      ed25519Only,
      line(ed25519Only, "ed25519"),
      `@revoked * ${strangerKey(ed25519Only, "ed25519")}`,
    );
    await connects(ed25519Only, "strict", file);
  });
});

describe("host known by one key type, server offering several", () => {
  test("strict connects to a host known only by its RSA key, or only by its ECDSA key", async () => {
    for (const kind of ["rsa", "ecdsa", "ed25519"] as const) {
      const file = knownHosts(all, line(all, kind));
      await connects(all, "strict", file);
      // The same under accept-new, and nothing is added: the known type was negotiated.
      await connects(all, "accept-new", file);
      expect(readFileSync(file, "utf8")).toBe(line(all, kind) + "\n");
    }
  });

  test("the known types are offered first (RSA: all three RSA signature algorithms)", () => {
    const rsa = hostKeyAlgorithms(knownHosts(all, line(all, "rsa")), "127.0.0.1", all.port)!;
    expect(rsa.slice(0, 3)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(rsa).toContain("ssh-ed25519");
    const ecdsa = hostKeyAlgorithms(knownHosts(all, line(all, "ecdsa")), "127.0.0.1", all.port)!;
    expect(ecdsa[0]).toBe("ecdsa-sha2-nistp256");
    expect(hostKeyAlgorithms(knownHosts(all, "otherhost " + all.hostKeys.rsa), "127.0.0.1", all.port)).toBe(
      undefined,
    );
  });

  test("accept-new does not learn a key of another type for a known host: a changed key, file untouched", async () => {
    const cases: Array<[Sshd, HostKeyKind, string]> = [
      [rsaOnly, "ed25519", "ssh-rsa"],
      [ecdsaOnly, "rsa", "ecdsa-sha2-nistp256"],
      [ed25519Only, "ecdsa", "ssh-ed25519"],
    ];
    for (const [server, knownKind, offered] of cases) {
      const known = `${hostName(server)} ${strangerKey(server, knownKind)}`;
      const file = knownHosts(server, known);
      const knownType = known.split(" ")[1];
      for (const policy of ["accept-new", "strict"] as const) {
        const err = await refused(server, policy, file);
        expect(err.message).toBe(
          `loop: HOST KEY MISMATCH for ${hostName(server)}: it offered a ${offered} key, and ${file} knows it only by its ${knownType} key (possible man-in-the-middle, or a reinstalled node)`,
        );
        expect(err.fix).toBe(
          `if the node was reinstalled: ssh-keygen -f ${file} -R '${hostName(server)}', then connect again`,
        );
      }
      expect(readFileSync(file, "utf8")).toBe(known + "\n");
    }
  });

  test("accept-new still learns a host it does not know at all", async () => {
    const file = knownHosts(rsaOnly, `otherhost ${rsaOnly.hostKeys.rsa}`);
    await connects(rsaOnly, "accept-new", file);
    expect(readFileSync(file, "utf8")).toContain(line(rsaOnly, "rsa"));
    expect(
      inspectHostKey(
        file,
        "127.0.0.1",
        rsaOnly.port,
        Buffer.from(rsaOnly.hostKeys.rsa!.split(" ")[1]!, "base64"),
      ),
    ).toEqual({
      verdict: "match",
    });
  });
});

test("an unreadable known_hosts file is one clear refusal, not a crash", async () => {
  const err = await refused(ed25519Only, "strict", ed25519Only.dir); // a directory: EISDIR
  expect(err.message).toBe(`loop: cannot read ${ed25519Only.dir}: EISDIR`);
  expect(err.fix).toMatch(/known_hosts_file/);
});
