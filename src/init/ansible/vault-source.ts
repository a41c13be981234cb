/**
 * The Ansible vault an imported inventory refers to (`token: "{{ ansible_vault.token }}"`): opened with
 * the user's password through VaultStore, read by dotted path, and never rewritten by `init`. Its values
 * are referenced in place where the inventory allows it (`token_secret: ansible_vault.token`).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { VaultStore } from "../../vault/store.js";
import { isVaultText } from "../../vault/format.js";

/** What the import needs of a vault: values by dotted path, and every leaf to account for in the report. */
export interface AnsibleVault {
  /** The file as the user named it (for the report and the inventory's `vault_file`). */
  file: string;
  get(path: string): string | undefined;
  has(path: string): boolean;
  /** Every dotted leaf path, `ansible_vault.token`, in file order. */
  leafPaths(): string[];
}

export async function openAnsibleVault(file: string, password: string): Promise<AnsibleVault> {
  const store = await VaultStore.open(file, password);
  return {
    file,
    // A path naming a mapping (`ansible_vault`) is no value for a key: absent, as far as the import goes.
    get: (p) => {
      try {
        return store.get(p);
      } catch {
        return undefined;
      }
    },
    has: (p) => {
      try {
        return store.has(p);
      } catch {
        return false;
      }
    },
    leafPaths: () => store.leafPaths(),
  };
}

/** Names a value may take from outside the inventory; the first segment of `{{ a.b.c }}` is `a`. */
const NOT_VAULT = new Set([
  "hostvars",
  "groups",
  "group_names",
  "inventory_hostname",
  "inventory_hostname_short",
  "ansible_facts",
  "ansible_default_ipv4",
  "ansible_host",
  "lookup",
  "query",
  "playbook_dir",
  "inventory_dir",
]);

/**
 * A Jinja expression that only names a variable: `{{ ansible_vault.token }}`, `{{ vault['token'] }}`,
 * `{{ hostvars[inventory_hostname]['internal_ip'] }}`. Returns the dotted path (hostvars of the host
 * itself come back as `host:<var>`), or undefined for anything computed.
 */
export function referencedPath(expr: string): string | undefined {
  const m = /^\s*\{\{\s*(.*?)\s*\}\}\s*$/s.exec(expr);
  if (!m) return undefined;
  const body = m[1]!;
  const hostvar = /^hostvars\[\s*inventory_hostname\s*\](?:\[\s*(['"])(\w+)\1\s*\]|\.(\w+))$/.exec(body);
  if (hostvar) return `host:${hostvar[2] ?? hostvar[3]}`;
  if (!/^[A-Za-z_]\w*(?:\.[A-Za-z_][\w-]*|\[\s*(['"])[^'"]+\1\s*\])*$/.test(body)) return undefined;
  return body.replace(/\[\s*(['"])([^'"]+)\1\s*\]/g, ".$2");
}

/** A reference that can only be to a vault or other vars file: not a host fact or inventory machinery. */
export function isVaultCandidate(path: string, inventoryVars: Set<string>): boolean {
  if (path.startsWith("host:")) return false;
  const first = path.split(".")[0]!;
  return !NOT_VAULT.has(first) && !inventoryVars.has(first);
}

/**
 * Encrypted files beside the inventory (and in its group_vars/all), the places a playbook's `vars_files`
 * or Ansible itself read a vault from: offered when the inventory refers to a vault.
 */
export function vaultCandidates(inventoryFile: string): string[] {
  const dir = dirname(inventoryFile);
  const out: string[] = [];
  for (const d of [dir, join(dir, "group_vars", "all")]) {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/\.ya?ml$|^vault$/i.test(name)) continue;
      const path = join(d, name);
      try {
        if (!statSync(path).isFile() || statSync(path).size > 1_000_000) continue;
        if (isVaultText(readFileSync(path, "utf8").slice(0, 64))) out.push(path);
      } catch {
        // Unreadable: not offered.
      }
    }
  }
  return out;
}

/** The vault paths an inventory's values name (`{{ ansible_vault.token }}`), also inside K3s flag strings. */
export function vaultReferences(values: unknown[], inventoryVars: Set<string>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (typeof v !== "string") continue;
    for (const m of v.matchAll(/\{\{.*?\}\}/gs)) {
      const ref = referencedPath(m[0]);
      if (ref && isVaultCandidate(ref, inventoryVars)) out.add(ref);
    }
  }
  return [...out];
}
