/**
 * The SSH transport against a real OpenSSH sshd on loopback: exec, stdin, one connection per host,
 * known_hosts policies, ProxyCommand and jump host, and the faults (refused, timeout, host key mismatch,
 * a connection dropped mid-command), each with one clear message and exit code 3.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { UnreachableError } from "../../src/transport/errors.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { freePort, startSshd, type Sshd } from "../support/sshd.js";

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const target = (port = sshd.port) => ({ name: "loop", address: "127.0.0.1", port });

async function expectUnreachable(p: Promise<unknown>, message: RegExp, fix?: RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnreachableError);
  const u = err as UnreachableError;
  expect(u.exitCode).toBe(ExitCode.unreachable);
  expect(u.message).toMatch(message);
  if (fix) expect(u.fix).toMatch(fix);
}

describe("ssh transport (real sshd on loopback)", () => {
  test("exec returns stdout, stderr and exit code; stdin reaches the command", async () => {
    const h = await SshHost.connect(target(), sshd.settings());
    try {
      expect(await h.exec("echo out; echo err >&2; exit 3")).toEqual({
        code: 3,
        stdout: "out\n",
        stderr: "err\n",
      });
      const big = "x".repeat(3 * 1024 * 1024) + "\n";
      const r = await h.exec("wc -c", { stdin: big });
      expect(r.stdout.trim()).toBe(String(big.length));
    } finally {
      await h.close();
    }
  });

  // Each session costs ~0.2 s of CPU on this machine (root's .bashrc runs pyenv init), hence the timeout.
  test("many commands share one connection", { timeout: 30_000 }, async () => {
    const before = (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const h = await SshHost.connect(target(), sshd.settings());
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.exec(`echo ${i}`)));
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    } finally {
      await h.close();
    }
    expect((sshd.log().match(/Accepted publickey/g) ?? []).length - before).toBe(1);
  });

  test("a command past its timeout is killed and reported", async () => {
    const h = await SshHost.connect(target(), sshd.settings());
    try {
      const r = await h.exec("sleep 30", { timeoutSec: 1 });
      expect(r.code).toBe(124);
      expect(r.stderr).toMatch(/timed out after 1s/);
    } finally {
      await h.close();
    }
  });

  test("a secret sent on stdin never appears in the remote process list", async () => {
    const secret = "s3cret-" + Math.random().toString(36).slice(2);
    const h = await SshHost.connect(target(), sshd.settings());
    try {
      const running = h.exec('read -r x; sleep 1; test "$x" = ' + '"$(cat /dev/null)$x"', {
        stdin: secret + "\n",
      });
      await new Promise((r) => setTimeout(r, 400));
      const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
      expect(ps).not.toContain(secret);
      expect((await running).code).toBe(0);
    } finally {
      await h.close();
    }
  });

  test("ProxyCommand carries the connection", async () => {
    const h = await SshHost.connect(target(), sshd.settings({ proxyCommand: "nc %h %p" }));
    try {
      expect((await h.exec("echo via-proxy")).stdout).toBe("via-proxy\n");
    } finally {
      await h.close();
    }
  });

  test("a jump host forwards to the target", async () => {
    // The same sshd serves as bastion and target: the second hop is a forwarded channel, not a new TCP dial.
    const h = await SshHost.connect(target(), sshd.settings({ jumpHost: `root@127.0.0.1:${sshd.port}` }));
    try {
      expect((await h.exec("echo via-jump")).stdout).toBe("via-jump\n");
    } finally {
      await h.close();
    }
  });
});

describe("host key checking", () => {
  test("strict: an unknown host is refused with the command to trust it", async () => {
    const empty = join(sshd.dir, "empty_known_hosts");
    writeFileSync(empty, "");
    await expectUnreachable(
      SshHost.connect(target(), sshd.settings({ knownHostsFile: empty })),
      /host key of \[127\.0\.0\.1\]:\d+ is not in/,
      /ssh-keyscan -p \d+ 127\.0\.0\.1/,
    );
  });

  test("accept-new: learns the key once, then checks it", async () => {
    const file = join(sshd.dir, "learned_known_hosts");
    writeFileSync(file, "");
    const h = await SshHost.connect(
      target(),
      sshd.settings({ knownHosts: "accept-new", knownHostsFile: file }),
    );
    await h.close();
    expect(readFileSync(file, "utf8")).toContain(
      `[127.0.0.1]:${sshd.port} ssh-ed25519 ${sshd.hostPublicKey.split(" ")[1]}`,
    );
    const again = await SshHost.connect(
      target(),
      sshd.settings({ knownHosts: "strict", knownHostsFile: file }),
    );
    await again.close();
  });

  test("a changed host key is refused loudly, also under accept-new, and not retried", async () => {
    const file = join(sshd.dir, "wrong_known_hosts");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(sshd.dir, "other")]);
    const other = readFileSync(join(sshd.dir, "other.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    writeFileSync(file, `[127.0.0.1]:${sshd.port} ${other}\n`);
    for (const policy of ["strict", "accept-new"] as const) {
      const started = Date.now();
      await expectUnreachable(
        SshHost.connect(
          target(),
          sshd.settings({ knownHosts: policy, knownHostsFile: file, connectRetries: 3 }),
        ),
        /HOST KEY MISMATCH for \[127\.0\.0\.1\]:\d+/,
        /ssh-keygen -f .* -R '\[127\.0\.0\.1\]:\d+'/,
      );
      expect(Date.now() - started).toBeLessThan(400); // no retry backoff for a mismatch
    }
  });

  test("hashed known_hosts entries are understood", async () => {
    const file = join(sshd.dir, "hashed_known_hosts");
    writeFileSync(file, readFileSync(sshd.knownHostsFile));
    spawnSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    expect(readFileSync(file, "utf8")).toMatch(/^\|1\|/);
    const h = await SshHost.connect(target(), sshd.settings({ knownHostsFile: file }));
    await h.close();
  });
});

describe("faults", () => {
  test("connection refused, after bounded retries", async () => {
    const port = await freePort();
    const started = Date.now();
    await expectUnreachable(
      SshHost.connect(target(port), sshd.settings({ connectRetries: 2 })),
      /connection refused by root@127\.0\.0\.1:\d+/,
      /sshd running/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(450); // one backoff between the two attempts
  });

  test("a host that accepts TCP but never speaks SSH times out", async () => {
    const silent: Server = createServer(() => {}).listen(0, "127.0.0.1");
    await new Promise((r) => silent.once("listening", r));
    const port = (silent.address() as { port: number }).port;
    try {
      await expectUnreachable(
        SshHost.connect(target(port), sshd.settings({ connectTimeoutSec: 1 })),
        /timed out after 1s/,
        /connect_timeout/,
      );
    } finally {
      silent.close();
    }
  });

  test("a wrong key is an authentication failure, not retried", async () => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(sshd.dir, "stranger")]);
    await expectUnreachable(
      SshHost.connect(target(), sshd.settings({ keyFile: join(sshd.dir, "stranger"), connectRetries: 3 })),
      /authentication failed/,
      /authorized_keys/,
    );
  });

  test("a connection dropped mid-command fails that command and every later one clearly", async () => {
    const h = await SshHost.connect(target(), sshd.settings());
    const long = h.exec("echo started; sleep 30");
    await new Promise((r) => setTimeout(r, 300));
    // Kill this connection's server-side process (the per-connection sshd), as a crashed node would.
    const pids = execFileSync(
      "sh",
      ["-c", `ss -tnp 'sport = :${sshd.port}' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u`],
      { encoding: "utf8" },
    )
      .split("\n")
      .filter(Boolean)
      .filter((p) => p !== readFileSync(join(sshd.dir, "sshd.pid"), "utf8").trim());
    expect(pids.length).toBeGreaterThan(0);
    for (const p of pids) process.kill(Number(p), "SIGKILL");
    await expectUnreachable(long, /connection lost/);
    await expectUnreachable(h.exec("true"), /connection lost/, /rerun/);
    await h.close();
  });
});
