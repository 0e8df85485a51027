{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "toggl-focus-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "toggl-focus-exporter.fullname" -}}
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

{{/* Chart label value. */}}
{{- define "toggl-focus-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades. */}}
{{- define "toggl-focus-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "toggl-focus-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "toggl-focus-exporter.labels" -}}
helm.sh/chart: {{ include "toggl-focus-exporter.chart" . }}
{{ include "toggl-focus-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: exporter
app.kubernetes.io/part-of: toggl-focus-exporter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Name of the ServiceAccount. */}}
{{- define "toggl-focus-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "toggl-focus-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: digest wins over tag; the tag defaults to appVersion. */}}
{{- define "toggl-focus-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* True ("true") when the chart manages the credentials Secret. */}}
{{- define "toggl-focus-exporter.createSecret" -}}
{{- if and (not .Values.auth.existingSecret) (or .Values.auth.apiToken .Values.auth.email .Values.auth.password) }}true{{ end }}
{{- end }}

{{/* Name of the credentials Secret, empty when there is none. */}}
{{- define "toggl-focus-exporter.secretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else if include "toggl-focus-exporter.createSecret" . }}
{{- include "toggl-focus-exporter.fullname" . }}
{{- end }}
{{- end }}

{{/*
Render a scalar setting as an environment value: integral numbers without exponent
(Helm reads every number as float64), booleans as true/false, lists joined with commas.
*/}}
{{- define "toggl-focus-exporter.envValue" -}}
{{- $v := . }}
{{- if kindIs "slice" $v }}
{{- $items := list }}
{{- range $v }}
{{- $items = append $items (include "toggl-focus-exporter.envValue" .) }}
{{- end }}
{{- join "," $items }}
{{- else if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) }}
{{- if eq (float64 $v) (float64 (int64 $v)) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else }}
{{- $v }}
{{- end }}
{{- end }}

{{/*
The TOGGL_FOCUS_* settings from .Values.config, as a map of name to value. Unset (null) values
and empty lists are left out so the exporter's defaults apply.
*/}}
{{- define "toggl-focus-exporter.settings" -}}
{{- $names := dict
  "apiUrl" "API_URL"
  "organizationId" "ORGANIZATION_ID"
  "workspaceId" "WORKSPACE_ID"
  "userIds" "USER_IDS"
  "ghostIds" "GHOST_IDS"
  "discover" "DISCOVER"
  "discoveryInterval" "DISCOVERY_INTERVAL"
  "discoveryIdField" "DISCOVERY_ID_FIELD"
  "horizonDays" "HORIZON_DAYS"
  "timezone" "TIMEZONE"
  "unit" "UNIT"
  "private" "PRIVATE"
  "taskSources" "TASK_SOURCES"
  "includeDrafts" "INCLUDE_DRAFTS"
  "arrayFormat" "ARRAY_FORMAT"
  "refreshInterval" "REFRESH_INTERVAL"
  "requestBudget" "REQUEST_BUDGET"
  "maxStaleness" "MAX_STALENESS"
  "quotaPause" "QUOTA_PAUSE"
  "maxConcurrency" "MAX_CONCURRENCY"
  "maxUrlLength" "MAX_URL_LENGTH"
  "requestTimeout" "REQUEST_TIMEOUT"
  "maxRetries" "MAX_RETRIES"
  "maxResponseBytes" "MAX_RESPONSE_BYTES"
  "logLevel" "LOG_LEVEL"
  "logFormat" "LOG_FORMAT"
}}
{{- $out := dict }}
{{- range $key, $env := $names }}
{{- $v := index $.Values.config $key }}
{{- if and (not (kindIs "invalid" $v)) (not (and (kindIs "slice" $v) (empty $v))) (not (and (kindIs "string" $v) (eq $v ""))) }}
{{- $_ := set $out (printf "TOGGL_FOCUS_%s" $env) (include "toggl-focus-exporter.envValue" $v) }}
{{- end }}
{{- end }}
{{- $_ := set $out "TOGGL_FOCUS_LISTEN_ADDRESS" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- toYaml $out }}
{{- end }}
