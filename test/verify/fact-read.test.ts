/**
 * verify reads the node through the modules' facts and FactCache: the same keys (a cache that already
 * holds what the mount module read is not asked again), one batch per read, and a fact whose read fails
 * (stderr kept) becomes the failed check that needed it, while the other checks still decide.
 *
 * The node is a fake that answers each snippet of the batch on its own (no host here has a root-only
 * /etc/fstab to refuse); the batch itself is split by the real FactCache.
 */
import { describe, expect, it } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import { FactReadError, type Fact, type ShellFact } from "../../src/engine/fact.js";
import { file } from "../../src/facts/file.js";
import { FSTAB } from "../../src/facts/fstab.js";
import { fsUuid, mountAt, mountedFsUuid, nfsExports, sysctl, unit } from "../../src/facts/system.js";
import { mount } from "../../src/modules/mount.js";
import type { ExecResult, Host } from "../../src/transport/host.js";
import { checkNodeGroup } from "../../src/verify/node-group.js";
import { readNodeFacts, PARANOID } from "../../src/verify/node-facts.js";
import { testInventory } from "./fixtures.js";

function shell<T, A>(f: Fact<T, A>): ShellFact<T, A> {
  if (!("command" in f)) throw new Error(`${f.name} is not a shell fact`);
  return f;
}

const UUID = "3f1c2b7e-5a4d-4c2b-9e1f-0a9b8c7d6e5f";
type Answer = Partial<ExecResult>;

/** Answers each fact snippet of a FactCache batch by its exact command; remembers the snippets asked. */
class FactNode implements Host {
  readonly batches: string[][] = [];
  constructor(
    readonly name: string,
    private readonly answers: Map<string, Answer>,
  ) {}

  async exec(command: string): Promise<ExecResult> {
    const re =
      /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>"\$E"; printf '\\n@@\1:\2:end:%d\\n' \$\?;/g;
    const asked: string[] = [];
    let stdout = "";
    for (const [, nonce, i, snippet] of command.matchAll(re)) {
      asked.push(snippet!);
      const a = this.answers.get(snippet!);
      if (!a) throw new Error(`${this.name}: no answer for ${snippet}`);
      stdout += `\n@@${nonce}:${i}:begin\n${a.stdout ?? ""}\n@@${nonce}:${i}:end:${a.code ?? 0}\n`;
      if (a.stderr) stdout += `@@${nonce}:${i}:stderr:${Buffer.from(a.stderr).toString("base64")}\n`;
    }
    this.batches.push(asked);
    return { code: 0, stdout, stderr: "" };
  }

  async close(): Promise<void> {}
}

const fileOut = (content: string) =>
  `regular file|644|root|root|0|0\n${Buffer.from(content).toString("base64")}`;

/** A healthy control node, with `over` replacing some answers (keyed by the fact's command). */
function controlNode(over: Array<[string, Answer]> = []): FactNode {
  const answers = new Map<string, Answer>([
    [shell(sysctl).command(PARANOID), { stdout: "-1\n" }],
    [
      shell(mountAt).command("/mnt/data"),
      {
        stdout: 'SOURCE="/dev/vdb" FSTYPE="btrfs" OPTIONS="rw,noatime,space_cache=v2,subvolid=5,subvol=/"\n',
      },
    ],
    [shell(mountedFsUuid).command("/mnt/data"), { stdout: `DEVNAME=/dev/vdb\nUUID=${UUID}\nTYPE=btrfs\n` }],
    [shell(file).command(FSTAB), { stdout: fileOut(`UUID=${UUID} /mnt/data btrfs defaults,noatime 0 2\n`) }],
    [shell(nfsExports).command(), { stdout: "/mnt/data\t198.51.100.0/24(sync,wdelay,rw,no_root_squash)\n" }],
    [
      shell(unit).command("k3s"),
      {
        stdout:
          "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nSubState=running\nNeedDaemonReload=no\n",
      },
    ],
    ...over,
  ]);
  return new FactNode("ctl", answers);
}

