/**
 * The inventory's keys, types, ranges and defaults: the one place to read what an inventory may say.
 * Version pins live here too, so an upgrade is one reviewed line.
 */
import type { Field } from "./schema-walker.js";

export const DEFAULTS = {
  k3sVersion: "v1.31.4+k3s1",
  helmVersion: "v3.16.3",
  monitoringChartVersion: "88.5.3",
  keplerChartVersion: { current: "0.11.4", legacy: "0.5.13" },
  dataPath: "/mnt/data",
  dataLabel: "powerstack-data",
  /**
   * Global average carbon intensity of electricity generation, 475 gCO2e/kWh (IEA, Global Energy & CO2
   * Status Report 2019). Set `cluster.carbon.grid_intensity_g_per_kwh` to your grid's figure.
   */
  gridIntensityGPerKwh: 475,
  /**
   * Rancher 2.12 supports Kubernetes 1.31 to 1.33 (the K3s pinned above is 1.31); 2.12.3 is the last 2.12
   * release whose chart upstream published for the community (vendor/charts/README.md).
   */
  rancherVersion: "2.12.3",
  /** cert-manager for Rancher's own CA and the Ingress certificate; v1.19 supports Kubernetes 1.31 to 1.34. */
  certManagerVersion: "v1.19.6",
} as const;

const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const cidr = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/;
const hostOrIp = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const quantity = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/;
const k8sName = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const secretName = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** A DNS name of two or more labels whose last label is not numeric (so never an IPv4 address). */
const dnsName = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const absPath = /^\/[^\0]*$/;
const duration = /^\d+(ms|s|m|h|d|w|y)$/;

const nodePort = (def: number): Field => ({ kind: "int", default: def, min: 30000, max: 32767 });
const volume = (def: string): Field => ({
  kind: "object",
  fields: {
    size: {
      kind: "string",
      default: def,
      pattern: quantity,
      patternHint: "a Kubernetes quantity such as `10Gi`",
    },
    claim: { kind: "string", pattern: quantity, patternHint: "a Kubernetes quantity such as `10Gi`" },
  },
});

export const IPV4 = ipv4;

