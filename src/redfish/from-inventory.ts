/**
 * Redfish clients for inventory nodes: the BMC's address and trust from the inventory, the password from the
 * vault, the user from either (`username` or `username_secret`). One factory per run so every client logs to the run log.
 */
import { InputError } from "../errors.js";
import type { BmcSpec, NodeSpec } from "../inventory/types.js";
import { RedfishClient, type RedfishClientOptions } from "./client.js";

export type NodeWithBmc = NodeSpec & { bmc: BmcSpec };
export type RedfishClientFactory = (node: NodeWithBmc) => RedfishClient;

export function hasBmc(node: NodeSpec): node is NodeWithBmc {
  return node.bmc !== undefined;
}

export function requireBmc(node: NodeSpec, inventoryFile: string): NodeWithBmc {
  if (hasBmc(node)) return node;
  throw new InputError(
    `node ${node.name} has no BMC in ${inventoryFile}`,
    `add a \`bmc:\` block (address, username or username_secret, password_secret) to node ${node.name}`,
  );
}

/** The BMC user: the inventory's `username`, or the vault value `username_secret` names. */
export function bmcUsername(bmc: BmcSpec, secret: (vaultKey: string) => string): string {
  // One of the two is set (the loader checks); "" would only be a test's incomplete spec, and a BMC refuses it.
  return bmc.usernameSecret !== undefined ? secret(bmc.usernameSecret) : (bmc.username ?? "");
}

/**
 * Redfish settings given on the command line (e.g. `--bmc-timeout`, `--bmc-retries`): they win over the
 * inventory's `bmc.timeout_sec` / `bmc.retries` for every node.
 */
export interface BmcOverrides {
  timeoutSec?: number;
  retries?: number;
}

/**
 * `extra.timeoutMs` and `extra.retry` are a command's own defaults (else the client's: 10 s, 1 retry);
 * a node's `bmc.timeout_sec` / `bmc.retries` win over them, and `overrides` (flags) over both.
 */
export function inventoryClientFactory(
  secret: (vaultKey: string) => string,
  extra: Pick<RedfishClientOptions, "log" | "timeoutMs" | "retry"> = {},
  overrides: BmcOverrides = {},
): RedfishClientFactory {
  return (node) => {
    const timeoutSec = overrides.timeoutSec ?? node.bmc.timeoutSec;
    const retries = overrides.retries ?? node.bmc.retries;
    return new RedfishClient({
      node: node.name,
      address: node.bmc.address,
      username: bmcUsername(node.bmc, secret),
      password: secret(node.bmc.passwordSecret),
      passwordSource: `vault key \`${node.bmc.passwordSecret}\``,
      insecure: node.bmc.insecure,
      caFile: node.bmc.caFile,
      systemId: node.bmc.systemId,
      log: extra.log,
      timeoutMs: timeoutSec !== undefined ? timeoutSec * 1000 : extra.timeoutMs,
      retry: { ...extra.retry, ...(retries !== undefined ? { attempts: retries + 1 } : {}) },
    });
  };
}
