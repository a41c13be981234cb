/**
 * The monitoring stack's claims are Bound, and bound to volumes on the control node's NFS share, one
 * directory per service (`<data_path>/prometheus`, `/grafana`, `/alertmanager`, made by the storage role).
 * A claim Bound to anything else (K3s' default local-path provisioner, say) is a failure: its data lives
 * on one node's disk and is lost with it, which is exactly what the NFS share is for.
 */
import { MONITORING_SERVICES, type NodeSpec } from "../inventory/types.js";
import { fail, pass, type Verdict } from "./check.js";
import type { KubePv, KubePvc } from "../cluster/kube-objects.js";

/** Where an NFS volume points, from an in-tree `nfs` source or csi-driver-nfs' volume attributes. */
export function nfsLocation(pv: KubePv): { server: string; path: string } | undefined {
  const s = pv.spec ?? {};
  if (s.nfs?.server && s.nfs.path) return { server: s.nfs.server, path: s.nfs.path };
  const attrs = s.csi?.driver === "nfs.csi.k8s.io" ? s.csi.volumeAttributes : undefined;
  if (attrs?.server && attrs.share) {
    const sub = attrs.subdir ?? attrs.subDir;
    return { server: attrs.server, path: sub ? `${attrs.share.replace(/\/+$/, "")}/${sub}` : attrs.share };
  }
  return undefined;
}

function describeSource(pv: KubePv): string {
  const s = pv.spec ?? {};
  if (s.hostPath?.path) return `hostPath ${s.hostPath.path}`;
  if (s.local?.path) return `local ${s.local.path}`;
  if (s.csi?.driver) return `CSI ${s.csi.driver}`;
  return `storage class ${s.storageClassName ?? "(none)"}`;
}

const under = (path: string, dir: string) => {
  const p = path.replace(/\/+$/, "");
  const d = dir.replace(/\/+$/, "");
  return p === d || p.startsWith(`${d}/`);
};

export function checkPvcs(
  pvcs: KubePvc[],
  pvs: KubePv[],
  namespace: string,
  dataPath: string,
  control: NodeSpec,
): Verdict {
  const claims = pvcs.filter((c) => c.metadata.namespace === undefined || c.metadata.namespace === namespace);
  const deploy =
    "run `powerstack up` (creates the NFS StorageClass, the per-service volumes and the monitoring stack)";
  if (claims.length === 0) return fail(`no PersistentVolumeClaims in namespace ${namespace}`, deploy);

  const serverNames = new Set([control.internalIp, control.externalIp, control.sshAddress, control.name]);
  const problems: string[] = [];
  const good: Array<{ claim: string; at: string }> = [];
  let fix = deploy;
  for (const c of claims) {
    const name = c.metadata.name;
    if (c.status?.phase !== "Bound") {
      problems.push(
        `${name} is ${c.status?.phase ?? "not Bound"} (class ${c.spec?.storageClassName ?? "default"}, ${c.spec?.resources?.requests?.storage ?? "no size"})`,
      );
      fix = `no volume matches the claim (storage class, size, access mode): compare \`kubectl get pv\` with \`kubectl -n ${namespace} describe pvc ${name}\`; ${deploy}`;
      continue;
    }
    const pv = pvs.find((v) => v.metadata.name === c.spec?.volumeName);
    if (!pv) {
      problems.push(`${name} is bound to ${c.spec?.volumeName ?? "(no volume name)"}, which does not exist`);
      continue;
    }
    const at = nfsLocation(pv);
    if (!at) {
      problems.push(`${name} is bound to ${pv.metadata.name} (${describeSource(pv)}), not to an NFS volume`);
      fix = `the claim was bound before the NFS volumes existed: back up its data, delete the claim (\`kubectl -n ${namespace} delete pvc ${name}\`) and ${deploy}`;
      continue;
    }
    if (!serverNames.has(at.server)) {
      problems.push(
        `${name} is on ${at.server}:${at.path}, not on the control node ${control.name} (${control.internalIp})`,
      );
      continue;
    }
    if (!under(at.path, dataPath)) {
      problems.push(`${name} is on ${at.server}:${at.path}, outside the data path ${dataPath}`);
      continue;
    }
    good.push({ claim: name, at: `${at.server}:${at.path}` });
  }
  // Every service needs its volume; a service whose claim is already reported above (the charts name
  // claims after the service) is not reported twice.
  for (const svc of MONITORING_SERVICES) {
    const dir = `${dataPath.replace(/\/+$/, "")}/${svc}`;
    if (
      !good.some((g) => under(g.at.slice(g.at.indexOf(":") + 1), dir)) &&
      !problems.some((p) => p.includes(svc))
    )
      problems.push(`no claim is bound to the ${svc} volume (${dir})`);
  }
  if (problems.length > 0) return fail(problems.join("; "), fix);
  return pass(`${good.length} claims Bound to NFS: ${good.map((g) => `${g.claim} -> ${g.at}`).join(", ")}`);
}
