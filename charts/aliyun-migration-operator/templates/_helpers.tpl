{{/* Chart name, overridable. */}}
{{- define "amo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name of the release's objects. A release named like the chart (the documented
`helm install aliyun-migration-operator ...`) gets the plain name, matching config/default.
*/}}
{{- define "amo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "amo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator pods; stable across upgrades (selectors are immutable). */}}
{{- define "amo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "amo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "amo.labels" -}}
{{ include "amo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: aliyun-migration-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "amo.chart" . }}
{{- end -}}

{{- define "amo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "amo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "amo.leaseName" -}}
{{- default (include "amo.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{- define "amo.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The operator's rules on its own kinds, Secrets and Events. Shared by the ClusterRole (all
namespaces) and the namespaced-mode Role so that the two cannot drift apart.
*/}}
{{- define "amo.controllerRules" -}}
# Reconcile the five kinds: read and watch them, add/remove the cleanup finalizer (patch/update).
- apiGroups: [migration.aliyun-operator.dev]
  resources: [datasources, mmsjobs, dtsmigrations, cutovers, dataworksmigrations]
  verbs: [get, list, watch, patch, update]
- apiGroups: [migration.aliyun-operator.dev]
  resources: [datasources/status, mmsjobs/status, dtsmigrations/status, cutovers/status, dataworksmigrations/status]
  verbs: [get, patch, update]
# Needed where the OwnerReferencesPermissionEnforcement admission plugin is on: the rollback
# Secret a Cutover creates is owned by it (blockOwnerDeletion).
- apiGroups: [migration.aliyun-operator.dev]
  resources: [datasources/finalizers, mmsjobs/finalizers, dtsmigrations/finalizers, cutovers/finalizers, dataworksmigrations/finalizers]
  verbs: [update]
# Credential Secrets are read by name when a cloud call is made (get). Read-only: the operator
# never writes Secrets except a Cutover's rollback Secret, granted per namespace
# (cutoverTargets). list/watch only with watchSecrets (docs/rbac.md): a fixed or rotated key then
# takes effect at once, at the price of listing every Secret in scope.
- apiGroups: [""]
  resources: [secrets]
  {{- if .Values.watchSecrets }}
  verbs: [get, list, watch]
  {{- else }}
  verbs: [get]
  {{- end }}
# A DataWorksMigration may take its package from a ConfigMap key (spec.source.upload.configMapRef),
# read once when it is uploaded.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
# Progress and errors as events.k8s.io/v1 Events on the resource (kubectl describe).
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* A Cutover checks its own permissions (SelfSubjectAccessReview) before switching. */}}
{{- define "amo.selfReviewRules" -}}
- apiGroups: [authorization.k8s.io]
  resources: [selfsubjectaccessreviews]
  verbs: [create]
{{- end -}}

{{/* Fail early on combinations that would render a broken or unsafe install. */}}
{{- define "amo.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount > 1 needs leaderElection.enabled: two active controllers would fight over the same resources" -}}
{{- end -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownGraceSeconds) 5 | int) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least shutdownGraceSeconds + 5 (%d)" (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownGraceSeconds) 5 | int)) -}}
{{- end -}}
{{- if and .Values.credentials.rrsa.enabled .Values.credentials.rrsa.injectedByWebhook (not .Values.credentials.rrsa.roleName) -}}
{{- fail "credentials.rrsa.roleName is required with injectedByWebhook (the ServiceAccount annotation pod-identity.alibabacloud.com/role-name)" -}}
{{- end -}}
{{- if and .Values.credentials.rrsa.enabled (not .Values.credentials.rrsa.injectedByWebhook) (or (not .Values.credentials.rrsa.roleArn) (not .Values.credentials.rrsa.oidcProviderArn)) -}}
{{- fail "credentials.rrsa.roleArn and credentials.rrsa.oidcProviderArn are required without the webhook (injectedByWebhook: false)" -}}
{{- end -}}
{{- if and .Values.credentials.rrsa.enabled .Values.credentials.rrsa.injectedByWebhook (not .Values.serviceAccount.create) -}}
{{- fail "credentials.rrsa with the webhook annotates the ServiceAccount: set serviceAccount.create, or annotate your own ServiceAccount and leave credentials.rrsa.enabled false" -}}
{{- end -}}
{{- range .Values.cutoverTargets -}}
{{- if and $.Values.watchNamespace (ne .namespace $.Values.watchNamespace) -}}
{{- fail (printf "cutoverTargets: namespace %q is not watched (watchNamespace is %q); a Cutover only patches objects in its own namespace" .namespace $.Values.watchNamespace) -}}
{{- end -}}
{{- end -}}
{{- end -}}
