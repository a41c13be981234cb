/**
 * BOUNDARY tests (K3s cannot run here) for issue 15, defects 4 and 5: what powerstack SENDS to a node.
 *   4. A version change runs install.sh with INSTALL_K3S_FORCE_RESTART=true (install.sh otherwise skips
 *      the restart when binary, unit and env file hash the same before and after, which is always the
 *      case air-gapped: the new binary is put in place before it runs).
 *   5. Air-gapped, every file comes from cluster.k3s.artifacts_dir, named for the node's arch (amd64,
 *      arm64), checked against the release's checksum file before anything is sent; the images tarball
 *      lands in K3s' images directory before install.sh runs; missing files are named with their fix.
 * Every scenario also checks the rerun: the state the apply left behind plans zero changes.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { FactRef, ShellFact } from "../../src/engine/fact.js";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import type { RoleContext } from "../../src/engine/role.js";
import { parseInventory } from "../../src/inventory/load.js";
import {
  airgapArtifacts,
  k3s,
  K3S_BIN,
  K3S_CONFIG,
  K3S_IMAGES_DIR,
  K3S_INSTALL_SCRIPT,
  k3sArch,
  recordedDigest,
  type K3sParams,
} from "../../src/modules/k3s.js";
import { recordPath } from "../../src/transport/upload.js";
import { installSource } from "../../roles/k3s-server/install-source.js";
import { RecordingHost, type Sent } from "../support/recording-host.js";
import { memoryVault, seenOf, type K3sNode } from "./k3s-node.js";

const VERSION = "v1.31.4+k3s1";
const OLD = "v1.30.8+k3s1";
const tmp = mkdtempSync(join(tmpdir(), "powerstack-k3s-airgap-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

interface Release {
  dir: string;
  binary: Buffer;
  images: Buffer;
  script: string;
}

/** An artifacts dir as a K3s release publishes it: per arch, binary, images, checksum file; install.sh. */
function release(
  name: string,
  arches: Array<"amd64" | "arm64"> = ["amd64", "arm64"],
  imagesExt = ".tar.zst",
): Record<"amd64" | "arm64", Release> {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const script = "#!/bin/sh\necho k3s install script\n";
  writeFileSync(join(dir, "install.sh"), script);
  const out = {} as Record<"amd64" | "arm64", Release>;
  for (const arch of arches) {
    const binName = arch === "amd64" ? "k3s" : "k3s-arm64";
    const imgName = `k3s-airgap-images-${arch}${imagesExt}`;
    const binary = Buffer.from(`\x7fELF k3s ${arch} ${name}\n`);
    const images = Buffer.from(`images tarball ${arch} ${name}\n`.repeat(100));
    writeFileSync(join(dir, binName), binary);
    writeFileSync(join(dir, imgName), images);
    // The release's checksum file lists every asset of the arch, not only the ones we use.
    writeFileSync(
      join(dir, `sha256sum-${arch}.txt`),
      [
        `${sha("other")}  k3s-airgap-images-${arch}.tar`,
        `${sha(images)}  ${imgName}`,
        `${sha(binary)}  ${binName}`,
        `${sha("images list")}  k3s-images.txt`,
      ].join("\n") + "\n",
    );
    out[arch] = { dir, binary, images, script };
  }
  return out;
}

/** The cluster token in the vault; the config is rendered from it. */
const TOKEN = "t";
const token = { name: "k3s_token", vault: memoryVault({ k3s_token: TOKEN }) };

const airgap = (r: Release, arch: "amd64" | "arm64", kind: K3sParams["kind"] = "agent"): K3sParams => ({
  kind,
  version: VERSION,
  config: (t) => `server: https://198.51.100.10:6443\ntoken: ${t}\n`,
  token,
  source: { mode: "airgap", dir: r.dir, artifacts: airgapArtifacts(r.dir, arch, VERSION) },
});

const online = (kind: K3sParams["kind"] = "server"): K3sParams => ({
  kind,
  version: VERSION,
  config: (t) => `token: ${t}\n`,
  token,
  source: { mode: "online" },
});

/** The config file as the module renders it with the vault's token. */
const configOf = (p: K3sParams) => p.config(TOKEN);
const plan = (p: K3sParams, node: K3sNode) => k3s.plan(seenOf(node, TOKEN), p);
const summaries = (p: K3sParams, node: K3sNode) => plan(p, node).map((a) => k3s.describe(a, p));
const apply = (host: RecordingHost, p: K3sParams, node: K3sNode) =>
  k3s.apply({ host, facts: {} as Facts, cache: new FactCache(host) }, plan(p, node), p);

