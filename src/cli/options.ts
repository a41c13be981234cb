/** The global flags every command shares, as parsed from argv. */
export interface GlobalOptions {
  inventory: string;
  /** Comma-separated node names and/or groups (`all`, `control`, `workers`). */
  limit?: string;
  check: boolean;
  diff: boolean;
  json: boolean;
  verbose: number;
  forks: number;
  vaultPasswordFile?: string;
  yes: boolean;
  logDir: string;
}
