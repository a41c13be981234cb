/**
 * BOUNDARY tests (no Helm here) for the air-gapped Helm CLI: the tarball for the node's arch comes from
 * cluster.k3s.artifacts_dir, is checked against its .sha256sum before anything is sent, is uploaded to the
 * node (kept there, recorded) and unpacked from there; missing files are named with their fix.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import type { RoleContext } from "../../src/engine/role.js";
import { parseInventory } from "../../src/inventory/load.js";
import { HELM_BIN, HELM_TARBALL_DIR, helmBinary, type HelmParams } from "../../src/modules/helm-binary.js";
import { role as helmRole } from "../../roles/helm/index.js";
import { RecordingHost } from "../support/recording-host.js";

const tmp = mkdtempSync(join(tmpdir(), "powerstack-helm-airgap-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Plan from the installed version (undefined: no Helm), then apply what was planned. */
const install = (host: RecordingHost, p: HelmParams, installed?: string) =>
  helmBinary.apply(
    { host, facts: {} as Facts, cache: new FactCache(host) },
    helmBinary.plan({ installed }, p),
    p,
  );

function artifacts(name: string, arch: string, version = "v3.16.3") {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const file = `helm-${version}-linux-${arch}.tar.gz`;
  const tgz = Buffer.from(`fake helm tarball ${arch}`);
  writeFileSync(join(dir, file), tgz);
  writeFileSync(join(dir, `${file}.sha256sum`), `${sha(tgz)}  ${file}\n`);
  return { dir, file, tgz };
}

async function paramsFor(machine: string, dir: string): Promise<HelmParams> {
  const inv = parseInventory(
    `cluster:
  nfs_network: 198.51.100.0/24
  k3s: { version: v1.31.4+k3s1, install: airgap, artifacts_dir: ${dir} }
  helm: { version: v3.16.3 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb }
`,
    join(tmp, "inventory.yaml"),
  );
  const ctx = { inventory: inv, facts: { arch: machine } as Facts } as RoleContext;
  return (await helmRole.tasks(ctx)).tasks[0]!.params as HelmParams;
}

describe("helm air-gapped (boundary)", () => {
  test.each([
    ["x86_64", "amd64"],
    ["aarch64", "arm64"],
  ])(
    "node arch %s: the %s tarball is uploaded (checked, recorded) and unpacked from the node's copy",
    async (machine, arch) => {
      const a = artifacts(`ok-${arch}`, arch);
      const p = await paramsFor(machine, a.dir);
      expect(p).toEqual({ version: "v3.16.3", arch, artifactsDir: a.dir });
      const host = new RecordingHost("ctl");
      await install(host, p);
      const remote = `${HELM_TARBALL_DIR}/${a.file}`;
      const upload = host.sent.findIndex((s) => s.command.includes(`mv -f "$t" '${remote}'`));
      expect(host.sent[upload]!.stdin!.equals(a.tgz)).toBe(true);
      expect(host.sent[upload]!.command).toContain(`echo "${sha(a.tgz)}  $t" | sha256sum -c --quiet -`);
      const cmds = host.commands();
      expect(cmds.at(-1)).toBe(
        `rm -rf '/tmp/powerstack-helm-v3.16.3' && mkdir -p '/tmp/powerstack-helm-v3.16.3' && tar -xz -C '/tmp/powerstack-helm-v3.16.3' -f '${remote}' && install -m 0755 '/tmp/powerstack-helm-v3.16.3/linux-${arch}/helm' ${HELM_BIN} && rm -rf '/tmp/powerstack-helm-v3.16.3'`,
      );
      expect(upload).toBeLessThan(cmds.length - 1);
      // Rerun: the pinned version is installed, nothing to do.
      expect(helmBinary.plan({ installed: "v3.16.3" }, p)).toEqual([]);
    },
  );

  test("a tarball that fails its .sha256sum is refused before anything is sent", async () => {
    const a = artifacts("tampered", "amd64");
    writeFileSync(join(a.dir, a.file), "tampered");
    const p = await paramsFor("x86_64", a.dir);
    const host = new RecordingHost("ctl");
    await expect(install(host, p, "v3.15.0")).rejects.toMatchObject({
      message: expect.stringMatching(
        /helm-v3.16.3-linux-amd64.tar.gz has sha256 [0-9a-f]{64}, but the checksum file says/,
      ),
    });
    // Only the read-only record check went out; no file content.
    expect(host.sent.every((s) => s.stdin === undefined)).toBe(true);
    expect(host.commands().some((c) => c.includes("mktemp") || c.includes("tar -xz"))).toBe(false);
  });

  test("missing tarball or .sha256sum: the file is named, with where to get it", async () => {
    const a = artifacts("missing", "arm64");
    rmSync(join(a.dir, `${a.file}.sha256sum`));
    const p = await paramsFor("aarch64", a.dir);
    const apply = () => install(new RecordingHost("ctl"), p);
    await expect(apply()).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /helm-v3.16.3-linux-arm64.tar.gz.sha256sum is missing \(Helm v3.16.3 for arm64\)/,
      ),
      fix: expect.stringMatching(
        /download helm-v3.16.3-linux-arm64.tar.gz and .*sha256sum from https:\/\/get.helm.sh/,
      ),
    });
    rmSync(join(a.dir, a.file));
    await expect(apply()).rejects.toThrow(/helm-v3.16.3-linux-arm64.tar.gz is missing/);
  });
});
