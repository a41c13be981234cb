/**
 * An opened vault: its secrets by key, and a way to change one and write the file back encrypted
 * (same header version and vault id, atomically, mode 0600), keeping the comments people wrote.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Document } from "yaml";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { newVaultDocument, parseVaultContents, setEntry } from "./contents.js";
import { checkVaultId, decryptVault, encryptVault, type VaultVersion } from "./format.js";

export class VaultStore {
  // A #private field: JSON.stringify and util.inspect (hence any log of this object) never show it.
  readonly #password: string;

  private constructor(
    readonly path: string,
    password: string,
    private readonly doc: Document,
    private readonly values: Map<string, string>,
    readonly version: VaultVersion,
    readonly vaultId: string | undefined,
  ) {
    this.#password = password;
  }

  /** Decrypt and parse the vault at `path`; every problem is an InputError naming the file. */
  static async open(path: string, password: string): Promise<VaultStore> {
    const text = await readVaultFile(path);
    const { plaintext, version, vaultId } = decryptVault(text, password, path);
    const { doc, values } = parseVaultContents(plaintext, path);
    return new VaultStore(path, password, doc, values, version, vaultId);
  }

  /** Write a new vault holding `values`; refuses to replace an existing file. */
  static async create(
    path: string,
    password: string,
    values: Record<string, string>,
    opts: { vaultId?: string } = {},
  ): Promise<VaultStore> {
    if (opts.vaultId !== undefined) checkVaultId(opts.vaultId);
    const doc = newVaultDocument(values);
    const store = new VaultStore(
      path,
      password,
      doc,
      new Map(Object.entries(values)),
      opts.vaultId !== undefined && opts.vaultId !== "default" ? "1.2" : "1.1",
      opts.vaultId,
    );
    // Like `ansible-vault create`: a missing directory is made rather than an error.
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, store.encrypted(), { noClobber: true });
    return store;
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  /** Change or add a secret in memory; `save()` writes it. An existing key keeps its comments. */
  set(key: string, value: string): void {
    setEntry(this.doc, key, value);
    this.values.set(key, value);
  }

  async save(): Promise<void> {
    await writeFileAtomic(this.path, this.encrypted());
  }

  private encrypted(): string {
    return encryptVault(this.doc.toString(), this.#password, {
      vaultId: this.version === "1.2" ? this.vaultId : undefined,
    });
  }
}

async function readVaultFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new InputError(
        `vault ${path} does not exist`,
        `create it with \`powerstack vault create ${path}\``,
      );
    throw new InputError(
      `cannot read vault ${path}: ${code ?? (err as Error).message}`,
      "check the path and its permissions",
    );
  }
}
