/**
 * Turn a parsed Ansible inventory into a draft powerstack inventory (plus secret values for the vault)
 * and a report of what happened to every variable: imported, to be entered (Jinja, `!vault`), ignored
 * (known and not needed) or unrecognised. Values are never validated here: the wizard checks each one
 * against the schema and asks again for any that do not fit.
 */
import { InputError } from "../../errors.js";
import { IPV4 } from "../../inventory/schema.js";
import { formatPath, type Path } from "../../inventory/schema-walker.js";
import { nodes, setIn, type Draft, type Raw } from "../draft.js";
import {
  isJinja,
  UnsafeText,
  VaultTagged,
  type AnsibleHost,
  type ParsedAnsibleInventory,
  type VarDef,
} from "./parse.js";
import { CONTROL_GROUPS, targetOf, WORKER_GROUPS, type SecretSlot, type Target } from "./vars.js";

export interface ImportReport {
  file: string;
  /** `ansible_host → nodes[].ssh_address (node1, node2)`. */
  imported: string[];
  /** Values that could not be taken over and must be entered. */
  toEnter: string[];
  ignored: string[];
  unrecognised: string[];
  notes: string[];
}

const SECRET_LABEL: Record<SecretSlot, string> = {
  grafanaAdminPassword: "the Grafana admin password",
  k3sToken: "the K3s token",
  slackWebhook: "the Slack webhook",
  becomePassword: "the sudo password",
  bmc: "the BMC password",
};

/** Groups report lines that differ only by host, so a 20-node inventory gives one line per variable. */
class Lines {
  private readonly map = new Map<string, Set<string>>();
  add(line: string, host: string): void {
    if (!this.map.has(line)) this.map.set(line, new Set());
    this.map.get(line)!.add(host);
  }
  list(all: number): string[] {
    return [...this.map].map(([line, hosts]) =>
      hosts.size === all && all > 1 ? `${line} (all hosts)` : `${line} (${[...hosts].join(", ")})`,
    );
  }
}

interface ClusterValue {
  target: Target & { to: "cluster" | "secret" };
  byHost: Array<{ host: string; value: unknown; def: VarDef }>;
}

export function importAnsible(parsed: ParsedAnsibleInventory, draft: Draft): ImportReport {
  draft.importedFrom = parsed.file;
  const report: ImportReport = {
    file: parsed.file,
    imported: [],
    toEnter: [],
    ignored: [],
    unrecognised: [],
    notes: [...parsed.notes],
  };
  const selected = selectHosts(parsed, report);

  const imported = new Lines();
  // Named with where they are defined; which hosts inherit them does not matter for what is not imported.
  const ignored = new Set<string>();
  const unrecognised = new Set<string>();
  const toEnter = new Map<string, Set<string>>();
  const clusterValues = new Map<string, ClusterValue>();
  const enter = (def: VarDef, host: string, why: string, dest: string, key: string) => {
    draft.mustEnter.set(key, `the imported \`${def.name}\` (${def.where}) ${why}`);
    const line = `\`${def.name}\` (${def.where}) ${why}: it must be entered (${dest})`;
    if (!toEnter.has(line)) toEnter.set(line, new Set());
    toEnter.get(line)!.add(host);
  };

  const list = nodes(draft);
  selected.forEach(({ host, role }) => {
    const i = list.length;
    const node: Raw = { role, ...nameAndAddress(host.alias) };
    list.push(node);
    for (const def of host.vars.values()) {
      const target = targetOf(def.name);
      if (!target) {
        unrecognised.add(`\`${def.name}\` (${def.where})`);
        continue;
      }
      if (target.to === "ignored") {
        ignored.add(`\`${def.name}\` (${def.where}): ${target.why}`);
        continue;
      }
      const dest =
        target.to === "node"
          ? formatPath(["nodes", i, ...target.path])
          : target.to === "cluster"
            ? formatPath(target.path)
            : `${SECRET_LABEL[target.slot]}, kept in the vault`;
      const key =
        target.to === "node"
          ? formatPath(["nodes", i, ...target.path])
          : target.to === "cluster"
            ? formatPath(target.path)
            : target.slot === "bmc"
              ? `secret:bmc:${i}`
              : `secret:${target.slot}`;
      const raw = def.value instanceof UnsafeText ? def.value.text : def.value;
      if (raw instanceof VaultTagged) {
        enter(
          def,
          host.alias,
          "is encrypted inline (`!vault`); powerstack does not decrypt inline vault values",
          dest,
          key,
        );
        continue;
      }
      if (!(def.value instanceof UnsafeText) && isJinja(raw)) {
        enter(
          def,
          host.alias,
          `is a Jinja expression \`${oneLine(raw)}\`; powerstack does not evaluate templates`,
          dest,
          key,
        );
        continue;
      }
      if (raw !== null && typeof raw === "object") {
        enter(def, host.alias, "is a list or mapping, not a single value", dest, key);
        continue;
      }
      if (raw === null || raw === undefined || raw === "") continue;

      let value: unknown = raw;
      let note = "";
      if (target.to !== "secret" && target.convert) {
        const c = target.convert(raw);
        if ("error" in c) {
          ignored.add(`\`${def.name}\` (${def.where}) ${c.error}`);
          continue;
        }
        value = c.value;
        if (c.note) note = ` (${c.note})`;
      }
      if (target.to === "node") {
        setIn(node, target.path, value);
        imported.add(`\`${def.name}\` → nodes[].${formatPath(target.path)}${note}`, host.alias);
      } else if (target.to === "secret" && target.slot === "bmc") {
        draft.secrets.bmc.set(i, String(value));
        imported.add(`\`${def.name}\` → ${SECRET_LABEL.bmc}, kept in the vault`, host.alias);
      } else {
        const key = target.to === "secret" ? `secret:${target.slot}` : formatPath(target.path);
        if (!clusterValues.has(key)) clusterValues.set(key, { target, byHost: [] });
        clusterValues.get(key)!.byHost.push({ host: host.alias, value, def });
        imported.add(`\`${def.name}\` → ${dest}${note}`, host.alias);
      }
    }
  });

  const control = selected.find((s) => s.role === "control")?.host.alias;
  for (const { target, byHost } of clusterValues.values())
    applyClusterValue(draft, target, byHost, control, report);

  const n = selected.length;
  report.imported.push(...imported.list(n));
  report.toEnter.push(
    ...[...toEnter].map(([line, hosts]) =>
      line.includes("(host ") ? line : `${line}; applies to ${[...hosts].join(", ")}`,
    ),
  );
  report.ignored.push(...ignored);
  report.unrecognised.push(...unrecognised);
  return report;
}

