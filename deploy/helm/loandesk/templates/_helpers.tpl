{{/* Names, labels and the pieces every LoanDesk pod shares. */}}

{{- define "loandesk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "loandesk.fullname" -}}
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

{{- define "loandesk.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "loandesk.labels" -}}
helm.sh/chart: {{ include "loandesk.chart" . }}
app.kubernetes.io/name: {{ include "loandesk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "web") */}}
{{- define "loandesk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loandesk.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "loandesk.componentLabels" -}}
{{ include "loandesk.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "loandesk.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "loandesk.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loandesk.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the app pods read: the chart's, or the one you manage. */}}
{{- define "loandesk.secretName" -}}
{{- default (include "loandesk.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The Secret the migration Job reads: a hook Secret of its own (the owner URL goes to no
other pod), or the one you manage. */}}
{{- define "loandesk.migrationSecretName" -}}
{{- default (printf "%s-migration" (include "loandesk.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/* The secret settings of the web, worker and scheduler pods: (list NAME OPTIONAL)... */}}
{{- define "loandesk.appSecretKeys" -}}
- [LOANDESK_SECRET_KEY, false]
- [LOANDESK_MASTER_KEY, false]
- [LOANDESK_DATABASE_URL, false]
- [LOANDESK_REDIS_URL, false]
- [LOANDESK_PREVIOUS_MASTER_KEYS, true]
- [LOANDESK_METRICS_TOKEN, true]
- [LOANDESK_S3_ACCESS_KEY, true]
- [LOANDESK_S3_SECRET_KEY, true]
{{- end }}

{{- define "loandesk.migrationSecretKeys" -}}
- [LOANDESK_SECRET_KEY, false]
- [LOANDESK_MASTER_KEY, false]
- [LOANDESK_DATABASE_URL, false]
- [LOANDESK_MIGRATION_DATABASE_URL, false]
- [LOANDESK_PREVIOUS_MASTER_KEYS, true]
{{- end }}

{{/* env entries from a Secret: (dict "secret" NAME "keys" (list of [NAME, OPTIONAL])) */}}
{{- define "loandesk.secretEnv" -}}
{{- $secret := .secret }}
{{- range .keys }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ index . 0 }}
      {{- if index . 1 }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{/* The chart's Secret data: (dict "root" $ "keys" ...), only the values that are set. */}}
{{- define "loandesk.secretData" -}}
{{- $s := .root.Values.secrets }}
{{- $values := dict
  "LOANDESK_SECRET_KEY" (required "secrets.secretKey is required (or secrets.existingSecret)" $s.secretKey)
  "LOANDESK_MASTER_KEY" (required "secrets.masterKey is required (or secrets.existingSecret)" $s.masterKey)
  "LOANDESK_DATABASE_URL" (required "secrets.databaseUrl is required (or secrets.existingSecret)" $s.databaseUrl)
  "LOANDESK_MIGRATION_DATABASE_URL" (required "secrets.migrationDatabaseUrl is required (or secrets.existingSecret)" $s.migrationDatabaseUrl)
  "LOANDESK_REDIS_URL" (required "secrets.redisUrl is required (or secrets.existingSecret)" $s.redisUrl)
  "LOANDESK_PREVIOUS_MASTER_KEYS" $s.previousMasterKeys
  "LOANDESK_METRICS_TOKEN" $s.metricsToken
  "LOANDESK_S3_ACCESS_KEY" $s.s3AccessKey
  "LOANDESK_S3_SECRET_KEY" $s.s3SecretKey
}}
{{- range .keys }}
{{- $value := get $values (index . 0) }}
{{- if $value }}
{{ index . 0 }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "loandesk.podSecurityContext" -}}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The container's fixed part: image, security, config. (dict "root" $ "secretEnv" ...) */}}
{{- define "loandesk.containerBase" -}}
image: {{ include "loandesk.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
{{- with .root.Values.securityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
envFrom:
  - configMapRef:
      name: {{ include "loandesk.fullname" .root }}
{{- end }}

{{- define "loandesk.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The instance folder (uploads of the local storage backend) and /tmp. */}}
{{- define "loandesk.instanceVolume" -}}
- name: instance
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-files" (include "loandesk.fullname" .)) .Values.persistence.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end }}

{{- define "loandesk.instanceMounts" -}}
- name: instance
  mountPath: /var/lib/loandesk
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* The worker Deployments: "worker" (worker.*), then one per workerGroups entry, each the
worker.* values with the entry's own on top. A YAML list of {name, values}. */}}
{{- define "loandesk.workerGroups" -}}
{{- $groups := list (dict "name" "worker" "values" .Values.worker) }}
{{- range .Values.workerGroups }}
{{- $values := mergeOverwrite (deepCopy $.Values.worker) (omit . "name") }}
{{- $groups = append $groups (dict "name" (printf "worker-%s" .name) "values" $values) }}
{{- end }}
{{- toYaml $groups }}
{{- end }}
