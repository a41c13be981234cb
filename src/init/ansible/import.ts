/**
 * Turn a parsed Ansible inventory (and the Ansible vault it refers to, when read) into a draft powerstack
 * inventory plus secret values, and an exact report: every variable as written, once per place it is
 * defined, lands in one section: taken over, needs input (Jinja, `!vault`, a vault not read), or ignored
 * with the reason. Values are not validated here: the wizard checks each against the schema and asks again
 * for any that do not fit.
 */
import { InputError } from "../../errors.js";
import { IPV4 } from "../../inventory/schema.js";
import { formatPath, type Path } from "../../inventory/schema-walker.js";
import { getIn, nodes, setIn, type Draft, type Raw } from "../draft.js";
import { dropInAdvice, meaningOf, parseK3sArgs, shownFlag, type K3sFlag } from "./k3s-args.js";
import {
  isJinja,
  UnsafeText,
  VaultTagged,
  type AnsibleHost,
  type ParsedAnsibleInventory,
  type VarDef,
} from "./parse.js";
import { isVaultCandidate, referencedPath, type AnsibleVault } from "./vault-source.js";
import {
  CONTROL_GROUPS,
  RANCHER_HOST_VARS,
  snakeCase,
  targetOf,
  WORKER_GROUPS,
  type SecretSlot,
  type Target,
} from "./vars.js";

export type Section = "taken" | "input" | "ignored";

/** What happened to one variable (or one K3s flag of it) for one host. */
export interface ReportEntry {
  /** As written: `token`, `BMC_ip`, or a vault leaf `ansible_vault.token`. */
  name: string;
  /** `group k3s_cluster`, `host 160.85.30.104`, `vault configs/vault.yml`. */
  where: string;
  /** For a variable holding K3s flags: the flag as written. */
  part?: string;
  section: Section;
  /** What became of it: `→ nodes[].storage_disk`, or why it is ignored or must be entered. */
  text: string;
  /** The host it was evaluated for (group variables are evaluated for each host they reach). */
  host?: string;
  /** Needs input once per node (a node key, a BMC password), not once for the cluster. */
  perNode?: boolean;
}

export interface ImportReport {
  file: string;
  vault?: string;
  entries: ReportEntry[];
  notes: string[];
}

export interface ImportOptions {
  /** The Ansible vault, opened: references to it are resolved and its leaves accounted for. */
  vault?: AnsibleVault;
  /** Why vault references cannot be resolved, when no vault was read. */
  vaultUnread?: string;
}

const SECRET_LABEL: Record<SecretSlot, string> = {
  grafanaAdminPassword: "the Grafana admin password",
  k3sToken: "the K3s token",
  slackWebhook: "the Slack webhook",
  becomePassword: "the sudo password",
  rancherBootstrapPassword: "the Rancher bootstrap password",
  bmc: "the BMC password",
};

/** Why an imported `--disable traefik` is left out: powerstack serves Rancher only through K3s' Traefik. */
const TRAEFIK_FOR_RANCHER =
  "Rancher is imported (cluster.rancher.enabled) and served through K3s' Traefik, which therefore stays enabled; to keep Traefik off, set cluster.rancher.enabled: false and add traefik to cluster.k3s.disable";

const NOT_RECOGNISED =
  "not recognised: powerstack has no setting with this meaning; if it matters, carry it over by hand (--set, or the inventory file)";

/** A value ready to apply, with where it came from when that was not the variable itself. */
interface Resolved {
  value: unknown;
  /** The dotted path in the Ansible vault it was read from. */
  vaultPath?: string;
  /** The host variable a `{{ hostvars[inventory_hostname]['x'] }}` named. */
  viaVar?: string;
}
type Resolution = { ok: true; r: Resolved } | { ok: false; why: string };

interface ClusterValue {
  target: Target & { to: "cluster" | "secret" };
  byHost: Array<{ host: string; r: Resolved; def: VarDef }>;
}

export function importAnsible(
  parsed: ParsedAnsibleInventory,
  draft: Draft,
  opts: ImportOptions = {},
): ImportReport {
  return new Importer(parsed, draft, opts).run();
}