/** The uploads a host received (stdin path of transport/upload.ts): destination -> bytes. */
function uploads(host: RecordingHost): Array<{ remote: string; stdin: Buffer; index: number }> {
  return host.sent.flatMap((s, index) => {
    const m = /\nmv -f "\$t" '([^']+)'\n/.exec(s.command);
    return m && s.stdin && /sha256sum -c/.test(s.command) ? [{ remote: m[1]!, stdin: s.stdin, index }] : [];
  });
}

/**
 * What the node looks like after the commands it was sent, as K3s' facts would read it: the config last
 * written, the version last installed, the images digest last recorded. The rerun plans from this.
 */
function nodeAfter(before: K3sNode, sent: Sent[], p: K3sParams): K3sNode {
  const node: K3sNode = { ...before };
  for (const s of sent) {
    if (s.command.includes(`mv -f "$t" '${K3S_CONFIG}'`)) node.config = s.stdin!.toString();
    const v = /INSTALL_K3S_VERSION='([^']+)'/.exec(s.command);
    if (v) {
      node.installedVersion = v[1];
      node.active = true; // install.sh (re)starts the unit
    }
    if (/^systemctl (re)?start /.test(s.command)) node.active = true;
    if (p.source.mode === "airgap") {
      const rec = recordPath(p.source.artifacts.images.remote);
      const m = new RegExp(`printf '%s %s\\\\n' '([0-9a-f]{64})'[^\\n]*\\nmv -f "\\$t.rec" '${rec}'`).exec(
        s.command,
      );
      if (m) node.images = m[1];
    }
  }
  return node;
}

/** plan -> apply on a recording host -> the rerun's plan from the resulting state. */
async function applyAndRerun(p: K3sParams, node: K3sNode) {
  const host = new RecordingHost("node");
  const changes = summaries(p, node);
  await apply(host, p, node);
  const rerun = plan(p, nodeAfter(node, host.sent, p));
  return { host, changes, rerun, cmds: host.commands() };
}

describe("k3s version change restarts K3s (boundary)", () => {
  test("online: a version change installs with INSTALL_K3S_FORCE_RESTART=true; the rerun has zero changes", async () => {
    const p = online();
    const { cmds, rerun } = await applyAndRerun(p, {
      installedVersion: OLD,
      config: configOf(p),
      active: true,
    });
    expect(cmds).toEqual([
      `curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION='${VERSION}' INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true sh -s -`,
    ]);
    expect(rerun).toEqual([]);
  });

  test("air-gapped: the new binary goes in place first, then install.sh with FORCE_RESTART (it would skip the restart)", async () => {
    const r = release("upgrade").amd64;
    const p = airgap(r, "amd64");
    const node: K3sNode = { installedVersion: OLD, config: configOf(p), active: true, images: sha(r.images) };
    const { host, cmds, changes, rerun } = await applyAndRerun(p, node);
    expect(changes).toEqual([`install K3s ${VERSION} (agent, airgap), replacing ${OLD}`]);
    const binary = uploads(host).find((u) => u.remote === K3S_BIN)!;
    expect(binary.stdin.equals(r.binary)).toBe(true);
    expect(cmds.at(-1)).toBe(
      `INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_VERSION='${VERSION}' INSTALL_K3S_EXEC=agent INSTALL_K3S_FORCE_RESTART=true sh ${K3S_INSTALL_SCRIPT}`,
    );
    expect(binary.index).toBeLessThan(cmds.length - 1);
    expect(rerun).toEqual([]);
  });

  test("version and config changed together: config written, one install with FORCE_RESTART, no separate restart", async () => {
    const p = online("agent");
    const { cmds, rerun } = await applyAndRerun(p, { installedVersion: OLD, config: "old\n", active: true });
    expect(cmds.filter((c) => c.includes("INSTALL_K3S_FORCE_RESTART=true"))).toHaveLength(1);
    expect(cmds.some((c) => c.startsWith("systemctl"))).toBe(false);
    expect(rerun).toEqual([]);
  });

  test("a fresh install needs no forced restart (no unit before: install.sh starts it)", async () => {
    const { cmds, rerun } = await applyAndRerun(online(), { active: false });
    expect(cmds.at(-1)).not.toContain("FORCE_RESTART");
    expect(rerun).toEqual([]);
  });

  test("same version and config, running: zero changes, nothing sent, also air-gapped with the images recorded", async () => {
    const p = online();
    expect(plan(p, { installedVersion: VERSION, config: configOf(p), active: true })).toEqual([]);
    const r = release("steady").arm64;
    const a = airgap(r, "arm64");
    const node = { installedVersion: VERSION, config: configOf(a), active: true, images: sha(r.images) };
    expect(plan(a, node)).toEqual([]);
  });
});

