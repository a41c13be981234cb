/**
 * The vault as facts read it: a secret by name, read from the operator's machine. The K3s token is the one
 * secret a run may write (generated or adopted once); the module that stores it touches this fact, so the
 * tasks after it read the stored value.
 */
import { defineFact } from "../engine/fact.js";

export interface SecretStore {
  has(name: string): boolean;
  get(name: string): string;
  /** Store a secret generated during the run back into the vault (re-encrypted, written atomically). */
  store(name: string, value: string): Promise<void>;
}

export const vaultSecret = defineFact<string | undefined, { name: string; vault: SecretStore }>({
  name: "vault-secret",
  key: (a) => a.name,
  local: async ({ name, vault }) => (vault.has(name) ? vault.get(name) : undefined),
});
