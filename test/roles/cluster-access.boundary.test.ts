/**
 * BOUNDARY tests for Helm and K3s readiness (neither can run here): the commands sent and the decisions.
 * The kubeconfig merge runs for real on real files in a temp directory.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, test } from "vitest";
import type { Facts } from "../../src/engine/facts.js";
import { helmArch, helmBinary } from "../../src/modules/helm-binary.js";
import { kubeconfig, K3S_KUBECONFIG } from "../../src/modules/kubeconfig.js";
import { nodesReady, parseNodes } from "../../src/modules/nodes-ready.js";
import { RecordingHost } from "../support/recording-host.js";

const tmp = mkdtempSync(join(tmpdir(), "powerstack-access-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const facts = {} as Facts;

const nodeList = (ready: Record<string, boolean | undefined>) =>
  JSON.stringify({
    items: Object.entries(ready)
      .filter(([, r]) => r !== undefined)
      .map(([name, r]) => ({
        metadata: { name },
        status: {
          conditions: [
            { type: "Ready", status: r ? "True" : "False", reason: r ? "KubeletReady" : "KubeletNotReady" },
          ],
        },
      })),
  });

describe("helm binary (boundary)", () => {
  test("installed at the pinned version: nothing to do; otherwise the release tarball for the node's arch", async () => {
    const p = { version: "v3.16.3", arch: helmArch("x86_64") };
    expect(helmBinary.plan("v3.16.3", p)).toEqual([]);
    expect(helmBinary.plan("v3.15.0", p).map((c) => c.summary)).toEqual([
      "install Helm v3.16.3 (replacing v3.15.0)",
    ]);
    const host = new RecordingHost("ctl");
    await helmBinary.apply({ host, facts }, p, [], undefined);
    expect(host.commands()).toEqual([
      "curl -fsSL 'https://get.helm.sh/helm-v3.16.3-linux-amd64.tar.gz' | { rm -rf '/tmp/powerstack-helm-v3.16.3' && mkdir -p '/tmp/powerstack-helm-v3.16.3' && tar -xz -C '/tmp/powerstack-helm-v3.16.3' && install -m 0755 '/tmp/powerstack-helm-v3.16.3/linux-amd64/helm' /usr/local/bin/helm && rm -rf '/tmp/powerstack-helm-v3.16.3'; }",
    ]);
    expect(helmArch("aarch64")).toBe("arm64");
  });

  // Air-gapped Helm (per arch, uploaded and kept): test/roles/helm-airgap.boundary.test.ts.
});

describe("nodes ready (boundary)", () => {
  test("plan names the nodes that are not Ready or not registered", () => {
    const seen = parseNodes(nodeList({ ctl: true, w1: false }));
    expect(
      nodesReady.plan(seen, { nodes: ["ctl", "w1", "w2"], timeoutSec: 1 }).map((c) => c.summary),
    ).toEqual(["wait for nodes Ready: w1 (NotReady: KubeletNotReady), w2 (not registered)"]);
    expect(
      nodesReady.plan(parseNodes(nodeList({ ctl: true, w1: true })), { nodes: ["ctl", "w1"], timeoutSec: 1 }),
    ).toEqual([]);
    expect(parseNodes("not json")).toEqual(new Map());
  });

  test("apply polls `k3s kubectl get nodes -o json` until Ready", async () => {
    let calls = 0;
    const host = new RecordingHost("ctl", [
      [/get nodes/, () => ({ stdout: nodeList({ ctl: true, w1: ++calls >= 3 }) })],
    ]);
    await nodesReady.apply(
      { host, facts },
      { nodes: ["ctl", "w1"], timeoutSec: 10, pollSec: 0.01 },
      [],
      new Map(),
    );
    expect(host.commands()).toEqual(Array(3).fill("k3s kubectl get nodes -o json"));
  });

  test("a bounded wait ends with the names of the nodes that never came up", async () => {
    const host = new RecordingHost("ctl", [[/get nodes/, { stdout: nodeList({ ctl: true }) }]]);
    await expect(
      nodesReady.apply(
        { host, facts },
        { nodes: ["ctl", "w2"], timeoutSec: 0.05, pollSec: 0.01 },
        [],
        new Map(),
      ),
    ).rejects.toMatchObject({
      message: "nodes not Ready after 0.05s: w2 (not registered)",
      fix: expect.stringMatching(/journalctl -u k3s-agent/),
    });
  });
});

const K3S_YAML = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EK
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVAo=
    client-key-data: S0VZCg==
`;

describe("kubeconfig merge (real files)", () => {
  const run = async (path: string) => {
    const params = {
      localPath: path,
      localContent: (() => {
        try {
          return readFileSync(path, "utf8");
        } catch {
          return undefined;
        }
      })(),
      context: "powerstack",
      server: "https://192.0.2.10:6443",
    };
    const changes = kubeconfig.plan(K3S_YAML, params);
    if (changes.length)
      await kubeconfig.apply({ host: new RecordingHost("ctl"), facts }, params, changes, K3S_YAML);
    return changes;
  };

  test("into an existing config: other contexts untouched, powerstack added with the external server URL, idempotent", async () => {
    const path = join(tmp, "existing", "config");
    mkdirSync(join(tmp, "existing"));
    const other = `apiVersion: v1
kind: Config
current-context: work
clusters:
- name: work
  cluster: { server: "https://work.example:6443" }
users:
- name: work
  user: { token: abc }
contexts:
- name: work
  context: { cluster: work, user: work }
`;
    writeFileSync(path, other);
    expect((await run(path)).map((c) => c.summary)).toEqual([
      `update context powerstack in ${path} (server https://192.0.2.10:6443)`,
    ]);
    const merged = parse(readFileSync(path, "utf8"));
    expect(merged["current-context"]).toBe("work");
    expect(merged.clusters).toEqual([
      { name: "work", cluster: { server: "https://work.example:6443" } },
      {
        name: "powerstack",
        cluster: { "certificate-authority-data": "Q0EK", server: "https://192.0.2.10:6443" },
      },
    ]);
    expect(merged.users[1]).toEqual({
      name: "powerstack",
      user: { "client-certificate-data": "Q0VSVAo=", "client-key-data": "S0VZCg==" },
    });
    expect(merged.contexts[1]).toEqual({
      name: "powerstack",
      context: { cluster: "powerstack", user: "powerstack" },
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await run(path)).toEqual([]);
  });

  test("no config yet: created with powerstack as the current context", async () => {
    const path = join(tmp, "fresh", ".kube", "config");
    expect((await run(path)).map((c) => c.summary)).toEqual([
      `create context powerstack in ${path} (server https://192.0.2.10:6443)`,
    ]);
    expect(parse(readFileSync(path, "utf8"))["current-context"]).toBe("powerstack");
    expect(await run(path)).toEqual([]);
  });

  test("a kubeconfig that is not YAML is refused, not overwritten", async () => {
    const path = join(tmp, "broken");
    writeFileSync(path, "clusters: [unclosed\n");
    expect(() =>
      kubeconfig.plan(K3S_YAML, {
        localPath: path,
        localContent: readFileSync(path, "utf8"),
        context: "powerstack",
        server: "https://x:6443",
      }),
    ).toThrow(/is not valid YAML/);
    expect(readFileSync(path, "utf8")).toBe("clusters: [unclosed\n");
  });

  test("before K3s is installed, check mode says what it will do", () => {
    expect(
      kubeconfig.plan(undefined, { localPath: "/x", context: "powerstack", server: "https://x:6443" })[0]!
        .summary,
    ).toMatch(/once K3s is installed/);
    expect(K3S_KUBECONFIG).toBe("/etc/rancher/k3s/k3s.yaml");
  });
});
