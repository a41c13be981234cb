/**
 * BOUNDARY tests for Helm and K3s readiness (neither can run here): the commands sent and the decisions.
 * The kubeconfig merge runs for real on real files in a temp directory.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, test } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import { helmArch, helmBinary, helmVersion } from "../../src/modules/helm-binary.js";
import { kubeconfig, K3S_KUBECONFIG, type KubeconfigParams } from "../../src/modules/kubeconfig.js";
import { k8sNodes, nodesReady, parseNodes, type NodesReadyParams } from "../../src/modules/nodes-ready.js";
import type { Host } from "../../src/transport/host.js";
import { RecordingHost } from "../support/recording-host.js";
import { factHost, fileAnswer, shellOf } from "./fact-host.js";

const tmp = mkdtempSync(join(tmpdir(), "powerstack-access-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const facts = {} as Facts;
const applyCtx = (host: Host) => ({ host, facts, cache: new FactCache(host) });

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
    expect(helmBinary.plan({ installed: "v3.16.3" }, p)).toEqual([]);
    const actions = helmBinary.plan({ installed: "v3.15.0" }, p);
    expect(actions.map((a) => helmBinary.describe(a, p))).toEqual([
      "install Helm v3.16.3 (replacing v3.15.0)",
    ]);
    expect(helmBinary.plan({ installed: undefined }, p).map((a) => helmBinary.describe(a, p))).toEqual([
      "install Helm v3.16.3",
    ]);
    // The installed version is a fact: `@@absent` when there is no binary; a failed read is an error.
    const version = (stdout: string, code = 0) => shellOf(helmVersion).parse(stdout, code);
    expect(shellOf(helmVersion).command()).toContain("/usr/local/bin/helm version --template '{{.Version}}'");
    expect(version("v3.15.0")).toBe("v3.15.0");
    expect(version("@@absent\n")).toBeUndefined();
    expect(() => version("", 1)).toThrow(/cannot read \/usr\/local\/bin\/helm version/);
    const host = new RecordingHost("ctl");
    await helmBinary.apply(applyCtx(host), actions, p);
    expect(host.commands()).toEqual([
      "curl -fsSL 'https://get.helm.sh/helm-v3.16.3-linux-amd64.tar.gz' | { rm -rf '/tmp/powerstack-helm-v3.16.3' && mkdir -p '/tmp/powerstack-helm-v3.16.3' && tar -xz -C '/tmp/powerstack-helm-v3.16.3' && install -m 0755 '/tmp/powerstack-helm-v3.16.3/linux-amd64/helm' /usr/local/bin/helm && rm -rf '/tmp/powerstack-helm-v3.16.3'; }",
    ]);
    expect(helmArch("aarch64")).toBe("arm64");
  });

  // Air-gapped Helm (per arch, uploaded and kept): test/roles/helm-airgap.boundary.test.ts.
});

describe("nodes ready (boundary)", () => {
  const summaries = (stdout: string, p: NodesReadyParams, code = 0) => {
    const seen = shellOf(k8sNodes).parse(stdout, code, code ? "connection refused" : "");
    return nodesReady.plan({ seen }, p).map((a) => nodesReady.describe(a, p));
  };

  test("plan names the nodes that are not Ready or not registered", () => {
    expect(
      summaries(nodeList({ ctl: true, w1: false }), { nodes: ["ctl", "w1", "w2"], timeoutSec: 1 }),
    ).toEqual(["wait for nodes Ready: w1 (NotReady: KubeletNotReady), w2 (not registered)"]);
    expect(summaries(nodeList({ ctl: true, w1: true }), { nodes: ["ctl", "w1"], timeoutSec: 1 })).toEqual([]);
    expect(parseNodes("not json")).toEqual(new Map());
    // The fact is what kubectl on the server says; K3s not installed, or its API down, is "not Ready yet".
    expect(shellOf(k8sNodes).command()).toContain("/usr/local/bin/k3s kubectl get nodes -o json");
    expect(summaries("@@absent\n", { nodes: ["ctl"], timeoutSec: 1 })).toEqual([
      "wait for nodes Ready: ctl (not registered)",
    ]);
    expect(summaries("", { nodes: ["ctl"], timeoutSec: 1 }, 1)).toEqual([
      "wait for nodes Ready: ctl (not registered)",
    ]);
  });

  test("apply polls `k3s kubectl get nodes -o json` until Ready", async () => {
    let calls = 0;
    const host = new RecordingHost("ctl", [
      [/get nodes/, () => ({ stdout: nodeList({ ctl: true, w1: ++calls >= 3 }) })],
    ]);
    await nodesReady.apply(applyCtx(host), [{ kind: "wait", waiting: ["w1 (not registered)"] }], {
      nodes: ["ctl", "w1"],
      timeoutSec: 10,
      pollSec: 0.01,
    });
    // K3s's kubectl by its absolute path (src/facts/k3s.ts KUBECTL), as every module and `verify` call it.
    expect(host.commands()).toEqual(Array(3).fill("/usr/local/bin/k3s kubectl get nodes -o json"));
  });

  test("a bounded wait ends with the names of the nodes that never came up", async () => {
    const host = new RecordingHost("ctl", [[/get nodes/, { stdout: nodeList({ ctl: true }) }]]);
    await expect(
      nodesReady.apply(applyCtx(host), [{ kind: "wait", waiting: ["w2 (not registered)"] }], {
        nodes: ["ctl", "w2"],
        timeoutSec: 0.05,
        pollSec: 0.01,
      }),
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
  /** Both files read as the module's facts (the server's k3s.yaml on a recording node, the local file for real). */
  const run = async (path: string) => {
    const params: KubeconfigParams = {
      localPath: path,
      context: "powerstack",
      server: "https://192.0.2.10:6443",
    };
    const host = factHost("ctl", [[/k3s\.yaml/, fileAnswer(K3S_YAML)]]);
    const ctx = applyCtx(host);
    const reads = kubeconfig.reads(params);
    await ctx.cache.read([reads.remote, reads.local!]);
    const actions = kubeconfig.plan(
      { remote: ctx.cache.get(reads.remote), local: ctx.cache.get(reads.local!) },
      params,
    );
    if (actions.length) await kubeconfig.apply(ctx, actions, params);
    return actions.map((a) => ({ summary: kubeconfig.describe(a, params) }));
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
    await expect(run(path)).rejects.toThrow(/is not valid YAML/);
    expect(readFileSync(path, "utf8")).toBe("clusters: [unclosed\n");
  });

  test("before K3s is installed, check mode says what it will do; applying it then is refused", async () => {
    const p: KubeconfigParams = {
      localPath: join(tmp, "never", "config"),
      context: "powerstack",
      server: "https://x:6443",
    };
    const actions = kubeconfig.plan({ remote: { exists: false }, local: undefined }, p);
    expect(actions.map((a) => kubeconfig.describe(a, p))).toEqual([
      `merge K3s kubeconfig into ${p.localPath} as context powerstack (once K3s is installed)`,
    ]);
    await expect(kubeconfig.apply(applyCtx(new RecordingHost("ctl")), actions, p)).rejects.toMatchObject({
      message: expect.stringMatching(/k3s.yaml is missing on the control node/),
      fix: expect.stringMatching(/run the k3s-server role first/),
    });
    expect(K3S_KUBECONFIG).toBe("/etc/rancher/k3s/k3s.yaml");
  });
});