export const inventorySchema: Field = {
  kind: "object",
  fields: {
    vault_file: { kind: "string" },
    cluster: {
      kind: "object",
      required: true,
      fields: {
        name: {
          kind: "string",
          default: "powerstack",
          pattern: k8sName,
          patternHint: "a lowercase DNS label such as `lab`",
        },
        nfs_network: {
          kind: "string",
          required: true,
          pattern: cidr,
          patternHint: "an IPv4 CIDR such as `10.0.0.0/24`",
        },
        data_path: {
          kind: "string",
          default: DEFAULTS.dataPath,
          pattern: absPath,
          patternHint: "an absolute path such as `/mnt/data`",
        },
        data_label: {
          kind: "string",
          default: DEFAULTS.dataLabel,
          pattern: /^[A-Za-z0-9_-]{1,255}$/,
          patternHint: "a filesystem label of letters, digits, `-` and `_`",
        },
        perf_event_paranoid: { kind: "int", default: -1, min: -1, max: 4 },
        k3s: {
          kind: "object",
          fields: {
            version: {
              kind: "string",
              default: DEFAULTS.k3sVersion,
              pattern: /^v\d+\.\d+\.\d+\+k3s\d+$/,
              patternHint: "a K3s release tag such as `v1.31.4+k3s1`",
            },
            install: { kind: "string", default: "online", oneOf: ["online", "airgap"] },
            artifacts_dir: { kind: "string" },
            token_secret: {
              kind: "string",
              default: "k3s_token",
              pattern: secretName,
              patternHint: "a vault key name",
            },
            flannel_iface: { kind: "string" },
            disable: { kind: "strings", default: [] },
            tls_san: { kind: "strings", default: [] },
            kubelet_args: { kind: "strings", default: [] },
          },
        },
        helm: {
          kind: "object",
          fields: {
            version: {
              kind: "string",
              default: DEFAULTS.helmVersion,
              pattern: /^v\d+\.\d+\.\d+$/,
              patternHint: "a Helm tag such as `v3.16.3`",
            },
          },
        },
        volumes: {
          kind: "object",
          fields: { prometheus: volume("50Gi"), grafana: volume("10Gi"), alertmanager: volume("5Gi") },
        },
        node_ports: {
          kind: "object",
          fields: { prometheus: nodePort(30090), grafana: nodePort(30030), alertmanager: nodePort(30093) },
        },
        monitoring: {
          kind: "object",
          fields: {
            chart_version: { kind: "string", default: DEFAULTS.monitoringChartVersion },
            namespace: {
              kind: "string",
              default: "monitoring",
              pattern: k8sName,
              patternHint: "a Kubernetes namespace name",
            },
            retention: {
              kind: "string",
              default: "10d",
              pattern: duration,
              patternHint: "a Prometheus duration such as `10d`",
            },
            scrape_interval: {
              kind: "string",
              default: "30s",
              pattern: duration,
              patternHint: "a Prometheus duration such as `30s`",
            },
            grafana_admin_user: { kind: "string", default: "admin" },
            grafana_admin_password_secret: {
              kind: "string",
              default: "grafana_admin_password",
              pattern: secretName,
              patternHint: "a vault key name",
            },
            slack_webhook_secret: { kind: "string", pattern: secretName, patternHint: "a vault key name" },
            slack_channel: { kind: "string" },
            // Helm values merged last over powerstack's, each key path checked against the chart's defaults.
            extra_values: { kind: "mapping", default: {} },
          },
        },
        kepler: {
          kind: "object",
          fields: {
            flavour: { kind: "string", default: "current", oneOf: ["current", "legacy"] },
            chart_version: { kind: "string" },
            extra_values: { kind: "mapping", default: {} },
            namespace: {
              kind: "string",
              default: "kepler",
              pattern: k8sName,
              patternHint: "a Kubernetes namespace name",
            },
          },
        },
        carbon: {
          kind: "object",
          fields: {
            grid_intensity_g_per_kwh: {
              kind: "number",
              default: DEFAULTS.gridIntensityGPerKwh,
              min: 0,
              max: 2000,
            },
          },
        },
        // `powerstack power idle`: the policy that powers idle workers off and powers one on for Pending pods.
        power: {
          kind: "object",
          fields: {
            min_workers_on: { kind: "int", default: 1, min: 0, max: 1000 },
            idle_for: {
              kind: "string",
              default: "30m",
              pattern: /^(\d+(\.\d+)?(ms|s|m|h|d|w|y))+$/,
              patternHint: "a duration such as `30m` or `1h30m`",
            },
            // Pods here never make a worker busy; unset: kube-system, the monitoring and Kepler namespaces.
            system_namespaces: { kind: "strings" },
          },
        },
        // Air-gapped clusters: `powerstack experiment` pulls its images from here, same digests.
        registry_mirror: {
          kind: "string",
          pattern: /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
          patternHint: "a registry `host[:port]` such as `registry.lab:5000`",
        },
        // Optional Rancher (cert-manager first), off by default; load.ts checks the keys that span others.
        rancher: {
          kind: "object",
          fields: {
            enabled: { kind: "bool", default: false },
            hostname: {
              kind: "string",
              pattern: dnsName,
              patternHint:
                "a DNS name such as `rancher.lab.example.org` (an Ingress host: not an IP address)",
            },
            bootstrap_password_secret: {
              kind: "string",
              default: "rancher_bootstrap_password",
              pattern: secretName,
              patternHint: "a vault key name",
            },
            // Only the pinned charts powerstack tests (vendor/charts): another version is an upgrade to review.
            version: { kind: "string", default: DEFAULTS.rancherVersion, oneOf: [DEFAULTS.rancherVersion] },
          },
        },
      },
    },
    ssh: {
      kind: "object",
      fields: {
        user: { kind: "string", default: "root" },
        port: { kind: "int", default: 22, min: 1, max: 65535 },
        key_file: { kind: "string" },
        known_hosts: { kind: "string", default: "strict", oneOf: ["strict", "accept-new", "off"] },
        known_hosts_file: { kind: "string", default: "~/.ssh/known_hosts" },
        become_password_secret: { kind: "string", pattern: secretName, patternHint: "a vault key name" },
        jump_host: {
          kind: "string",
          pattern: /^([^@\s]+@)?[^:\s]+(:\d+)?$/,
          patternHint: "`[user@]host[:port]`",
        },
        proxy_command: { kind: "string" },
        connect_timeout: { kind: "int", default: 10, min: 1, max: 600 },
        connect_retries: { kind: "int", default: 2, min: 1, max: 20 },
      },
    },
    nodes: {
      kind: "list",
      required: true,
      minItems: 1,
      of: {
        kind: "object",
        fields: {
          name: {
            kind: "string",
            required: true,
            pattern: k8sName,
            patternHint: "a lowercase DNS label such as `node1`",
          },
          role: { kind: "string", required: true, oneOf: ["control", "worker"] },
          ssh_address: { kind: "string", pattern: hostOrIp, patternHint: "a host name or IPv4 address" },
          ssh_port: { kind: "int", min: 1, max: 65535 },
          internal_ip: {
            kind: "string",
            required: true,
            pattern: ipv4,
            patternHint: "an IPv4 address such as `10.0.0.11`",
          },
          external_ip: { kind: "string", pattern: ipv4, patternHint: "an IPv4 address such as `192.0.2.11`" },
          storage_disk: {
            kind: "string",
            pattern: /^\/dev\/\S+$/,
            patternHint: "a device path such as `/dev/disk/by-id/...`",
          },
          flannel_iface: { kind: "string" },
          labels: { kind: "strings", default: [] },
          taints: { kind: "strings", default: [] },
          bmc: {
            kind: "object",
            optional: true,
            fields: {
              address: {
                kind: "string",
                required: true,
                pattern: /^https:\/\/[^\s/]+(:\d+)?\/?$/,
                patternHint: "an https URL such as `https://10.0.1.11` (Redfish requires TLS)",
              },
              // The user name, or the vault key holding it (as the Ansible setup keeps it): exactly one of the two.
              username: { kind: "string" },
              username_secret: { kind: "string", pattern: secretName, patternHint: "a vault key name" },
              password_secret: {
                kind: "string",
                required: true,
                pattern: secretName,
                patternHint: "a vault key name",
              },
              insecure: { kind: "bool", default: false },
              ca_file: { kind: "string" },
              ipmi_over_lan: { kind: "bool", default: false },
              // Which computer system this node is, on a BMC that lists several (else several is an error).
              system_id: { kind: "string" },
              // One Redfish request's deadline and how often a transient failure is retried. Unset: 10 s and
              // 1 retry, so a BMC that accepts and never answers is reported within about 20.5 s.
              timeout_sec: { kind: "int", min: 1, max: 300 },
              retries: { kind: "int", min: 0, max: 10 },
            },
          },
        },
      },
    },
  },
};
