{{/*
Where the chart's Jobs run and as whom (certgen's and the uninstall cleanup's): where the controller may
run, they may too (a cluster of tainted virtual nodes only).
*/}}
{{- define "p2p.jobPodPlacement" -}}
{{- with .Values.controller.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.controller.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.controller.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.controller.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{/* Pod spec shared by the certgen hook Job and the rotation CronJob. */}}
{{- define "p2p.certgenPod" -}}
serviceAccountName: {{ include "p2p.jobSa" . }}
automountServiceAccountToken: true
restartPolicy: OnFailure
{{ include "p2p.jobPodPlacement" . | trim }}
containers:
  - name: certgen
    image: {{ include "p2p.controllerImage" . }}
    imagePullPolicy: {{ .Values.controller.image.pullPolicy }}
    # Creates the Secret if missing, re-issues it when it expires within renewBeforeDays or no longer
    # covers the names, then makes caBundle of every webhook entry match the Secret's CA.
    args: [certgen]
    env:
      - name: ACR_P2P_NAMESPACE
        valueFrom:
          fieldRef: { fieldPath: metadata.namespace }
      - { name: ACR_P2P_TLS_SECRET, value: {{ .Values.certgen.secretName | quote }} }
      - { name: ACR_P2P_SERVICE_NAME, value: {{ include "p2p.name" . | quote }} }
      - { name: ACR_P2P_WEBHOOK_CONFIG_NAME, value: {{ include "p2p.webhookConfig" . | quote }} }
      - { name: ACR_P2P_CERT_VALIDITY_DAYS, value: {{ .Values.certgen.validityDays | quote }} }
      - { name: ACR_P2P_CERT_RENEW_BEFORE_DAYS, value: {{ .Values.certgen.renewBeforeDays | quote }} }
      {{- with .Values.webhook.url }}
      # The webhook is called by URL: its host must be in the serving certificate too.
      - { name: ACR_P2P_TLS_SANS, value: {{ (urlParse .).host | splitList ":" | first | quote }} }
      {{- end }}
    resources:
      requests: { cpu: 10m, memory: 64Mi }
      limits: { memory: 128Mi }
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: { drop: [ALL] }
{{- end -}}
