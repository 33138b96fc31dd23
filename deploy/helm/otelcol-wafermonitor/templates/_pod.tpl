{{/* The pod template of one component (context: see wm.ctx, with root and v set). */}}

{{- define "wm.readinessProbe" -}}
{{- $probe := deepCopy .root.Values.readinessProbe -}}
{{- if not $probe.httpGet -}}
{{- if (index .ports "v1").enabled -}}
{{- $_ := set $probe "httpGet" (dict "path" "/v1/health" "port" "v1") -}}
{{- else -}}
{{- $_ := set $probe "httpGet" (dict "path" "/" "port" "health") -}}
{{- end -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{- define "wm.livenessProbe" -}}
{{- $probe := deepCopy .root.Values.livenessProbe -}}
{{- if not $probe.httpGet -}}
{{- if not (index .ports "health").enabled -}}
{{- fail (printf "%s.ports.health: the liveness probe needs the health port, or set livenessProbe.httpGet" .name) -}}
{{- end -}}
{{- $_ := set $probe "httpGet" (dict "path" "/" "port" "health") -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{- define "wm.pod" -}}
{{- $root := .root -}}
{{- $v := .v -}}
metadata:
  labels:
    {{- include "wm.labels" . | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Roll the pods when their configuration changes.
    checksum/config: {{ include "wm.config" . | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "wm.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  containers:
    - name: collector
      image: {{ include "wm.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        - --config=/etc/otelcol-wafermonitor/config.yaml
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      ports:
        {{- range $pname, $p := .ports }}
        {{- if $p.enabled }}
        - name: {{ $pname }}
          containerPort: {{ $p.containerPort }}
          protocol: TCP
          {{- if and (eq $.name "agent") $p.hostPort }}
          hostPort: {{ $p.hostPort }}
          {{- end }}
        {{- end }}
        {{- end }}
      env:
        - name: MY_POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: K8S_NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: K8S_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: K8S_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- with include "wm.goMemLimit" . }}
        - name: GOMEMLIMIT
          value: {{ . | quote }}
        {{- end }}
        {{- with $root.Values.auth.bearerToken.secretName }}
        - name: WAFERMONITOR_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $root.Values.auth.bearerToken.secretKey }}
        {{- end }}
        {{- with $root.Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $envFrom := concat ($root.Values.extraEnvFrom | default list) ($v.extraEnvFrom | default list) }}
      {{- with $envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      livenessProbe:
        {{- include "wm.livenessProbe" . | nindent 8 }}
      readinessProbe:
        {{- include "wm.readinessProbe" . | nindent 8 }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/otelcol-wafermonitor
          readOnly: true
        - name: data
          mountPath: {{ include "wm.dataDir" . }}
        {{- with $v.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ .fullname }}
        items:
          - key: config.yaml
            path: config.yaml
    {{- if eq .name "agent" }}
    - name: data
      {{- toYaml $v.dataVolume | nindent 6 }}
    {{- else if not $v.persistence.enabled }}
    - name: data
      emptyDir: {}
    {{- end }}
    {{- with $v.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
