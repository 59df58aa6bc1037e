{{/* Names: "meshguard" for a release named meshguard (the kustomize names). */}}
{{- define "meshguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "meshguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object (kustomize sets name, part-of and managed-by). */}}
{{- define "meshguard.labels" -}}
app.kubernetes.io/name: {{ include "meshguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: meshguard
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The webhook pods; selectors are immutable, so nothing here may change between releases. */}}
{{- define "meshguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshguard.name" . }}
app.kubernetes.io/component: webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "meshguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "meshguard.tlsSecretName" -}}
{{- if eq .Values.certificate.source "secret" }}
{{- required "certificate.secret.name is required with certificate.source=secret" .Values.certificate.secret.name }}
{{- else }}
{{- include "meshguard.fullname" . }}-tls
{{- end }}
{{- end }}

{{- define "meshguard.leaseName" -}}
{{- include "meshguard.fullname" . }}-status-syncer
{{- end }}

{{/* Webhook namespaceSelector: never kube-system / kube-node-lease / our own namespace, never meshguard.io/ignore=true. */}}
{{- define "meshguard.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ concat .Values.webhook.namespaceSelector.excludeNamespaces (list .Release.Namespace) | uniq | toJson }}
  - key: meshguard.io/ignore
    operator: NotIn
    values: ["true"]
{{- with .Values.webhook.namespaceSelector.matchExpressions }}
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The object-level escape hatch (the object's own labels, not a workload's template). */}}
{{- define "meshguard.objectSelector" -}}
matchExpressions:
  - key: meshguard.io/ignore
    operator: NotIn
    values: ["true"]
{{- end }}

{{- define "meshguard.clientConfig" -}}
service:
  name: {{ include "meshguard.fullname" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: {{ .root.Values.webhook.servicePort }}
{{- if eq .root.Values.certificate.source "secret" }}
caBundle: {{ required "certificate.secret.caBundle (base64 of the CA certificate PEM) is required with certificate.source=secret" .root.Values.certificate.secret.caBundle }}
{{- end }}
{{- end }}

{{- define "meshguard.webhookAnnotations" -}}
{{- if eq .Values.certificate.source "cert-manager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "meshguard.fullname" . }}-serving
{{- end }}
{{- end }}