describe("k3s air-gapped install from the artifacts directory (boundary)", () => {
  test.each([
    ["x86_64", "amd64", "k3s", "k3s-airgap-images-amd64.tar.zst"],
    ["aarch64", "arm64", "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"],
  ] as const)("node arch %s picks the %s files: %s and %s", async (machine, arch, bin, images) => {
    const rel = release(`arch-${arch}`); // both arches in one dir: the node's arch decides
    const inv = parseInventory(
      `cluster:
  nfs_network: 198.51.100.0/24
  k3s: { version: ${VERSION}, install: airgap, artifacts_dir: ${rel[arch].dir} }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb }
`,
      join(tmp, "inventory.yaml"),
    );
    const ctx = { inventory: inv, facts: { arch: machine } as Facts } as RoleContext;
    const source = installSource(ctx);
    expect(source.mode).toBe("airgap");
    if (source.mode !== "airgap") return;
    expect(source.artifacts.binary).toMatchObject({
      name: bin,
      remote: K3S_BIN,
      sha256: sha(rel[arch].binary),
    });
    expect(source.artifacts.images).toMatchObject({
      name: images,
      remote: `${K3S_IMAGES_DIR}/${images}`,
      sha256: sha(rel[arch].images),
    });

    const p: K3sParams = { kind: "server", version: VERSION, config: (t) => `token: ${t}\n`, token, source };
    const { host, rerun } = await applyAndRerun(p, { active: false });
    const sent = uploads(host);
    expect(sent.map((u) => u.remote)).toEqual([`${K3S_IMAGES_DIR}/${images}`, K3S_BIN, K3S_INSTALL_SCRIPT]);
    expect(sent[0]!.stdin.equals(rel[arch].images)).toBe(true);
    expect(sent[1]!.stdin.equals(rel[arch].binary)).toBe(true);
    expect(sent[2]!.stdin.toString()).toBe(rel[arch].script);
    expect(rerun).toEqual([]);
  });

  test("the images tarball lands in the images dir, checked and mode 0644, BEFORE install.sh runs (server and agents)", async () => {
    const r = release("order").amd64;
    for (const kind of ["server", "agent"] as const) {
      const p = airgap(r, "amd64", kind);
      const { host, cmds, changes, rerun } = await applyAndRerun(p, { active: false });
      expect(changes).toEqual([
        `write ${K3S_CONFIG}`,
        `upload k3s-airgap-images-amd64.tar.zst to ${K3S_IMAGES_DIR}`,
        `install K3s ${VERSION} (${kind}, airgap)`,
      ]);
      const images = uploads(host).find((u) => u.remote.startsWith(K3S_IMAGES_DIR))!;
      const install = cmds.findIndex((c) => c.includes("INSTALL_K3S_SKIP_DOWNLOAD=true"));
      expect(images.index).toBeLessThan(install);
      const script = host.sent[images.index]!.command;
      expect(script).toContain(`echo "${sha(r.images)}  $t" | sha256sum -c --quiet -`);
      expect(script).toContain(`chmod '0644' "$t"`);
      expect(script).toContain(`chown 'root:root' "$t"`);
      expect(rerun).toEqual([]);
    }
  });

  test(".tar.gz images are used when the release's .tar.zst is not there", () => {
    const r = release("gz", ["arm64"], ".tar.gz").arm64;
    expect(airgapArtifacts(r.dir, "arm64", VERSION).images).toMatchObject({
      name: "k3s-airgap-images-arm64.tar.gz",
      sha256: sha(r.images),
    });
  });

  test("same version, images missing on the node: only the images are uploaded, no reinstall, no restart", async () => {
    const r = release("images-only").amd64;
    const p = airgap(r, "amd64");
    const { cmds, changes, rerun } = await applyAndRerun(p, {
      installedVersion: VERSION,
      config: configOf(p),
      active: true,
    });
    expect(changes).toEqual([`upload k3s-airgap-images-amd64.tar.zst to ${K3S_IMAGES_DIR}`]);
    expect(cmds.some((c) => /INSTALL_K3S|systemctl/.test(c))).toBe(false);
    expect(rerun).toEqual([]);
  });

  test("the fact read is the images' recorded digest (stat + record), never a hash of the tarball", () => {
    const r = release("probe").amd64;
    const p = airgap(r, "amd64");
    const images = k3s.reads(p).images!;
    const remote = `${K3S_IMAGES_DIR}/k3s-airgap-images-amd64.tar.zst`;
    expect(images.key).toBe(recordedDigest.of(remote).key);
    const fact = images.family as unknown as ShellFact<string | undefined, string>;
    const command = fact.command(remote);
    expect(command).toContain(recordPath(remote));
    expect(command).toContain("stat -c '%s %Y'");
    expect(command).not.toContain("sha256sum");
    const d = sha(r.images);
    const parse = (stdout: string, code = 0) => fact.parse({ stdout, stderr: "", code }, remote);
    expect(parse(`${d}\n`)).toBe(d);
    expect(parse("")).toBeUndefined();
    // A read that failed is an error, not "images missing" (which would upload 200 MB again).
    expect(() => parse("", 1)).toThrow(/cannot read the upload record/);
    const onlineReads: Record<string, FactRef<unknown> | undefined> = k3s.reads(online());
    expect(onlineReads.images).toBeUndefined();
  });

  test.each([
    [
      "the K3s binary",
      (r: Release) => writeFileSync(join(r.dir, "k3s"), Buffer.concat([r.binary, Buffer.from("x")])),
      "k3s",
    ],
    [
      "the images tarball",
      (r: Release) => writeFileSync(join(r.dir, "k3s-airgap-images-amd64.tar.zst"), "truncated"),
      "k3s-airgap-images-amd64.tar.zst",
    ],
  ])("%s that fails its checksum is refused before anything is sent", async (_what, corrupt, file) => {
    const r = release(`corrupt-${file}`).amd64;
    const p = airgap(r, "amd64");
    corrupt(r);
    const host = new RecordingHost("node");
    await expect(apply(host, p, { active: false })).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(`${file} has sha256 [0-9a-f]{64}, but the checksum file says`),
      ),
      fix: expect.stringMatching(/download it again/),
    });
    expect(host.sent).toHaveLength(0);
  });
});

