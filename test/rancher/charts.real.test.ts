/**
 * The vendored cert-manager and Rancher charts rendered by the REAL Helm 3.17.3 (test/support/real-helm.ts)
 * with exactly the values the rancher role sends, for the Kubernetes of the pinned K3s; every object
 * validated against Kubernetes 1.31 (test/support/k8s-schema.ts), Rancher's Issuer against the CRDs of the
 * very cert-manager chart that installs them.
 */
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { DEFAULTS } from "../../src/inventory/schema.js";
import { certManagerRelease, rancherObjects, rancherRelease } from "../../roles/rancher/index.js";
import {
  BOOTSTRAP_SECRET,
  BOOTSTRAP_SECRET_KEY,
  CERT_MANAGER_VERSION,
  RANCHER_SERVICE,
} from "../../roles/rancher/release.js";
import { RANCHER_PING_PATH } from "../../src/verify/rancher-ping.js";
import { K8sSchemaValidator, type K8sObject } from "../support/k8s-schema.js";
import { helm } from "../support/real-helm.js";
import {
  BOOTSTRAP_KEY,
  BOOTSTRAP_PASSWORD,
  CERT_MANAGER_TGZ,
  HOSTNAME,
  RANCHER_TGZ,
  rancherInventory,
} from "./fixtures.js";

/** The Kubernetes of the pinned K3s (v1.31.4+k3s1). */
const KUBE_VERSION = DEFAULTS.k3sVersion.replace(/^v/, "").replace(/\+.*$/, "");

type Doc = K8sObject & {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: any; // `any`: rendered manifests of many kinds
};

async function render(
  rel: { release: string; namespace: string; values: string },
  tgz: string,
  extra: string[] = [],
) {
  const { stdout } = await helm(
    [
      "template",
      rel.release,
      tgz,
      "--namespace",
      rel.namespace,
      "--values",
      "-",
      "--include-crds",
      "--kube-version",
      KUBE_VERSION,
      ...extra,
    ],
    { stdin: rel.values },
  );
  return {
    text: stdout,
    docs: parseAllDocuments(stdout)
      .map((d) => d.toJS() as Doc)
      .filter((d) => d?.kind),
  };
}

const inv = rancherInventory();
let certManager: { text: string; docs: Doc[] };
let rancher: { text: string; docs: Doc[] };
let validator: K8sSchemaValidator;

beforeAll(async () => {
  expect(existsSync(CERT_MANAGER_TGZ), CERT_MANAGER_TGZ).toBe(true);
  expect(existsSync(RANCHER_TGZ), RANCHER_TGZ).toBe(true);
  certManager = await render(certManagerRelease(inv), CERT_MANAGER_TGZ);
  // Installed after cert-manager: its CRDs serve cert-manager.io/v1 by then.
  rancher = await render(rancherRelease(inv), RANCHER_TGZ, ["--api-versions", "cert-manager.io/v1"]);
  validator = new K8sSchemaValidator(certManager.docs.filter((d) => d.kind === "CustomResourceDefinition"));
}, 60_000);

const find = (docs: Doc[], kind: string, name?: string) =>
  docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));

describe("the vendored charts are the pinned versions", () => {
  test.each([
    [CERT_MANAGER_TGZ, "cert-manager", CERT_MANAGER_VERSION, CERT_MANAGER_VERSION],
    [RANCHER_TGZ, "rancher", DEFAULTS.rancherVersion, `v${DEFAULTS.rancherVersion}`],
  ])("%s", async (tgz, name, version, appVersion) => {
    const chart = parseAllDocuments((await helm(["show", "chart", tgz])).stdout)[0]!.toJS();
    expect(chart).toMatchObject({ name, version, appVersion });
    // The placeholders upstream's release scripts fill in are all filled in.
    const all = (await helm(["show", "all", tgz])).stdout;
    expect(all).not.toMatch(/%[A-Z_]+%|\{\{IS_PRERELEASE\}\}|\{\{RELEASE_VERSION\}\}/);
  });
});

