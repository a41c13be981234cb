/**
 * `powerstack render DIR` through the real CLI (bin/powerstack.ts under tsx, a child process as a user runs
 * it): the layout and index.json, byte-identical output on a second render, secrets only as `<vault:KEY>`
 * placeholders (the vault is never opened: no password is given, and a vault with distinct secret
 * strings sits beside the inventory), and no network connection of any kind (an inventory of unroutable
 * addresses renders at once; a preloaded guard fails every TCP connect and DNS lookup the process tries).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { packageRoot } from "../../src/package-root.js";
import { encryptVault } from "../../src/vault/format.js";
import { VAULT } from "../monitoring/fixtures.js";

const ROOT = packageRoot();
const EXAMPLE = join(ROOT, "inventory", "example.yaml");
/** tsx's loader by URL: the CLI runs in a scratch directory, not the checkout. */
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
const work = mkdtempSync(join(tmpdir(), "powerstack-render-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Loaded into the CLI process with --require: every TCP/UDP connect and DNS lookup is written to a log and
 * refused. Unix-socket connects (none expected either) are logged too.
 */
const GUARD = join(work, "no-network.cjs");
const GUARD_LOG = join(work, "network-attempts.log");
writeFileSync(
  GUARD,
  `const fs = require("node:fs"), net = require("node:net"), dns = require("node:dns"), dgram = require("node:dgram");
const log = (what) => { fs.appendFileSync(process.env.POWERSTACK_NETWORK_LOG, what + "\\n"); };
const refuse = (what) => { log(what); throw new Error("network access refused by the render test: " + what); };
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect() passes its normalized [options, callback] array as the first argument.
  const a0 = Array.isArray(args[0]) ? args[0][0] : args[0];
  const o = typeof a0 === "object" && a0 !== null ? a0 : { port: a0, host: args[1], path: typeof a0 === "string" && isNaN(Number(a0)) ? a0 : undefined };
  if (o.path) { log("unix " + o.path); return connect.apply(this, args); }
  refuse("tcp " + (o.host ?? "localhost") + ":" + o.port);
};
for (const m of ["lookup", "resolve", "resolve4", "resolve6", "resolveAny"]) {
  dns[m] = (...a) => refuse("dns " + m + " " + a[0]);
  if (dns.promises[m]) dns.promises[m] = async (...a) => refuse("dns " + m + " " + a[0]);
}
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (...a) { refuse("udp send"); return send.apply(this, a); };
`,
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The CLI as a user runs it, no vault password anywhere (env cleared of it, no terminal, stdin closed). */
function powerstack(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, POWERSTACK_NETWORK_LOG: GUARD_LOG };
  delete env.POWERSTACK_VAULT_PASSWORD;
  delete env.POWERSTACK_NEW_VAULT_PASSWORD;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--require", GUARD, "--import", TSX, join(ROOT, "bin", "powerstack.ts"), ...args],
      { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** Every file under dir (relative paths, sorted) with its bytes and mode. */
function tree(dir: string): Map<string, { bytes: Buffer; mode: number }> {
  const out = new Map<string, { bytes: Buffer; mode: number }>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), { bytes: readFileSync(p), mode: statSync(p).mode & 0o777 });
    }
  };
  walk(dir);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

const ok = (r: Run) => {
  if (r.code !== 0) throw new Error(`powerstack exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r;
};

/**
 * An inventory like test/monitoring/fixtures.ts' (its vault keys and distinct secret strings), whose
 * vault sits beside it, encrypted with a password nobody gives the CLI. Every address is unroutable
 * (TEST-NET ranges, RFC 5737) and SSH would wait a minute per host: any connection attempt shows as time.
 */
const VAULTED = `vault_file: vault.yaml
cluster:
  nfs_network: 192.0.2.0/24
  k3s: { version: v1.31.4+k3s1, token_secret: k3s_token }
  monitoring:
    grafana_admin_password_secret: grafana_admin_password
    slack_webhook_secret: slack_webhook
    slack_channel: "#energy"
  kepler: { flavour: current }
ssh: { connect_timeout: 60, connect_retries: 5 }
nodes:
  - { name: ctl, role: control, internal_ip: 192.0.2.10, external_ip: 198.51.100.10, storage_disk: /dev/vdb,
      bmc: { address: "https://203.0.113.10", username: USERID, password_secret: bmc_ctl } }
  - { name: w1, role: worker, internal_ip: 192.0.2.11, external_ip: 198.51.100.11,
      bmc: { address: "https://203.0.113.11", username: USERID, password_secret: bmc_w1 } }
`;

describe("powerstack render (the real CLI)", () => {
  const dirA = join(work, "a");
  const dirB = join(work, "b");
  const vaulted = join(work, "vaulted");
  const vaultedOut = join(work, "vaulted-out");
  let first: Run;
  let second: Run;
  let fresh: Run;
  let secretRun: Run;

  beforeAll(async () => {
    rmSync(GUARD_LOG, { force: true });
    first = ok(await powerstack(["render", dirA, "-i", EXAMPLE]));
    second = ok(await powerstack(["render", dirA, "-i", EXAMPLE]));
    fresh = ok(await powerstack(["--json", "render", dirB, "-i", EXAMPLE]));
    // The vault-backed inventory: an encrypted vault with the fixtures' distinct secrets beside it.
    mkdirSync(vaulted, { recursive: true });
    writeFileSync(join(vaulted, "inventory.yaml"), VAULTED);
    const plain = Object.entries(VAULT)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`)
      .join("");
    writeFileSync(join(vaulted, "vault.yaml"), encryptVault(plain, "a password nobody gives render"), {
      mode: 0o600,
    });
    secretRun = ok(await powerstack(["render", vaultedOut, "-i", join(vaulted, "inventory.yaml")]));
  }, 120_000);

  test("index.json is exactly the issue's shape, every path relative to DIR, every file listed and present", () => {
    const index = JSON.parse(readFileSync(join(dirA, "index.json"), "utf8")) as Record<string, unknown>;
    expect(index).toEqual({
      nodes: ["node1", "node2", "node3"].map((n) => ({ name: n, k3s_config: `nodes/${n}/k3s-config.yaml` })),
      releases: [
        {
          name: "kube-prometheus-stack",
          namespace: "monitoring",
          chart: "prometheus-community/kube-prometheus-stack",
          version: "88.5.3",
          values: "releases/kube-prometheus-stack/values.yaml",
        },
        {
          name: "kepler",
          namespace: "kepler",
          chart: "oci://quay.io/sustainable_computing_io/charts/kepler",
          version: "0.11.4",
          values: "releases/kepler/values.yaml",
          post_render: "releases/kepler/post-render.sh",
        },
      ],
      manifests: [
        "manifests/cluster-storage.yaml",
        "manifests/monitoring.yaml",
        "manifests/dashboards.yaml",
        "manifests/kepler.yaml",
      ],
    });
    const files = [...tree(dirA).keys()];
    const listed = [
      "index.json",
      ...["node1", "node2", "node3"].map((n) => `nodes/${n}/k3s-config.yaml`),
      "releases/kube-prometheus-stack/values.yaml",
      "releases/kepler/values.yaml",
      "releases/kepler/post-render.sh",
      "releases/kepler/patch.yaml",
      "manifests/cluster-storage.yaml",
      "manifests/monitoring.yaml",
      "manifests/dashboards.yaml",
      "manifests/kepler.yaml",
    ].sort((a, b) => a.localeCompare(b));
    expect(files).toEqual(listed);
  });

  test("files are what they say: K3s configs 0600 (they hold the token), the post-renderer executable, YAML that parses", () => {
    const files = tree(dirA);
    for (const [path, { bytes, mode }] of files) {
      if (path.startsWith("nodes/")) expect(mode, path).toBe(0o600);
      else if (path.endsWith("post-render.sh")) expect(mode, path).toBe(0o755);
      else expect(mode, path).toBe(0o644);
      if (path.endsWith(".yaml"))
        for (const d of parseAllDocuments(bytes.toString("utf8"))) expect(d.errors, path).toEqual([]);
    }
    expect(files.get("releases/kepler/post-render.sh")!.bytes.toString().startsWith("#!/bin/sh\n")).toBe(
      true,
    );
  });

  test("--json prints the directory and the index; the text output names the counts", () => {
    const printed = JSON.parse(fresh.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    expect(printed).toEqual({
      dir: dirB,
      ...(JSON.parse(readFileSync(join(dirB, "index.json"), "utf8")) as object),
    });
    expect(first.stdout).toMatch(/rendered 3 node config\(s\), 2 release\(s\) and 4 manifest file\(s\)/);
  });

  test("rendering twice gives identical bytes (over the same directory, and into a fresh one)", () => {
    const a = tree(dirA);
    const b = tree(dirB);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [path, f] of a) expect(f.bytes.equals(b.get(path)!.bytes), path).toBe(true);
    expect(second.stdout.replace(dirA, "DIR")).toBe(first.stdout.replace(dirA, "DIR"));
  });

  test("no vault value appears anywhere, raw or base64, and the CLI never asked for the vault", () => {
    const files = tree(vaultedOut);
    expect(files.size).toBeGreaterThan(5);
    const everything = [...files.values()].map((f) => f.bytes.toString("utf8")).join("\n");
    // Every Secret's data decoded, too.
    const decoded = [...files]
      .filter(([p]) => p.startsWith("manifests/"))
      .flatMap(([, f]) =>
        parseAllDocuments(f.bytes.toString("utf8")).map((d) => d.toJS() as Record<string, unknown>),
      )
      .filter((o) => o?.kind === "Secret")
      .flatMap((s) => Object.values((s.data ?? {}) as Record<string, string>))
      .map((v) => Buffer.from(v, "base64").toString("utf8"))
      .join("\n");
    expect(decoded.length).toBeGreaterThan(0);
    const output = secretRun.stdout + secretRun.stderr;
    for (const [key, value] of Object.entries(VAULT)) {
      for (const [where, text] of [
        ["files", everything],
        ["Secret data", decoded],
        ["output", output],
      ] as const) {
        expect(text.includes(value), `${key}'s value in ${where}`).toBe(false);
        expect(
          text.includes(Buffer.from(value).toString("base64")),
          `${key}'s value (base64) in ${where}`,
        ).toBe(false);
      }
    }
    expect(output).not.toMatch(/password/i);
  });

  test("secrets are <vault:KEY> placeholders: Grafana, Slack, every BMC, the K3s token on every node", () => {
    const files = tree(vaultedOut);
    const text = (p: string) => files.get(p)!.bytes.toString("utf8");
    for (const n of ["ctl", "w1"])
      expect(text(`nodes/${n}/k3s-config.yaml`)).toContain('token: "<vault:k3s_token>"');
    const secrets = new Map<string, Record<string, string>>();
    for (const p of ["manifests/monitoring.yaml", "manifests/kepler.yaml"])
      for (const d of parseAllDocuments(text(p))) {
        const o = d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string> };
        if (o?.kind === "Secret")
          secrets.set(
            o.metadata.name,
            Object.fromEntries(
              Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
            ),
          );
      }
    expect(secrets.get("grafana-admin")?.["admin-password"]).toBe("<vault:grafana_admin_password>");
    expect(secrets.get("alertmanager-slack")?.["webhook-url"]).toBe("<vault:slack_webhook>");
    const redfish = secrets.get("kepler-redfish")?.["redfish.yaml"] ?? "";
    expect(redfish).toContain("password: <vault:bmc_ctl>");
    expect(redfish).toContain("password: <vault:bmc_w1>");
    // No placeholder is left for a key the inventory does not name.
    const all =
      [...files.values()].map((f) => f.bytes.toString()).join("\n") +
      [...secrets.values()].map((s) => Object.values(s).join("\n")).join("\n");
    const keys = new Set([...all.matchAll(/<vault:([^>]+)>/g)].map((m) => m[1]));
    expect([...keys].sort()).toEqual([
      "bmc_ctl",
      "bmc_w1",
      "grafana_admin_password",
      "k3s_token",
      "slack_webhook",
    ]);
  });

  test("no connection is attempted: unroutable addresses render at once, and no TCP, UDP or DNS is tried", async () => {
    const attempts = (() => {
      try {
        return readFileSync(GUARD_LOG, "utf8");
      } catch {
        return "";
      }
    })();
    expect(attempts.split("\n").filter((l) => l && !l.startsWith("unix "))).toEqual([]);
    // SSH would wait connect_timeout (60 s) x connect_retries (5) per host: any attempt shows as minutes.
    expect(secretRun.ms).toBeLessThan(10_000);
    // Without the vault file at all, too.
    rmSync(join(vaulted, "vault.yaml"));
    const again = ok(
      await powerstack(["render", join(work, "no-vault-out"), "-i", join(vaulted, "inventory.yaml")]),
    );
    expect(again.ms).toBeLessThan(10_000);
    const a = tree(vaultedOut);
    const b = tree(join(work, "no-vault-out"));
    for (const [p, f] of a) expect(f.bytes.equals(b.get(p)!.bytes), p).toBe(true);
  });

  test("rendering another inventory into the same DIR removes what it no longer renders, and nothing else", async () => {
    const dir = join(work, "shrink");
    ok(await powerstack(["render", dir, "-i", EXAMPLE]));
    writeFileSync(join(dir, "README.md"), "mine\n");
    ok(await powerstack(["render", dir, "-i", join(vaulted, "inventory.yaml")]));
    const files = [...tree(dir).keys()];
    expect(files.filter((f) => f.startsWith("nodes/"))).toEqual([
      "nodes/ctl/k3s-config.yaml",
      "nodes/w1/k3s-config.yaml",
    ]);
    expect(files).toContain("README.md");
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
      nodes: Array<{ name: string }>;
    };
    expect(index.nodes.map((n) => n.name)).toEqual(["ctl", "w1"]);
  });

  test("a guard that works: the preload refuses a connection in the CLI's process", async () => {
    const r = await new Promise<Run>((resolve) => {
      const t0 = Date.now();
      const child = spawn(
        process.execPath,
        ["--require", GUARD, "-e", "require('node:net').connect(22, '192.0.2.10').on('error', () => {})"],
        {
          env: { ...process.env, POWERSTACK_NETWORK_LOG: join(work, "guard-self-test.log") },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.once("close", (code) => resolve({ code, stdout: "", stderr, ms: Date.now() - t0 }));
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/network access refused by the render test: tcp 192.0.2.10:22/);
    expect(readFileSync(join(work, "guard-self-test.log"), "utf8")).toContain("tcp 192.0.2.10:22");
  });
});
