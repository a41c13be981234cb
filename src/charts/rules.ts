/**
 * Per chart, the value paths the chart reads although its values file does not list them, and the paths
 * below which it passes anything through (see key-paths.ts). Each entry carries its evidence.
 */
import type { KeyRules } from "./key-paths.js";

export const KUBE_PROMETHEUS_STACK_RULES: KeyRules = {
  freeForm: {
    additionalPrometheusRulesMap:
      "map of PrometheusRule name -> {groups}, rendered with toYaml (values comment)",
    "prometheus.prometheusSpec.storageSpec":
      "the operator's StorageSpec, passed through; the values file shows volumeClaimTemplate as a comment",
    "alertmanager.alertmanagerSpec.storage": "the operator's StorageSpec, as for Prometheus",
  },
  unlisted: {
    "grafana.persistence.existingClaim": {
      commented: true,
      evidence: "grafana values: `# existingClaim:` (Name of an existing PVC)",
    },
    "grafana.service.nodePort": {
      commented: false,
      evidence: "REFERENCE.md NodePorts row; the grafana chart's service template reads service.nodePort",
    },
  },
};

export const KEPLER_CURRENT_RULES: KeyRules = {
  freeForm: {
    "serviceMonitor.labels": "labels map added to the ServiceMonitor (templates/servicemonitor.yaml)",
  },
  unlisted: {
    "config.experimental.platform.redfish.httpTimeout": {
      commented: false,
      evidence:
        "Kepler's Redfish doc (experimental/redfish: httpTimeout, default 5s); templates/configmap.yaml renders .Values.config verbatim",
    },
  },
};

export const KEPLER_LEGACY_RULES: KeyRules = {
  freeForm: {
    "serviceMonitor.labels": "labels map added to the ServiceMonitor",
    // templates/daemonset.yaml ranges over the map: any variable name is passed to the container.
    extraEnvVars: "map of environment variables, each rendered as `- name: <key>` (templates/daemonset.yaml)",
  },
  unlisted: {},
};