describe("cert-manager as the rancher role sends it (real Helm)", () => {
  test("every object is valid for Kubernetes 1.31", () => {
    expect(certManager.docs.length).toBeGreaterThan(40);
    expect(validator.invalid(certManager.docs)).toEqual([]);
  });

  test("its CRDs are part of the release, kept on uninstall", () => {
    const crds = find(certManager.docs, "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      "certificaterequests.cert-manager.io",
      "certificates.cert-manager.io",
      "challenges.acme.cert-manager.io",
      "clusterissuers.cert-manager.io",
      "issuers.cert-manager.io",
      "orders.acme.cert-manager.io",
    ]);
    for (const c of crds) expect(c.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  });

  test("its images are the pinned version's", () => {
    const images = find(certManager.docs, "Deployment").flatMap((d) =>
      d.spec.template.spec.containers.map((c: { image: string }) => c.image),
    );
    expect(images.sort()).toEqual(
      ["cainjector", "controller", "webhook"].map(
        (c) => `quay.io/jetstack/cert-manager-${c}:${CERT_MANAGER_VERSION}`,
      ),
    );
  });
});

describe("Rancher as the rancher role sends it (real Helm)", () => {
  test("every object is valid for Kubernetes 1.31, the Issuer for cert-manager's CRDs", () => {
    expect(validator.customKinds()).toContain("cert-manager.io/v1 Issuer");
    expect(find(rancher.docs, "Issuer")).toHaveLength(1);
    expect(validator.invalid(rancher.docs)).toEqual([]);
  });

  test("the Ingress answers at the inventory's host name with a certificate from Rancher's CA", () => {
    const [ingress] = find(rancher.docs, "Ingress");
    expect(ingress!.spec.rules.map((r: { host: string }) => r.host)).toEqual([HOSTNAME]);
    expect(ingress!.spec.tls).toEqual([{ hosts: [HOSTNAME], secretName: "tls-rancher-ingress" }]);
    expect(ingress!.metadata.annotations?.["cert-manager.io/issuer"]).toBe("rancher");
  });

  test("one replica of the pinned image; the password is not in Helm's hands", () => {
    const [deploy] = find(rancher.docs, "Deployment", "rancher");
    expect(deploy!.spec.replicas).toBe(1);
    const container = deploy!.spec.template.spec.containers[0];
    expect(container.image).toBe(`rancher/rancher:v${DEFAULTS.rancherVersion}`);
    // No CATTLE_BOOTSTRAP_PASSWORD: Rancher reads the Secret the role applies (bootstrap_password.go).
    expect(container.env.map((e: { name: string }) => e.name)).not.toContain("CATTLE_BOOTSTRAP_PASSWORD");
    expect(find(rancher.docs, "Secret", BOOTSTRAP_SECRET)).toEqual([]);
    expect(rancherRelease(inv).values).not.toMatch(/password/i);
  });

  test("the Service verify pings through the API server's proxy", () => {
    const [svc] = find(rancher.docs, "Service", RANCHER_SERVICE);
    expect(svc!.spec.ports).toContainEqual(expect.objectContaining({ name: "http", port: 80 }));
    expect(RANCHER_PING_PATH).toBe("/api/v1/namespaces/cattle-system/services/http:rancher:80/proxy/ping");
  });

  test("the bootstrap Secret the role applies is the one Rancher reads, and valid", () => {
    const objects = rancherObjects(inv, (k) => (k === BOOTSTRAP_KEY ? BOOTSTRAP_PASSWORD : "?"));
    const secret = objects.find((o) => o.kind === "Secret")!;
    expect(secret.metadata).toMatchObject({ name: "bootstrap-secret", namespace: "cattle-system" });
    expect(
      Buffer.from((secret.data as Record<string, string>)[BOOTSTRAP_SECRET_KEY]!, "base64").toString(),
    ).toBe(BOOTSTRAP_PASSWORD);
    expect(validator.invalid(objects)).toEqual([]);
  });

  test("the chart accepts the pinned K3s' Kubernetes and refuses one it does not support", async () => {
    await expect(render(rancherRelease(inv), RANCHER_TGZ, ["--kube-version", "1.34.0"])).rejects.toThrow(
      /incompatible with Kubernetes v1\.34/,
    );
  });
});
