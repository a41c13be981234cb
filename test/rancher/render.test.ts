/**
 * `powerstack render` with Rancher enabled: the two releases the rancher role installs (cert-manager, then
 * Rancher, at their pinned versions and with the values the role sends) and its manifest, with the
 * bootstrap password only as a `<vault:KEY>` placeholder. Disabled, nothing of Rancher is rendered.
 */
import { describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { certManagerRelease, rancherRelease } from "../../roles/rancher/index.js";
import { renderArtifacts } from "../../src/render/artifacts.js";
import { BOOTSTRAP_KEY, plainInventory, rancherInventory } from "./fixtures.js";

describe("powerstack render with cluster.rancher", () => {
  test("enabled: cert-manager and Rancher after the monitoring releases, with the role's values, and rancher.yaml", () => {
    const inv = rancherInventory();
    const r = renderArtifacts(inv);
    const names = r.releases.map((x) => x.name);
    expect(names.slice(-2)).toEqual([certManagerRelease(inv).release, rancherRelease(inv).release]);
    const [cert, rancher] = r.releases.slice(-2);
    expect(cert).toMatchObject({
      version: certManagerRelease(inv).version,
      values: certManagerRelease(inv).values,
    });
    expect(rancher).toMatchObject({
      version: inv.cluster.rancher.version,
      values: rancherRelease(inv).values,
    });
    const manifest = r.manifests.find((m) => m.name === "rancher.yaml");
    expect(manifest?.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/cattle-system",
      "Secret/bootstrap-secret",
    ]);
    const text = stringify(manifest!.objects);
    expect(text).toContain(Buffer.from(`<vault:${BOOTSTRAP_KEY}>`).toString("base64"));
  });

  test("disabled: no Rancher release and no rancher.yaml", () => {
    const r = renderArtifacts(plainInventory());
    expect(r.releases.map((x) => x.name)).not.toContain("rancher");
    expect(r.manifests.map((m) => m.name)).not.toContain("rancher.yaml");
  });
});
