/**
 * Whether an import reads the user's Ansible vault, and with which password. Named with --ansible-vault,
 * it is read; otherwise, when the inventory's values refer to a vault and an encrypted file lies beside
 * it, init offers to read that one (a script with --defaults takes the offer). The password comes from the
 * same sources as powerstack's own vault: --vault-password-file, POWERSTACK_VAULT_PASSWORD, a prompt.
 */
import { getVaultPassword, PASSWORD_ENV } from "../../vault/password.js";
import type { Asker } from "../asker.js";
import type { ParsedAnsibleInventory } from "./parse.js";
import { openAnsibleVault, vaultCandidates, vaultReferences, type AnsibleVault } from "./vault-source.js";

export interface VaultChoice {
  vault?: AnsibleVault;
  /** The password it opened with (its references are checked with it after writing). */
  password?: string;
  /** Why the references cannot be resolved, for the report's "needs input" lines. */
  unread?: string;
}

export async function chooseAnsibleVault(
  parsed: ParsedAnsibleInventory,
  given: string | undefined,
  asker: Asker,
  passwordFile: string | undefined,
): Promise<VaultChoice> {
  let file = given;
  if (file === undefined) {
    const names = new Set(parsed.definitions.map((d) => d.name));
    const refs = vaultReferences(
      parsed.definitions.map((d) => d.value),
      names,
    );
    if (refs.length === 0) return {};
    const shownRefs = refs.slice(0, 3).join(", ") + (refs.length > 3 ? ", ..." : "");
    const candidates = vaultCandidates(parsed.file);
    if (candidates.length === 0) {
      asker.say(
        `${parsed.file} refers to an Ansible vault (${shownRefs}); pass --ansible-vault <file> to take its values`,
      );
      return { unread: "which was not read (pass --ansible-vault <file>)" };
    }
    const candidate = candidates[0]!;
    if (
      !(await asker.confirm(
        `${parsed.file} refers to an Ansible vault (${shownRefs}). Read ${candidate} for those values?`,
        true,
      ))
    )
      return { unread: "which was not read (pass --ansible-vault <file>)" };
    file = candidate;
  }
  if (!asker.interactive && !passwordFile && !process.env[PASSWORD_ENV]) {
    asker.missing(
      `password of the Ansible vault ${file}`,
      `pass --vault-password-file <file> or set ${PASSWORD_ENV}`,
    );
    return { unread: `which was not read (no password for ${file})` };
  }
  const password = await getVaultPassword({
    file: passwordFile,
    purpose: `to read the Ansible vault ${file}`,
  });
  return { vault: await openAnsibleVault(file, password), password };
}
