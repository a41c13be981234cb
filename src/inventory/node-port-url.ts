/**
 * Where a monitoring service answers from the operator's machine: the control node's external address at
 * the service's NodePort (cluster.node_ports). One definition for verify, energy, measure, power idle and
 * up's Grafana login check.
 */
import type { Inventory, MonitoringService } from "./types.js";

export function nodePortUrl(inventory: Inventory, service: MonitoringService): string {
  const control = inventory.nodes.find((n) => n.role === "control")!;
  return `http://${control.externalIp}:${inventory.cluster.nodePorts[service]}`;
}