class Importer {
  private readonly report: ImportReport;
  private readonly list: Raw[];
  private readonly clusterValues = new Map<string, ClusterValue>();
  /** Vault paths the inventory refers to, with the first variable that does (for the vault's own lines). */
  private readonly vaultUses = new Map<string, { def: VarDef; section: Section }>();
  private readonly inventoryVars: Set<string>;
  private selected: Array<{ host: AnsibleHost; role: "control" | "worker" }> = [];

  constructor(
    private readonly parsed: ParsedAnsibleInventory,
    private readonly draft: Draft,
    private readonly opts: ImportOptions,
  ) {
    this.report = { file: parsed.file, vault: opts.vault?.file, entries: [], notes: [...parsed.notes] };
    this.list = nodes(draft);
    this.inventoryVars = new Set(parsed.definitions.map((d) => d.name));
  }

  run(): ImportReport {
    this.draft.importedFrom = this.parsed.file;
    this.selected = selectHosts(this.parsed, this.report);
    const args: Array<{ def: VarDef; i: number; host: AnsibleHost; role: Target & { to: "k3sArgs" } }> = [];
    this.selected.forEach(({ host, role }, i) => {
      this.list.push({ role, ...nameAndAddress(host.alias) });
      for (const def of host.vars.values()) {
        const target = targetOf(def.name);
        if (!target) this.add(def, host, "ignored", NOT_RECOGNISED);
        else if (target.to === "ignored") this.add(def, host, "ignored", target.why);
        else if (target.to === "k3sArgs") args.push({ def, i, host, role: target });
        else this.variable(def, host, i, target);
      }
    });
    const control = this.selected.find((s) => s.role === "control")?.host.alias;
    for (const cv of this.clusterValues.values()) this.applyClusterValue(cv, control);
    // Flags last: `--node-ip={{ hostvars[inventory_hostname]['internal_ip'] }}` compares with the node's keys.
    for (const a of args) {
      const role = this.selected[a.i]!.role;
      if (a.role.role === "any" || a.role.role === role) this.k3sArgs(a.def, a.host, a.i, role);
    }
    if (this.opts.vault) this.vaultLeaves(this.opts.vault);
    this.unreached();
    return this.report;
  }

  private add(def: VarDef, host: AnsibleHost | undefined, section: Section, text: string, part?: string) {
    this.report.entries.push({ name: def.name, where: def.where, section, text, host: host?.alias, part });
    const ref = referencedVaultPath(def.value);
    if (ref && isVaultCandidate(ref, this.inventoryVars)) this.useVault(ref, def, section);
  }

