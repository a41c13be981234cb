/**
 * An opened vault: its secrets by key, and a way to change one and write the file back encrypted
 * (same header version and vault id, atomically, mode 0600), keeping the comments people wrote.
 * A save never undoes what someone else wrote to the file since it was read (a `vault edit` while `up`
 * ran): their file is read again and this store's changed keys are set on top of it.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Document } from "yaml";
import { ExitCode, InputError, PowerstackError } from "../errors.js";
import { ChangedMeanwhileError, writeFileAtomic } from "./atomic-write.js";
import { newVaultDocument, parseVaultContents, setEntry } from "./contents.js";
import { checkVaultId, decryptVault, encryptVault, type VaultVersion } from "./format.js";

export class VaultStore {
  // A #private field: JSON.stringify and util.inspect (hence any log of this object) never show it.
  readonly #password: string;
  /** The file's bytes as last read or written by this store: a save replaces only these. */
  #text: string | undefined;
  /** Keys set since the last save, re-applied if the file changed underneath. */
  readonly #changed = new Map<string, string>();

  private constructor(
    readonly path: string,
    password: string,
    private doc: Document,
    private values: Map<string, string>,
    private _version: VaultVersion,
    private _vaultId: string | undefined,
    text?: string,
  ) {
    this.#password = password;
    this.#text = text;
  }

  get version(): VaultVersion {
    return this._version;
  }

  get vaultId(): string | undefined {
    return this._vaultId;
  }

  /** Decrypt and parse the vault at `path`; every problem is an InputError naming the file. */
  static async open(path: string, password: string): Promise<VaultStore> {
    const text = await readVaultFile(path);
    const { plaintext, version, vaultId } = decryptVault(text, password, path);
    const { doc, values } = parseVaultContents(plaintext, path);
    return new VaultStore(path, password, doc, values, version, vaultId, text);
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
    const text = store.encrypted();
    await writeFileAtomic(path, text, { noClobber: true });
    store.#text = text;
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
    this.#changed.set(key, value);
  }

  async save(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const text = this.encrypted();
      try {
        await writeFileAtomic(
          this.path,
          text,
          this.#text === undefined ? {} : { unchangedSince: this.#text },
        );
        this.#text = text;
        this.#changed.clear();
        return;
      } catch (err) {
        if (!(err instanceof ChangedMeanwhileError) || attempt >= 4) throw err;
        await this.reload();
      }
    }
  }

  /** The file changed since it was read: take it as it is now, with this store's changed keys on top. */
  private async reload(): Promise<void> {
    const keys = [...this.#changed.keys()].map((k) => `\`${k}\``).join(", ");
    let fresh: VaultStore;
    try {
      fresh = await VaultStore.open(this.path, this.#password);
    } catch (err) {
      throw new PowerstackError(
        `${this.path} changed while powerstack ran and no longer opens with this run's password (rekeyed?); ${keys || "nothing"} not stored, the file left as it is`,
        ExitCode.failed,
        `run the command again with the vault's current password${err instanceof InputError ? ` (${err.message})` : ""}`,
      );
    }
    this.doc = fresh.doc;
    this.values = fresh.values;
    this._version = fresh._version;
    this._vaultId = fresh._vaultId;
    this.#text = fresh.#text;
    for (const [k, v] of this.#changed) {
      setEntry(this.doc, k, v);
      this.values.set(k, v);
    }
  }

  private encrypted(): string {
    return encryptVault(this.doc.toString(), this.#password, {
      vaultId: this._version === "1.2" ? this._vaultId : undefined,
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