describe("k3s air-gap errors name the missing file and the fix (boundary)", () => {
  const expectInputError = (fn: () => unknown, message: RegExp, fix: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(message),
      fix: expect.stringMatching(fix),
    });
  };

  test("artifacts dir missing", () =>
    expectInputError(
      () => airgapArtifacts(join(tmp, "nope"), "amd64", VERSION),
      /artifacts_dir .*nope does not exist/,
      /k3s, k3s-airgap-images-amd64.tar.zst \(or .tar.gz\), sha256sum-amd64.txt from https:\/\/github.com\/k3s-io\/k3s\/releases\/tag\/v1.31.4%2Bk3s1, and install.sh/,
    ));

  test("an amd64-only dir for an arm64 node: the arm64 checksum file, then binary, are named", () => {
    const r = release("amd64-only", ["amd64"]).amd64;
    expectInputError(
      () => airgapArtifacts(r.dir, "arm64", VERSION),
      /sha256sum-arm64.txt is missing \(the checksum file for arm64 nodes\)/,
      /put the release's sha256sum-arm64.txt in cluster.k3s.artifacts_dir; it needs k3s-arm64/,
    );
    writeFileSync(join(r.dir, "sha256sum-arm64.txt"), `${sha("x")}  k3s-arm64\n`);
    expectInputError(
      () => airgapArtifacts(r.dir, "arm64", VERSION),
      /k3s-arm64 is missing \(the K3s binary/,
      /k3s-arm64/,
    );
  });

  test("no images tarball, no install.sh, no checksum line", () => {
    const r = release("partial", ["amd64"]).amd64;
    rmSync(join(r.dir, "k3s-airgap-images-amd64.tar.zst"));
    expectInputError(
      () => airgapArtifacts(r.dir, "amd64", VERSION),
      /no images tarball for amd64 .*looked for k3s-airgap-images-amd64.tar.zst, k3s-airgap-images-amd64.tar.gz/,
      /put the release's k3s-airgap-images-amd64.tar.zst \(or .tar.gz\)/,
    );
    writeFileSync(join(r.dir, "k3s-airgap-images-amd64.tar.gz"), "img");
    expectInputError(
      () => airgapArtifacts(r.dir, "amd64", VERSION),
      /sha256sum-amd64.txt has no line for `k3s-airgap-images-amd64.tar.gz`/,
      /same K3s release \(v1.31.4\+k3s1\) and architecture \(amd64\)/,
    );
    writeFileSync(
      join(r.dir, "sha256sum-amd64.txt"),
      `${sha(r.binary)}  k3s\n${sha("img")}  k3s-airgap-images-amd64.tar.gz\n`,
    );
    rmSync(join(r.dir, "install.sh"));
    expectInputError(() => airgapArtifacts(r.dir, "amd64", VERSION), /install.sh is missing/, /get.k3s.io/);
  });

  test("an architecture without air-gap files is refused with the supported ones", () =>
    expectInputError(
      () => k3sArch("riscv64"),
      /architecture `riscv64`/,
      /amd64 \(x86_64\) and arm64 \(aarch64\)/,
    ));
});
