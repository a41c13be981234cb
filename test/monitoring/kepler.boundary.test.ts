/**
 * BOUNDARY tests of the kepler role, both lines (REFERENCE.md): chart and values, the Redfish credentials
 * (current: redfish.yaml; legacy: redfish.csv) only in a Secret, the post-renderer that mounts it (current)
 * or drops the chart's empty copy of it (legacy), and when Redfish stays off.
 */
import { parse } from "yaml";
import { describe, expect, test } from "vitest";
import { role } from "../../roles/kepler/index.js";
import { legacyRedfishCsv, redfishPlan } from "../../roles/kepler/redfish.js";
import { scrapeTimeout } from "../../roles/kepler/values.js";
import type { CopyParams } from "../../src/modules/copy.js";
import type { HelmReleaseParams } from "../../src/modules/helm-release.js";
import type { KubeApplyParams } from "../../src/modules/kube-apply.js";
import { inventory, roleContext, SECRETS, VAULT } from "./fixtures.js";

async function run(inv = inventory()) {
  const { tasks } = await role.tasks(roleContext(inv));
  const apply = tasks.find((t) => t.module.name === "kube-apply")!.params as KubeApplyParams;
  const helm = tasks.find((t) => t.module.name === "helm-release")!;
  const copies = tasks.filter((t) => t.module.name === "copy").map((t) => t.params as CopyParams);
  return { tasks, apply, helm, release: helm.params as HelmReleaseParams, copies };
}
const secretText = (apply: KubeApplyParams, key: string) =>
  Buffer.from(
    (apply.objects.find((o) => o.kind === "Secret")!.data as Record<string, string>)[key]!,
    "base64",
  ).toString();

describe("Kepler, current line (boundary)", () => {
  test("OCI chart, tolerations for every node, ServiceMonitor labelled for kube-prometheus-stack, Redfish config file", async () => {
    const { release, helm } = await run();
    expect(helm.name).toBe("Kepler 0.11.4 (current line, Redfish on 2 nodes)");
    expect(release).toMatchObject({
      release: "kepler",
      namespace: "kepler",
      chart: { kind: "oci", url: "oci://quay.io/sustainable_computing_io/charts/kepler" },
      version: "0.11.4",
      postRenderer: "/var/lib/powerstack/helm/kepler/post-render.sh",
    });
    expect(parse(release.values)).toEqual({
      daemonset: { tolerations: [{ operator: "Exists" }] },
      config: {
        log: { level: "info" },
        experimental: {
          platform: {
            redfish: { enabled: true, configFile: "/etc/kepler-redfish/redfish.yaml", httpTimeout: "5s" },
          },
        },
      },
      serviceMonitor: { enabled: true, interval: "15s", labels: { release: "kube-prometheus-stack" } },
    });
  });

  test("redfish.yaml in the Secret: node -> BMC map and each BMC's endpoint, user, password, TLS choice", async () => {
    const { apply } = await run();
    expect(apply.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/kepler",
      "Secret/kepler-redfish",
    ]);
    expect(apply.objects[0]!.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "privileged",
    });
    expect(parse(secretText(apply, "redfish.yaml"))).toEqual({
      nodes: { ctl: "ctl-bmc", w1: "w1-bmc" },
      bmcs: {
        "ctl-bmc": {
          endpoint: "https://203.0.113.10",
          username: "USERID",
          password: VAULT.bmc_ctl,
          insecure: true,
        },
        "w1-bmc": {
          endpoint: "https://203.0.113.11",
          username: "USERID",
          password: VAULT.bmc_w1,
          insecure: false,
        },
      },
    });
    expect(apply.restartOnSecretUpdate).toEqual({ kind: "daemonset", namespace: "kepler", name: "kepler" });
  });

  test("post-renderer: a kustomize patch mounting the Secret as its own read-only directory; no credential in it", async () => {
    const { copies, release } = await run();
    const [script, patch] = copies;
    expect(script).toMatchObject({ path: "/var/lib/powerstack/helm/kepler/post-render.sh", mode: "0755" });
    expect(script!.content).toContain('kubectl="/usr/local/bin/k3s kubectl"');
    expect(script!.content).toContain('$kubectl kustomize "$work"');
    // The patch is read from beside the script: the role copies it to the same directory.
    expect(script!.content).toContain('cp "$here/patch.yaml" "$work/patch.yaml"');
    expect(patch!.path).toBe("/var/lib/powerstack/helm/kepler/patch.yaml");
    expect(parse(patch!.content)).toEqual({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "kepler", namespace: "kepler" },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "kepler",
                volumeMounts: [
                  { name: "powerstack-redfish", mountPath: "/etc/kepler-redfish", readOnly: true },
                ],
              },
            ],
            volumes: [{ name: "powerstack-redfish", secret: { secretName: "kepler-redfish" } }],
          },
        },
      },
    });
    expect(release.extraInputs).toBe(`${script!.content}\n---\n${patch!.content}`);
    for (const s of SECRETS()) {
      expect(script!.content + patch!.content + release.values).not.toContain(s);
    }
  });

  test("a node without a BMC on Kepler 0.11.4: platform power for the nodes that have one (0.11.4 warns and runs on)", async () => {
    const { helm, apply, release } = await run(inventory({ bmcs: ["ctl"] }));
    expect(helm.name).toBe("Kepler 0.11.4 (current line, Redfish on 1 node)");
    const file = parse(secretText(apply, "redfish.yaml"));
    expect(Object.keys(file.nodes)).toEqual(["ctl"]);
    expect(Object.keys(file.bmcs)).toEqual(["ctl-bmc"]);
    expect(release.postRenderer).toBeDefined();
    expect(parse(release.values).config.experimental.platform.redfish.enabled).toBe(true);
  });

  test("a node without a BMC on Kepler 0.11.0-0.11.3: Redfish off for the cluster (those stop on an unlisted node), said in the task", async () => {
    const { helm, apply, copies, release } = await run(inventory({ bmcs: ["ctl"], keplerVersion: "0.11.3" }));
    expect(helm.name).toBe(
      "Kepler 0.11.3 (current line, Redfish off: w1 has no bmc, and Kepler 0.11.3 (0.11.0-0.11.3) stops on a node missing from its Redfish file; 0.11.4 and later keep platform power for the others)",
    );
    expect(apply.objects.map((o) => o.kind)).toEqual(["Namespace"]);
    expect(copies).toEqual([]);
    expect(release.postRenderer).toBeUndefined();
    expect(parse(release.values).config.experimental).toBeUndefined();
    // Every node with a BMC: on, whatever the 0.11 patch release.
    expect((await run(inventory({ keplerVersion: "0.11.0" }))).helm.name).toBe(
      "Kepler 0.11.0 (current line, Redfish on 2 nodes)",
    );
    expect((await run(inventory({ keplerVersion: "0.10.2" }))).helm.name).toBe(
      "Kepler 0.10.2 (current line, Redfish off: Kepler 0.10.2 has no Redfish support (it came in 0.11.0))",
    );
    expect((await run(inventory({ bmcs: [] }))).helm.name).toBe(
      "Kepler 0.11.4 (current line, no BMC in the inventory)",
    );
  });
});