function selectHosts(
  parsed: ParsedAnsibleInventory,
  report: ImportReport,
): Array<{ host: AnsibleHost; role: "control" | "worker" }> {
  const out: Array<{ host: AnsibleHost; role: "control" | "worker" }> = [];
  for (const host of parsed.hosts) {
    const role = CONTROL_GROUPS.some((g) => host.groups.has(g))
      ? "control"
      : WORKER_GROUPS.some((g) => host.groups.has(g))
        ? "worker"
        : undefined;
    if (role) out.push({ host, role });
    else report.notes.push(`host \`${host.alias}\` is in no server/agent (master/node) group: not imported`);
  }
  if (out.length === 0) {
    throw new InputError(
      `${parsed.file}: no host is in a K3s server/agent group (found groups: ${parsed.groups.join(", ") || "none"})`,
      `put the K3s server under a group named one of ${CONTROL_GROUPS.slice(0, 4).join("/")} and the others under ${WORKER_GROUPS.slice(0, 4).join("/")}`,
    );
  }
  return out;
}

/** Ansible connects to the alias when `ansible_host` is absent; a node name must be a DNS label. */
function nameAndAddress(alias: string): Raw {
  const out: Raw = { ssh_address: alias };
  if (!IPV4.test(alias)) out.name = alias.split(".")[0]!.toLowerCase();
  return out;
}

function applyClusterValue(
  draft: Draft,
  target: Target & { to: "cluster" | "secret" },
  byHost: ClusterValue["byHost"],
  control: string | undefined,
  report: ImportReport,
): void {
  const distinct = [...new Set(byHost.map((b) => JSON.stringify(b.value)))];
  const chosen = byHost.find((b) => b.host === control) ?? byHost[0]!;
  if (distinct.length > 1) {
    const secret = target.to === "secret";
    const values = secret ? "" : ` (${byHost.map((b) => `${b.host}: ${String(b.value)}`).join("; ")})`;
    report.notes.push(
      `\`${chosen.def.name}\` differs between hosts${values}: powerstack keeps one value for the cluster; using ${chosen.host}'s${secret ? "" : ` (${String(chosen.value)})`}`,
    );
  }
  if (target.to === "cluster") setIn(draft.doc, target.path as Path, chosen.value);
  else (draft.secrets as unknown as Record<string, string>)[target.slot] = String(chosen.value);
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
