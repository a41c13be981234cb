/**
 * IPMI over LAN, switched through Redfish: `Managers/{id}/NetworkProtocol` -> `IPMI.ProtocolEnabled`.
 * Some tools (and Kepler's legacy IPMI path) need it; it is off by default on XCC. It is read first and
 * patched only when off, with the resource's etag so a concurrent change is not overwritten.
 */
import type { RedfishClient } from "./client.js";
import { managerFor, type BmcLayout } from "./discovery.js";
import { RedfishError } from "./errors.js";
import { isObject, linkOf, type RedfishResource } from "./resource.js";

export interface IpmiState {
  /** The NetworkProtocol resource's path. */
  path: string;
  enabled: boolean;
  etag?: string;
}

export async function readIpmiOverLan(
  client: RedfishClient,
  layout: BmcLayout,
  system?: RedfishResource,
): Promise<IpmiState> {
  const manager = managerFor(system, layout);
  if (!manager) {
    throw new RedfishError(
      "protocol",
      client.target,
      "GET Managers",
      "the BMC lists no manager, so IPMI over LAN cannot be configured",
      "enable IPMI over LAN in the BMC web UI, or set `ipmi_over_lan: false`",
    );
  }
  const managerBody = await client.get(manager.path);
  const path = linkOf(managerBody, "NetworkProtocol");
  if (!path) {
    throw new RedfishError(
      "not-allowed",
      client.target,
      `GET ${manager.path}`,
      "the manager has no NetworkProtocol resource",
      "enable IPMI over LAN in the BMC web UI, or set `ipmi_over_lan: false`",
    );
  }
  const { body, etag } = await client.read(path);
  if (!isObject(body.IPMI)) {
    throw new RedfishError(
      "not-allowed",
      client.target,
      `GET ${path}`,
      "the BMC does not expose IPMI in its NetworkProtocol resource",
      "enable IPMI over LAN in the BMC web UI, or set `ipmi_over_lan: false`",
    );
  }
  return { path, enabled: body.IPMI.ProtocolEnabled === true, etag };
}

export async function enableIpmiOverLan(client: RedfishClient, state: IpmiState): Promise<void> {
  await client.patch(state.path, { IPMI: { ProtocolEnabled: true } }, state.etag);
}