  /** Needs input: recorded as a key the wizard must ask (never defaulted), and in the report. */
  private enter(def: VarDef, host: AnsibleHost, why: string, key: string, dest: string, part?: string) {
    this.draft.mustEnter.set(
      key,
      `the imported \`${def.name}\` (${def.where})${part ? ` \`${part}\`` : ""} ${why}`,
    );
    this.add(def, host, "input", `${why}: enter ${dest}`, part);
    if (/^nodes\[|^secret:bmc:/.test(key))
      this.report.entries[this.report.entries.length - 1]!.perNode = true;
  }

  /** The value of a variable (or a flag's value) for one host: literal, from another host variable, or from the vault. */
  private resolve(raw: unknown, host: AnsibleHost, depth = 0): Resolution {
    if (raw instanceof UnsafeText) return { ok: true, r: { value: raw.text } };
    if (raw instanceof VaultTagged)
      return {
        ok: false,
        why: "is encrypted inline (`!vault`); powerstack does not decrypt inline vault values",
      };
    if (isJinja(raw)) {
      const named = referencedPath(raw);
      // `{{ internal_ip }}` names the host's own variable just as `hostvars[inventory_hostname]` does.
      const ref = named && !named.includes(".") && host.vars.has(named) ? `host:${named}` : named;
      if (ref?.startsWith("host:") && depth < 4) {
        const name = ref.slice("host:".length);
        const def = host.vars.get(name);
        if (def) {
          const inner = this.resolve(def.value, host, depth + 1);
          if (inner.ok) return { ok: true, r: { ...inner.r, viaVar: name } };
        }
      } else if (ref && isVaultCandidate(ref, this.inventoryVars)) {
        const vault = this.opts.vault;
        if (vault?.has(ref)) return { ok: true, r: { value: vault.get(ref), vaultPath: ref } };
        return {
          ok: false,
          why: vault
            ? `refers to \`${ref}\`, which the Ansible vault ${vault.file} does not hold`
            : `refers to the Ansible vault (\`${ref}\`), ${this.opts.vaultUnread ?? "which was not read (pass --ansible-vault <file>)"}`,
        };
      }
      return {
        ok: false,
        why: `is a Jinja expression \`${oneLine(raw)}\`; powerstack does not evaluate templates`,
      };
    }
    if (raw !== null && typeof raw === "object")
      return { ok: false, why: "is a list or mapping, not a single value" };
    return { ok: true, r: { value: raw } };
  }

  private variable(def: VarDef, host: AnsibleHost, i: number, target: Target): void {
    if (target.to === "ignored" || target.to === "k3sArgs") return;
    if (target.to === "secret" && target.slot === "rancherBootstrapPassword" && !namesRancherHost(host)) {
      this.add(
        def,
        host,
        "ignored",
        `no \`${RANCHER_HOST_VARS[0]}\` for this host, so Rancher is not imported and its bootstrap password is not needed`,
      );
      return;
    }
    const nodePath = (p: Path) => formatPath(["nodes", i, ...p]);
    const dest =
      target.to === "node"
        ? nodePath(target.path)
        : target.to === "cluster"
          ? formatPath(target.path)
          : `${SECRET_LABEL[target.slot]} (a secret)`;
    const key =
      target.to === "node"
        ? nodePath(target.path)
        : target.to === "cluster"
          ? formatPath(target.path)
          : target.slot === "bmc"
            ? `secret:bmc:${i}`
            : `secret:${target.slot}`;

    const res = this.resolve(def.value, host);
    if (!res.ok) {
      this.enter(def, host, res.why, key, dest);
      return;
    }
    const r = res.r;
    if (r.value === null || r.value === undefined || r.value === "") {
      this.add(def, host, "ignored", "is empty: the key keeps powerstack's default");
      return;
    }
    let value: unknown = r.value;
    let note = from(r);
    if (target.to !== "secret" && target.convert) {
      const c = target.convert(value);
      if ("error" in c) {
        this.add(def, host, "ignored", `${c.error}: the key keeps powerstack's default`);
        return;
      }
      if ("input" in c) {
        this.enter(def, host, c.input, key, dest);
        return;
      }
      value = c.value;
      if (c.note) note += ` (${c.note})`;
    }
    if (target.to === "cluster" && target.alongside)
      note += ` (with ${target.alongside.map(([p, v]) => `${formatPath(p)}: ${String(v)}`).join(", ")})`;
    const node = this.list[i]!;
    if (target.to === "node") {
      setIn(node, target.path, value);
      if (r.vaultPath) this.draft.vaultRefs.set(nodePath(target.path), r.vaultPath);
      this.add(def, host, "taken", `→ nodes[].${formatPath(target.path)}${note}`);
    } else if (target.to === "secret" && target.slot === "bmc") {
      this.draft.secrets.bmc.set(i, String(value));
      if (r.vaultPath) this.draft.vaultRefs.set(key, r.vaultPath);
      this.add(def, host, "taken", `→ ${SECRET_LABEL.bmc}${note}`);
    } else {
      if (!this.clusterValues.has(key)) this.clusterValues.set(key, { target, byHost: [] });
      this.clusterValues.get(key)!.byHost.push({ host: host.alias, r: { ...r, value }, def });
      this.add(def, host, "taken", `→ ${target.to === "secret" ? SECRET_LABEL[target.slot] : dest}${note}`);
    }
  }

  /** The first variable that uses a vault value; one that takes it over wins over one that does not. */
  private useVault(path: string, def: VarDef, section: Section) {
    const prev = this.vaultUses.get(path);
    if (!prev || (prev.section !== "taken" && section === "taken"))
      this.vaultUses.set(path, { def, section });
  }

  private applyClusterValue({ target, byHost }: ClusterValue, control: string | undefined): void {
    const distinct = [...new Set(byHost.map((b) => JSON.stringify(b.r.value)))];
    const chosen = byHost.find((b) => b.host === control) ?? byHost[0]!;
    if (distinct.length > 1) {
      const secret = target.to === "secret";
      const values = secret ? "" : ` (${byHost.map((b) => `${b.host}: ${String(b.r.value)}`).join("; ")})`;
      this.report.notes.push(
        `\`${chosen.def.name}\` differs between hosts${values}: powerstack keeps one value for the cluster; using ${chosen.host}'s${secret ? "" : ` (${String(chosen.r.value)})`}`,
      );
    }
    if (target.to === "cluster" && target.merge) {
      for (const [k, v] of Object.entries(chosen.r.value as Record<string, unknown>))
        if (getIn(this.draft.doc, [...target.path, k]) === undefined)
          setIn(this.draft.doc, [...target.path, k], v);
    } else if (target.to === "cluster") {
      setIn(this.draft.doc, target.path, chosen.r.value);
      for (const [path, v] of target.alongside ?? []) setIn(this.draft.doc, path, v);
    } else {
      (this.draft.secrets as unknown as Record<string, string>)[target.slot] = String(chosen.r.value);
      if (chosen.r.vaultPath) this.draft.vaultRefs.set(`secret:${target.slot}`, chosen.r.vaultPath);
      else this.draft.vaultRefs.delete(`secret:${target.slot}`);
    }
  }

  /** `extra_server_args: "--node-ip=... --tls-san=..."`: one report entry per flag, for this host. */
  private k3sArgs(def: VarDef, host: AnsibleHost, i: number, role: "control" | "worker"): void {
    const raw = def.value instanceof UnsafeText ? def.value.text : def.value;
    if (raw === null || raw === undefined || raw === "") {
      this.add(def, host, "ignored", "is empty: no K3s flags to carry over");
      return;
    }
    if (typeof raw !== "string") {
      this.add(def, host, "ignored", "is not a string of K3s flags; carry the flags over by hand");
      return;
    }
    const flags = parseK3sArgs(raw);
    for (const flag of flags) this.k3sFlag(def, host, i, role, flag);
  }

  private k3sFlag(def: VarDef, host: AnsibleHost, i: number, role: "control" | "worker", flag: K3sFlag) {
    const part = shownFlag(flag);
    const say = (section: Section, text: string) => this.add(def, host, section, text, part);
    if (flag.name === "") {
      say("ignored", "is not a K3s flag (a word without a flag before it)");
      return;
    }
    const meaning = meaningOf(flag.name);
    if (meaning.kind === "derived") return say("ignored", meaning.why);
    if (meaning.kind === "unmodelled") return say("ignored", dropInAdvice(flag, role));
    if (flag.value === undefined) return say("ignored", "has no value; K3s would refuse it");
    const node = this.list[i]!;
    const nodeKey = (p: Path) => formatPath(["nodes", i, ...p]);
    const res = this.resolve(flag.value, host);
    if (res.ok && res.r.vaultPath) this.useVault(res.r.vaultPath, def, "taken");

    if (meaning.kind === "node") {
      const current = getIn(node, meaning.path);
      const dest = `nodes[].${formatPath(meaning.path)}`;
      if (!res.ok) {
        // The flag's value is computed, but the node already says it: powerstack passes that to K3s.
        if (current !== undefined)
          return say("taken", `= ${dest} (${String(current)}), which powerstack passes to K3s`);
        return this.enter(def, host, res.why, nodeKey(meaning.path), nodeKey(meaning.path), part);
      }
      const value = String(res.r.value);
      if (current === undefined) {
        setIn(node, meaning.path, value);
        return say("taken", `→ ${dest}${from(res.r)}`);
      }
      if (String(current) === value)
        return say("taken", `= ${dest}${from(res.r)}, which powerstack passes to K3s`);
      this.report.notes.push(
        `${host.alias}: \`${def.name}\` \`${part}\` gives ${value}, the inventory's ${dest} ${String(current)}; K3s ran with ${value}, so that is kept`,
      );
      setIn(node, meaning.path, value);
      return say("taken", `→ ${dest}${from(res.r)}`);
    }
    if (!res.ok) {
      const key = meaning.kind === "token" ? "secret:k3sToken" : nodeKey(meaning.path);
      return this.enter(
        def,
        host,
        res.why,
        key,
        meaning.kind === "token" ? SECRET_LABEL.k3sToken : formatPath(meaning.path),
        part,
      );
    }
    const value = String(res.r.value);
    if (meaning.kind === "token") {
      this.draft.secrets.k3sToken ??= value;
      if (res.r.vaultPath) this.draft.vaultRefs.set("secret:k3sToken", res.r.vaultPath);
      return say("taken", `→ ${SECRET_LABEL.k3sToken}${from(res.r)}`);
    }
    if (meaning.kind === "nodeList") {
      addUnique(node, meaning.path, [value]);
      return say("taken", `→ nodes[].${formatPath(meaning.path)}${from(res.r)}`);
    }
    // A cluster list: tls-san, disable, kubelet-arg.
    const values = meaning.split
      ? value
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean)
      : [value];
    if (meaning.path[2] === "tls_san") {
      const own = String(node.external_ip ?? node.internal_ip ?? "");
      if (values.every((v) => v === own))
        return say(
          "taken",
          `= this server's external IP${from(res.r)}, which powerstack adds to the TLS SANs itself`,
        );
    }
    let kept = values;
    let leftOut = "";
    if (meaning.path[2] === "disable" && values.includes("traefik") && this.rancherOn()) {
      kept = values.filter((v) => v !== "traefik");
      if (kept.length === 0) return say("ignored", TRAEFIK_FOR_RANCHER);
      leftOut = ` (not traefik: ${TRAEFIK_FOR_RANCHER})`;
    }
    addUnique(this.draft.doc, meaning.path, kept);
    const everyNode =
      meaning.path[2] === "kubelet_args" && role === "worker"
        ? " (powerstack passes kubelet args to every node)"
        : "";
    return say("taken", `→ ${formatPath(meaning.path)}${from(res.r)}${everyNode}${leftOut}`);
  }

  /** Rancher is imported: its host name is taken, or is to be entered (the wizard then turns Rancher on). */
  private rancherOn(): boolean {
    return (
      getIn(this.draft.doc, ["cluster", "rancher", "enabled"]) === true ||
      this.draft.mustEnter.has("cluster.rancher.hostname")
    );
  }

  /** Each leaf of the Ansible vault: used through the inventory, matched by its own name, or ignored. */
  private vaultLeaves(vault: AnsibleVault): void {
    const where = `vault ${vault.file}`;
    for (const path of vault.leafPaths()) {
      const def: VarDef = { name: path, value: undefined, where };
      const use = this.vaultUses.get(path);
      if (use) {
        this.add(
          def,
          undefined,
          use.section === "taken" ? "taken" : "ignored",
          use.section === "taken"
            ? `used through \`${use.def.name}\` (${use.def.where})`
            : `used only through \`${use.def.name}\` (${use.def.where}), which is ${use.section === "ignored" ? "ignored" : "not taken over"}`,
        );
        continue;
      }
      const leaf = path.split(".").pop()!;
      const target = targetOf(leaf);
      if (!target) this.add(def, undefined, "ignored", NOT_RECOGNISED);
      else if (target.to === "ignored") this.add(def, undefined, "ignored", target.why);
      else if (target.to === "k3sArgs")
        this.add(
          def,
          undefined,
          "ignored",
          "K3s flags kept in a vault are not read; carry them over by hand",
        );
      else this.vaultLeaf(def, path, vault.get(path), target);
    }
  }

  /** A vault value no inventory variable refers to, taken by its name where the inventory lacks it. */
  private vaultLeaf(def: VarDef, path: string, value: string | undefined, target: Target): void {
    const by = ` (by its name: no inventory variable refers to it)`;
    if (target.to === "secret" && target.slot === "rancherBootstrapPassword" && !this.rancherOn())
      return this.add(
        def,
        undefined,
        "ignored",
        "Rancher is not imported (no host name for it), so its bootstrap password is not needed",
      );
    if (target.to === "secret" && target.slot !== "bmc") {
      const key = `secret:${target.slot}`;
      const s = this.draft.secrets as unknown as Record<string, string | undefined>;
      if (s[target.slot] !== undefined || this.draft.mustEnter.has(key))
        return this.add(
          def,
          undefined,
          "ignored",
          `${SECRET_LABEL[target.slot]} is already given by the inventory`,
        );
      s[target.slot] = value;
      this.draft.vaultRefs.set(key, path);
      return this.add(def, undefined, "taken", `→ ${SECRET_LABEL[target.slot]}${by}`);
    }
    if (target.to === "secret" || (target.to === "node" && target.path[0] === "bmc")) {
      // BMC settings apply to every node with a BMC that lacks them (the original keeps one BMC login for all).
      const field = target.to === "node" ? target.path : undefined;
      const applied: string[] = [];
      this.list.forEach((n, i) => {
        if (getIn(n, ["bmc", "address"]) === undefined) return;
        if (field) {
          if (getIn(n, field) !== undefined || this.draft.mustEnter.has(formatPath(["nodes", i, ...field])))
            return;
          setIn(n, field, value);
          this.draft.vaultRefs.set(formatPath(["nodes", i, ...field]), path);
        } else {
          if (this.draft.secrets.bmc.has(i) || this.draft.mustEnter.has(`secret:bmc:${i}`)) return;
          this.draft.secrets.bmc.set(i, value ?? "");
          this.draft.vaultRefs.set(`secret:bmc:${i}`, path);
        }
        applied.push(String(n.name ?? n.ssh_address));
      });
      const what = !field
        ? SECRET_LABEL.bmc
        : field[1] === "username"
          ? "the BMC user name"
          : `nodes[].${formatPath(field)}`;
      if (applied.length === 0)
        return this.add(def, undefined, "ignored", `no imported node with a BMC lacks ${what}`);
      return this.add(def, undefined, "taken", `→ ${what} of ${applied.join(", ")}${by}`);
    }
    if (target.to === "cluster") {
      if (getIn(this.draft.doc, target.path) !== undefined)
        return this.add(
          def,
          undefined,
          "ignored",
          `${formatPath(target.path)} is already given by the inventory`,
        );
      const c = target.convert ? target.convert(value) : { value };
      if (!("value" in c)) return this.add(def, undefined, "ignored", "error" in c ? c.error : c.input);
      setIn(this.draft.doc, target.path, c.value);
      for (const [p, v] of target.alongside ?? []) setIn(this.draft.doc, p, v);
      return this.add(
        def,
        undefined,
        "taken",
        `→ ${formatPath(target.path)}${by}, copied into the inventory`,
      );
    }
    this.add(
      def,
      undefined,
      "ignored",
      "a per-node setting kept in a vault is not read by its name; set it per node",
    );
  }

  /** Definitions no imported host sees: overridden everywhere, or for hosts outside the K3s groups. */
  private unreached(): void {
    const seen = new Set(this.report.entries.map((e) => `${e.name}\u0000${e.where}`));
    for (const d of this.parsed.definitions) {
      if (seen.has(`${d.name}\u0000${d.where}`)) continue;
      const t = targetOf(d.name);
      const why =
        t?.to === "k3sArgs" && t.role !== "any"
          ? `K3s ${t.role === "control" ? "server" : "agent"} flags, and no imported ${t.role === "control" ? "server" : "agent"} takes them from here`
          : "not in effect for any imported host (a more specific group or host variable overrides it, or its hosts are not imported)";
      this.report.entries.push({ name: d.name, where: d.where, section: "ignored", text: why });
    }
  }
}

/** The host has a (non-empty) variable naming Rancher's host, which is what turns Rancher on. */
function namesRancherHost(host: AnsibleHost): boolean {
  return [...host.vars.values()].some(
    (d) => RANCHER_HOST_VARS.includes(snakeCase(d.name)) && d.value !== null && d.value !== "",
  );
}

/** The vault path a variable's value names, if it is a plain reference to one. */
function referencedVaultPath(value: unknown): string | undefined {
  if (!isJinja(value)) return undefined;
  const ref = referencedPath(value);
  return ref && !ref.startsWith("host:") ? ref : undefined;
}

function from(r: Resolved): string {
  if (r.vaultPath) return ` (from the Ansible vault's \`${r.vaultPath}\`)`;
  if (r.viaVar) return ` (from \`${r.viaVar}\`)`;
  return "";
}

function addUnique(doc: Raw, path: Path, values: string[]): void {
  const current = getIn(doc, path);
  const list = Array.isArray(current) ? (current as string[]) : [];
  setIn(doc, path, [...new Set([...list, ...values])]);
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

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