describe("verify reads the modules' facts", () => {
  it("shares the mount module's facts by key: in one cache, what the module read is not read again", async () => {
    const params = {
      path: "/mnt/data",
      source: { device: "/dev/vdb" },
      fstype: "btrfs",
      options: "defaults,noatime",
      state: "mounted" as const,
    };
    // The module reads the UUID of its device (fsUuid); verify, knowing only the path, that of the mount.
    const node = controlNode([[shell(fsUuid).command("/dev/vdb"), { stdout: `UUID=${UUID}\n` }]]);
    const cache = new FactCache(node);
    const moduleReads = mount.reads(params);
    await cache.read(Object.values(moduleReads).filter((r) => r !== undefined));

    const facts = await readNodeFacts(cache, "control", "/mnt/data");
    expect(node.batches).toHaveLength(2);
    // The second batch (verify's) holds only what the module had not read: not the mount, not fstab.
    expect(node.batches[1]).not.toContain(shell(mountAt).command("/mnt/data"));
    expect(node.batches[1]).not.toContain(shell(file).command(FSTAB));
    expect(node.batches[1]).toHaveLength(4);
    expect(moduleReads.mounted!.key).toBe(mountAt.of("/mnt/data").key);
    expect(facts.mount).toEqual({ value: cache.get(moduleReads.mounted!) });
    expect(facts.fstab).toEqual({ value: cache.get(moduleReads.fstab!) });
  });

  it("reads a node in one batch", async () => {
    const node = controlNode();
    const facts = await readNodeFacts(new FactCache(node), "control", "/mnt/data");
    expect(node.batches).toHaveLength(1);
    expect(node.batches[0]).toHaveLength(6);
    expect(facts.uuid).toEqual({ value: UUID });
  });
});

describe("a failed read is a finding, not a crash and not 'absent'", () => {
  it("fstab unreadable (exit 1, Permission denied): the mount checks fail naming it, the others decide", async () => {
    const inv = testInventory();
    const ctl = inv.nodes.find((n) => n.name === "ctl")!;
    const node = controlNode([
      [shell(file).command(FSTAB), { code: 1, stderr: "base64: /etc/fstab: Permission denied\n" }],
    ]);
    const group = await checkNodeGroup(inv, ctl, {
      connect: async () => node,
      connectDeadlineMs: 5_000,
      readDeadlineMs: 5_000,
    });
    const by = Object.fromEntries(group.results.map((r) => [r.name, r]));
    expect(by["storage.data-mount"]).toMatchObject({
      status: "fail",
      detail: "cannot read /etc/fstab: base64: /etc/fstab: Permission denied",
    });
    expect(by["storage.data-mount"]!.fix).toContain("the read runs as root");
    expect(by["kernel.perf_event_paranoid"]).toMatchObject({ status: "pass" });
    expect(by["nfs.export"]).toMatchObject({ status: "pass" });
    expect(by["k3s.service"]).toMatchObject({ status: "pass", detail: "k3s.service active (running)" });
    expect(node.batches).toHaveLength(1);
  });

  it("keeps the failed read's stderr and exit, caches the facts that were read, and not the failed one", async () => {
    const node = controlNode([
      [shell(file).command(FSTAB), { code: 1, stderr: "base64: /etc/fstab: Permission denied\n" }],
    ]);
    const cache = new FactCache(node);
    const facts = await readNodeFacts(cache, "control", "/mnt/data");
    const err = (facts.fstab as { error: unknown }).error;
    expect(err).toBeInstanceOf(FactReadError);
    expect((err as FactReadError).out).toMatchObject({
      code: 1,
      stderr: "base64: /etc/fstab: Permission denied\n",
    });
    expect(cache.has(file.of(FSTAB))).toBe(false);
    expect(cache.has(mountAt.of("/mnt/data"))).toBe(true);
    // Read again, only the failed fact is asked for.
    await readNodeFacts(cache, "control", "/mnt/data");
    expect(node.batches[1]).toEqual([shell(file).command(FSTAB)]);
  });

  it("a unit that cannot be read fails k3s.service with systemctl's words", async () => {
    const inv = testInventory();
    const w1 = inv.nodes.find((n) => n.name === "w1")!;
    const node = new FactNode(
      "w1",
      new Map<string, Answer>([
        [shell(sysctl).command(PARANOID), { stdout: "-1\n" }],
        [
          shell(mountAt).command("/mnt/data"),
          { stdout: 'SOURCE="198.51.100.11:/mnt/data" FSTYPE="nfs4" OPTIONS="rw,hard"\n' },
        ],
        [
          shell(file).command(FSTAB),
          { stdout: fileOut("198.51.100.11:/mnt/data /mnt/data nfs4 _netdev,hard 0 0\n") },
        ],
        [
          shell(unit).command("k3s-agent"),
          { code: 1, stderr: "Failed to connect to bus: No such file or directory\n" },
        ],
      ]),
    );
    const group = await checkNodeGroup(inv, w1, {
      connect: async () => node,
      connectDeadlineMs: 5_000,
      readDeadlineMs: 5_000,
    });
    const by = Object.fromEntries(group.results.map((r) => [r.name, r]));
    expect(by["k3s.service"]).toMatchObject({
      status: "fail",
      detail:
        "cannot read the state of k3s-agent.service: Failed to connect to bus: No such file or directory",
      fix: "powerstack needs systemd on the node",
    });
    expect(by["nfs.client-mount"]).toMatchObject({ status: "pass" });
  });
});
