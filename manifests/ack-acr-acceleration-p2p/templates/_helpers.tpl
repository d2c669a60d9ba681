{{/* Names are fixed (not derived from the release name): RRSA trust policies and the docs name them. */}}
{{- define "p2p.name" -}}ack-acr-acceleration-p2p{{- end -}}
{{- define "p2p.sa" -}}ack-acr-acceleration-p2p-sa{{- end -}}
{{- define "p2p.jobSa" -}}ack-acr-acceleration-p2p-job-sa{{- end -}}
{{- define "p2p.cleanupSa" -}}ack-acr-acceleration-p2p-cleanup{{- end -}}
{{- define "p2p.webhookConfig" -}}ack-acr-acceleration-p2p{{- end -}}
{{- define "p2p.accessKeySecret" -}}
{{- .Values.existingAccessKeySecret | default "ack-acr-acceleration-p2p-access-key" -}}
{{- end -}}

{{- define "p2p.labels" -}}
app.kubernetes.io/name: {{ include "p2p.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "p2p.selectorLabels" -}}
app.kubernetes.io/name: {{ include "p2p.name" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{/*
The annotations of the uninstall cleanup's objects: pre-delete hooks, RBAC before the Job (weight), all
deleted once the hook succeeded (Helm deletes them in reverse order, the Job first) or failed (the Job
stays: ttlSecondsAfterFinished).
*/}}
{{- define "p2p.cleanupHook" -}}
helm.sh/hook: pre-delete
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: {{ if eq .weight "0" }}before-hook-creation,hook-succeeded{{ else }}before-hook-creation,hook-succeeded,hook-failed{{ end }}
{{- end -}}

{{- define "p2p.controllerImage" -}}
{{- $i := .Values.controller.image -}}
{{- if $i.digest -}}{{ $i.repository }}@{{ $i.digest }}{{- else -}}{{ $i.repository }}:{{ $i.tag | default .Chart.AppVersion }}{{- end -}}
{{- end -}}

{{/* acrInstances as the controller takes it: one comma-separated string, from a list or a string. */}}
{{- define "p2p.acrInstances" -}}
{{- $i := .Values.acrInstances -}}
{{- if kindIs "slice" $i -}}{{ join "," $i }}{{- else -}}{{ $i | replace " " "" }}{{- end -}}
{{- end -}}

{{- define "p2p.sidecarImage" -}}
{{ .Values.sidecar.image.repository }}@{{ .Values.sidecar.image.digest }}
{{- end -}}

{{/* Seed rules the schema cannot express; each message names the parameter. */}}
{{- define "p2p.validate" -}}
{{- $v := .Values -}}
{{- $howToBuild := "build and push the images with `npm run images -- --push REGISTRY/PREFIX`, which prints the --set flags naming both (README: Install)" -}}
{{- if not (and $v.controller.image.repository $v.sidecar.image.repository $v.sidecar.image.digest) -}}
{{- fail (printf "controller.image.repository, sidecar.image.repository and sidecar.image.digest are required (controller.image.digest too, or its tag): %s" $howToBuild) -}}
{{- end -}}
{{- if and $v.existingAccessKeySecret (or $v.accessKey $v.accessKeySecret) -}}
{{- fail "existingAccessKeySecret: set either it or accessKey/accessKeySecret, not both" -}}
{{- end -}}
{{- if ne (empty $v.accessKey) (empty $v.accessKeySecret) -}}
{{- fail "accessKey/accessKeySecret: set both or neither" -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $v.memoryCacheCapacityGB)) (not (kindIs "invalid" $v.optionBlockSize)) -}}
{{- $gib := mulf $v.memoryCacheCapacityGB 1073741824.0 -}}
{{- if ne (printf "%.0f" $gib) (printf "%.0f" (float64 $v.optionBlockSize)) -}}
{{- fail (printf "memoryCacheCapacityGB (%v GiB) and optionBlockSize (%v bytes) are both set and differ; set one" $v.memoryCacheCapacityGB $v.optionBlockSize) -}}
{{- end -}}
{{- end -}}
{{- /* Fractions given with --set arrive as strings, which the schema can only check for shape. */ -}}
{{- if not (kindIs "invalid" $v.memoryCacheCapacityGB) -}}
{{- $gb := float64 $v.memoryCacheCapacityGB -}}
{{- if or (le $gb 0.0) (gt $gb 1024.0) -}}
{{- fail (printf "memoryCacheCapacityGB must be > 0 and <= 1024 (GiB), got %v" $v.memoryCacheCapacityGB) -}}
{{- end -}}
{{- end -}}
{{- range $name, $max := dict "connectTimeout" 600.0 "transferTimeout" 3600.0 -}}
{{- $t := float64 (get $v $name) -}}
{{- if or (lt $t 0.05) (gt $t $max) -}}
{{- fail (printf "%s must be between 0.05 and %v seconds, got %v" $name $max (get $v $name)) -}}
{{- end -}}
{{- end -}}
{{- if ge (int $v.certgen.renewBeforeDays) (int $v.certgen.validityDays) -}}
{{- fail "certgen.renewBeforeDays must be less than certgen.validityDays" -}}
{{- end -}}
{{- if and $v.rrsa.enable (or $v.accessKey $v.existingAccessKeySecret) -}}
{{- fail "rrsa.enable is true and accessKey (or existingAccessKeySecret) is set too: choose one authorization method" -}}
{{- end -}}
{{- if and $v.acrTempCredentials (not $v.acrInstances) -}}
{{- fail "acrTempCredentials: needs acrInstances (temporary credentials are issued per ACR instance)" -}}
{{- end -}}
{{- if eq (int $v.controller.webhookPort) (int $v.controller.directoryPort) -}}
{{- fail "controller.directoryPort must differ from controller.webhookPort" -}}
{{- end -}}
{{- if or (eq (int $v.controller.metricsPort) (int $v.controller.webhookPort)) (eq (int $v.controller.metricsPort) (int $v.controller.directoryPort)) -}}
{{- fail "controller.metricsPort must differ from controller.webhookPort and controller.directoryPort" -}}
{{- end -}}
{{- end -}}
