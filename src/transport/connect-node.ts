/**
 * The one way a command reaches an inventory node over SSH: the inventory's SSH settings, and the sudo
 * password from the vault when the inventory names one (`ssh.become_password_secret`). The playbook
 * runner, `verify` and the Cluster on the control node all connect through here.
 */
import type { Inventory, NodeSpec } from "../inventory/types.js";
import { SshHost } from "./ssh-host.js";

/** A vault lookup by key; throws a clear error for a key the vault lacks. */
export type SecretLookup = (name: string) => string;

export type NodeConnector = (node: NodeSpec) => Promise<SshHost>;

/**
 * A connector for the inventory's nodes. The sudo password is looked up here, once, so a vault that
 * lacks it fails before any node is contacted, and not once per host as an unreachable node.
 */
export function nodeConnector(inventory: Pick<Inventory, "ssh">, secret: SecretLookup): NodeConnector {
  const { ssh } = inventory;
  const becomePassword = ssh.becomePasswordSecret ? secret(ssh.becomePasswordSecret) : undefined;
  return (node) =>
    SshHost.connect({ name: node.name, address: node.sshAddress, port: node.sshPort }, ssh, {
      becomePassword,
    });
}

/** One node, connected now (see nodeConnector). */
export function connectNode(
  node: NodeSpec,
  inventory: Pick<Inventory, "ssh">,
  secret: SecretLookup,
): Promise<SshHost> {
  return nodeConnector(inventory, secret)(node);
}
