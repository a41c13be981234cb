#!/usr/bin/env bash
# Rebuilds the vendored charts from the upstream repositories' release tags, the way upstream's own release
# scripts fill in the placeholders (see README.md here for which script and line). Needs: git clones of
# rancher/rancher and cert-manager/cert-manager (RANCHER_GIT, CERT_MANAGER_GIT: a .git dir or work tree),
# and a Helm 3 binary (HELM). Output: the two .tgz files beside this script. Deterministic up to the tar
# timestamps Helm writes into the archive (the files inside are byte for byte the same).
set -euo pipefail

RANCHER_TAG=v2.12.3
CERT_MANAGER_TAG=v1.19.6
here=$(cd "$(dirname "$0")" && pwd)
: "${RANCHER_GIT:?path to a rancher/rancher git directory}"
: "${CERT_MANAGER_GIT:?path to a cert-manager/cert-manager git directory}"
: "${HELM:=helm}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Rancher: scripts/chart/build at the tag. For a clean tag checkout scripts/version gives
# CHART_VERSION=2.12.3 (tag without the v) and APP_VERSION=v2.12.3; the shell image comes from build.yaml
# (defaultShellVersion) via scripts/export-config. REGISTRY is not used by this tag's build script.
mkdir -p "$work/rancher"
git --git-dir="$RANCHER_GIT" archive "$RANCHER_TAG" chart build.yaml | tar -x -C "$work/rancher"
chart="$work/rancher/chart"
shell_image=$(grep -m1 'defaultShellVersion' "$work/rancher/build.yaml" | cut -d ' ' -f2)
shell_name=${shell_image%%:*}
shell_tag=${shell_image#*:}
sed -i -e "s/%VERSION%/${RANCHER_TAG#v}/g" -e "s/%APP_VERSION%/${RANCHER_TAG}/g" "$chart/Chart.yaml"
sed -i -e "s@%POST_DELETE_IMAGE_NAME%@${shell_name}@g" -e "s/%POST_DELETE_IMAGE_TAG%/${shell_tag}/g" \
  -e "s@%PRE_UPGRADE_IMAGE_NAME%@${shell_name}@g" -e "s/%PRE_UPGRADE_IMAGE_TAG%/${shell_tag}/g" "$chart/values.yaml"
if grep -rn '%[A-Z_]*%' "$chart/Chart.yaml" "$chart/values.yaml"; then
  echo "unreplaced placeholder in the Rancher chart" >&2
  exit 1
fi
"$HELM" package -d "$here" "$chart"

# --- cert-manager: make/manifests.mk at the tag. Chart.yaml from Chart.template.yaml with version and
# appVersion = the tag, the signKey annotation from signkey_annotation.txt and prerelease "false"; README from
# README.template.md with {{RELEASE_VERSION}}; then `helm package --app-version=TAG --version=TAG`.
mkdir -p "$work/cm"
git --git-dir="$CERT_MANAGER_GIT" archive "$CERT_MANAGER_TAG" deploy/charts/cert-manager | tar -x -C "$work/cm"
src="$work/cm/deploy/charts/cert-manager"
out="$work/cm-chart/cert-manager"
mkdir -p "$out/templates"
cp "$src"/templates/*.yaml "$src/templates/_helpers.tpl" "$src/templates/NOTES.txt" "$out/templates/"
cp "$src/values.yaml" "$src/values.schema.json" "$src/.helmignore" "$out/"
sed -e "s:{{RELEASE_VERSION}}:${CERT_MANAGER_TAG}:g" <"$src/README.template.md" >"$out/README.md"
# The project's own `yaml` package (node_modules of the repository root) edits the YAML, as yq does upstream.
cd "$here/../.."
CHART_TEMPLATE="$src/Chart.template.yaml" SIGNKEY="$src/signkey_annotation.txt" TAG="$CERT_MANAGER_TAG" \
  OUT="$out/Chart.yaml" node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    import { parseDocument } from "yaml";
    const doc = parseDocument(readFileSync(process.env.CHART_TEMPLATE, "utf8"));
    doc.setIn(["annotations", "artifacthub.io/signKey"], readFileSync(process.env.SIGNKEY, "utf8"));
    doc.setIn(["annotations", "artifacthub.io/prerelease"], "false");
    doc.set("version", process.env.TAG);
    doc.set("appVersion", process.env.TAG);
    writeFileSync(process.env.OUT, doc.toString());
  '
"$HELM" package --app-version="$CERT_MANAGER_TAG" --version="$CERT_MANAGER_TAG" -d "$here" "$out"
