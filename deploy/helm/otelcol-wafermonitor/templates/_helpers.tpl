{{/* Names, labels and the per-component context. */}}

{{- define "wm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Room for the longest suffix ("-gateway-headless", 17 characters) within 63. */}}
{{- define "wm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 46 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 46 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 46 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "wm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The components this release installs, in order. */}}
{{- define "wm.components" -}}
{{- if eq .Values.mode "agent" -}}agent
{{- else if eq .Values.mode "gateway" -}}gateway
{{- else if eq .Values.mode "agent-gateway" -}}agent gateway
{{- else -}}
{{- fail (printf "mode: %q is not one of agent, gateway, agent-gateway" .Values.mode) -}}
{{- end -}}
{{- end -}}

{{/*
The context of one component: name (agent or gateway), ports (the top-level ports with the
component's overrides), fullname and forwardHost (wm.agentForwardHost). Templates add root (the
chart's top context) and v (the component's values), which do not survive YAML:
  {{- $c := include "wm.ctx" (list $ "agent") | fromYaml }}{{ $_ := set $c "root" $ }}{{ $_ := set $c "v" $.Values.agent }}
*/}}
{{- define "wm.ctx" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $v := index $root.Values $name -}}
{{- $ports := dict -}}
{{- range $pname, $p := $root.Values.ports -}}
{{- $over := index ($v.ports | default dict) $pname | default dict -}}
{{- $_ := set $ports $pname (mergeOverwrite (deepCopy $p) (deepCopy $over)) -}}
{{- end -}}
{{- range $pname, $p := ($v.ports | default dict) -}}
{{- if not (hasKey $root.Values.ports $pname) -}}
{{- fail (printf "%s.ports.%s: no such port; the ports are %s" $name $pname (keys $root.Values.ports | sortAlpha | join ", ")) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "name" $name "ports" $ports "fullname" (printf "%s-%s" (include "wm.fullname" $root) $name) "forwardHost" (include "wm.agentForwardHost" $root)) -}}
{{- end -}}

{{- define "wm.labels" -}}
helm.sh/chart: {{ include "wm.chart" .root }}
{{ include "wm.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: wafermonitor
{{- end -}}

{{- define "wm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wm.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "wm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "wm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "wm.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The gateway's headless Service name as the agents resolve it. */}}
{{- define "wm.gatewayHeadlessHost" -}}
{{- printf "%s-gateway-headless.%s.svc.%s" (include "wm.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/*
The OTLP gRPC port the agents forward to: this release's gateway's container port, or
agent.gateway.port for a gateway of another release.
*/}}
{{- define "wm.agentForwardPort" -}}
{{- if eq .Values.mode "agent-gateway" -}}
{{- $gw := include "wm.ctx" (list . "gateway") | fromYaml -}}
{{- $otlp := index $gw.ports "otlp-grpc" -}}
{{- if not $otlp.enabled -}}
{{- fail "gateway.ports.otlp-grpc: the agents forward to the gateway over OTLP gRPC; enable it" -}}
{{- end -}}
{{- $otlp.containerPort -}}
{{- else -}}
{{- .Values.agent.gateway.port -}}
{{- end -}}
{{- end -}}

{{/* Where this release's agents forward to: a hostname, or empty to export directly. */}}
{{- define "wm.agentForwardHost" -}}
{{- if eq .Values.mode "agent-gateway" -}}
{{- include "wm.gatewayHeadlessHost" . -}}
{{- else -}}
{{- .Values.agent.gateway.hostname -}}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes memory quantity (512Mi, 2Gi, 1G, 536870912) in bytes, as a float. Fails naming the
field when it is not a plain quantity.
*/}}
{{- define "wm.memoryBytes" -}}
{{- $field := index . 0 -}}
{{- $q := toString (index . 1) -}}
{{- $mult := dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 -}}
{{- $num := $q -}}
{{- $factor := 1.0 -}}
{{- range $suffix, $m := $mult -}}
{{- if hasSuffix $suffix $q -}}
{{- $num = trimSuffix $suffix $q -}}
{{- $factor = $m -}}
{{- end -}}
{{- end -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?$" $num) -}}
{{- fail (printf "%s: %q is not a memory quantity such as 512Mi, 2Gi or 1G" $field $q) -}}
{{- end -}}
{{- mulf (float64 $num) $factor -}}
{{- end -}}

{{/* GOMEMLIMIT for a component: goMemLimitPercent of its memory limit, in MiB. */}}
{{- define "wm.goMemLimit" -}}
{{- $root := .root -}}
{{- $limit := ((.v.resources).limits).memory -}}
{{- if $limit -}}
{{- $bytes := include "wm.memoryBytes" (list (printf "%s.resources.limits.memory" .name) $limit) | float64 -}}
{{- $mib := divf (mulf $bytes $root.Values.goMemLimitPercent) (mulf 100.0 1048576.0) | floor | int64 -}}
{{- if lt $mib 1 -}}
{{- fail (printf "%s.resources.limits.memory: %s is too small for a collector" .name $limit) -}}
{{- end -}}
{{- printf "%dMiB" $mib -}}
{{- end -}}
{{- end -}}

{{- define "wm.servicePorts" -}}
{{- range $pname, $p := .ports }}
{{- if $p.enabled }}
- name: {{ $pname }}
  port: {{ $p.servicePort }}
  targetPort: {{ $pname }}
  protocol: TCP
  {{- with $p.appProtocol }}
  appProtocol: {{ . }}
  {{- end }}
{{- end }}
{{- end }}
{{- end -}}
