{{/*
Names are fixed, not derived from the release: routelet runs once per
cluster (two DaemonSets would fight over every node's data plane), the
agent looks for the Lease "routelet-aggregator" by that name, and the
objects match manifests/ one for one.
*/}}

{{/* The labels that select the agent's pods (immutable in a DaemonSet: keep them stable). */}}
{{- define "routelet.selectorLabels" -}}
app.kubernetes.io/name: routelet
app.kubernetes.io/component: agent
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "routelet.labels" -}}
{{ include "routelet.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The agent's image: repository and tag, the tag defaulting to appVersion. */}}
{{- define "routelet.image" -}}
{{ required "image.repository is required" .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
