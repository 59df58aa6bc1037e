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

{{/*
The configuration file's contents: `config`, with analysis.admissionWarnings merged in by
admissionWarnings.enabled (the option alone, without the webhook entry and RBAC that come
with the value, would watch kinds the ServiceAccount may not list).
*/}}
{{- define "meshguard.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if .Values.admissionWarnings.enabled }}
{{- $config = mustMergeOverwrite $config (dict "analysis" (dict "admissionWarnings" true)) }}
{{- else if and (kindIs "map" $config.analysis) $config.analysis.admissionWarnings }}
{{- fail "config.analysis.admissionWarnings needs the webhook entry and RBAC that come with it: set admissionWarnings.enabled: true instead" }}
{{- end }}
{{- if $config }}
{{- toYaml $config }}
{{- end }}
{{- end }}