describe("Kepler, legacy line (boundary)", () => {
  test("repository chart, top-level tolerations, Redfish env, ServiceMonitor labels, fileContent left empty", async () => {
    const { release } = await run(inventory({ flavour: "legacy" }));
    expect(release.chart).toEqual({
      kind: "repo",
      repoName: "kepler",
      repoUrl: "https://sustainable-computing-io.github.io/kepler-helm-chart",
      chart: "kepler",
    });
    expect(release.version).toBe("0.5.13");
    expect(parse(release.values)).toEqual({
      tolerations: [{ operator: "Exists" }],
      serviceMonitor: {
        enabled: true,
        interval: "15s",
        scrapeTimeout: "5s",
        labels: { release: "kube-prometheus-stack" },
      },
      extraEnvVars: { REDFISH_PROBE_INTERVAL_IN_SECONDS: "60", REDFISH_SKIP_SSL_VERIFY: "true" },
      redfish: { enabled: true, name: "kepler-redfish", fileContent: "" },
    });
  });

  test("redfish.csv in the Secret, one `nodename,username,password,https://bmc` line per node with a BMC", async () => {
    const { apply } = await run(inventory({ flavour: "legacy", bmcs: ["ctl", "w1"] }));
    expect(secretText(apply, "redfish.csv")).toBe(
      `ctl,USERID,${VAULT.bmc_ctl},https://203.0.113.10\nw1,USERID,${VAULT.bmc_w1},https://203.0.113.11\n`,
    );
    // Legacy skips nodes without a row: Redfish stays on for the ones that have a BMC.
    const one = await run(inventory({ flavour: "legacy", bmcs: ["w1"] }));
    expect(secretText(one.apply, "redfish.csv")).toBe(`w1,USERID,${VAULT.bmc_w1},https://203.0.113.11\n`);
    expect(parse(one.release.values).extraEnvVars.REDFISH_SKIP_SSL_VERIFY).toBe("false");
  });

  test("post-renderer drops the chart's empty Secret, so powerstack's is the only one", async () => {
    const { copies } = await run(inventory({ flavour: "legacy" }));
    expect(parse(copies[1]!.content)).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "kepler-redfish", namespace: "kepler" },
      $patch: "delete",
    });
  });

  test("scrape timeout never above the interval (the chart's 5s default with a 3s interval: Prometheus refuses the config)", () => {
    expect(scrapeTimeout("3s")).toBe("3s");
    expect(scrapeTimeout("5s")).toBe("5s");
    expect(scrapeTimeout("1m")).toBe("5s");
    expect(scrapeTimeout("500ms")).toBe("500ms");
  });

  test("a password that would break the CSV is refused, naming the vault key, never the value", () => {
    const inv = inventory({ flavour: "legacy" });
    const plan = redfishPlan(inv);
    const bad = "pa,ss";
    expect(() => legacyRedfishCsv(plan, (k) => (k === "bmc_w1" ? bad : "ok"))).toThrow(
      /node w1: the password in vault key bmc_w1 holds a comma or a line break, which legacy Kepler's redfish.csv cannot carry/,
    );
    try {
      legacyRedfishCsv(plan, (k) => (k === "bmc_w1" ? bad : "ok"));
    } catch (e) {
      expect((e as Error).message).not.toContain(bad);
    }
  });

  test("no BMC: no Secret, no post-renderer, and no extraEnvVars key (a null would wipe the chart's defaults)", async () => {
    const { release, copies, apply } = await run(inventory({ flavour: "legacy", bmcs: [] }));
    const v = parse(release.values);
    expect(v).not.toHaveProperty("extraEnvVars");
    expect(v).not.toHaveProperty("redfish");
    expect(copies).toEqual([]);
    expect(apply.objects.map((o) => o.kind)).toEqual(["Namespace"]);
  });
});
