{{/*
The collector configuration of one component: the chart's defaults for its shape, with the
user's config and the component's config merged over them (see `config` in values.yaml).
*/}}

{{- define "wm.dataDir" -}}/var/lib/otelcol-wafermonitor{{- end -}}

{{/* Receivers for the enabled ports, shared by every shape. */}}
{{- define "wm.defaultReceivers" -}}
{{- $p := .ports -}}
{{- if (index $p "v1").enabled }}
wafermonitor:
  endpoint: 0.0.0.0:{{ (index $p "v1").containerPort }}
{{- end }}
{{- if or (index $p "otlp-grpc").enabled (index $p "otlp-http").enabled }}
otlp:
  protocols:
    {{- if (index $p "otlp-grpc").enabled }}
    grpc:
      endpoint: 0.0.0.0:{{ (index $p "otlp-grpc").containerPort }}
    {{- end }}
    {{- if (index $p "otlp-http").enabled }}
    http:
      endpoint: 0.0.0.0:{{ (index $p "otlp-http").containerPort }}
    {{- end }}
{{- end }}
{{- end -}}

{{- define "wm.receiverNames" -}}
{{- $p := .ports -}}
{{- $r := list -}}
{{- if (index $p "v1").enabled }}{{ $r = append $r "wafermonitor" }}{{ end -}}
{{- if or (index $p "otlp-grpc").enabled (index $p "otlp-http").enabled }}{{ $r = append $r "otlp" }}{{ end -}}
{{- if not $r -}}
{{- fail (printf "%s: the ports v1, otlp-grpc and otlp-http are all disabled: the collector would receive nothing" .name) -}}
{{- end -}}
{{- toJson $r -}}
{{- end -}}

{{/*
Defaults of every shape: health, persistent storage, memory limiter, own metrics. The
memory_limiter's percentages are of the container's memory limit.
*/}}
{{- define "wm.defaultCommon" -}}
{{- $p := .ports -}}
extensions:
  health_check:
    endpoint: 0.0.0.0:{{ (index $p "health").containerPort }}
  # What the v1 receiver's GET /v1/health tells of its pipelines.
  pipeline_health:
  # Persistent queues and processor state. Compaction gives back the space a
  # drained queue took (after an outage), in the same volume.
  file_storage:
    directory: {{ include "wm.dataDir" . }}/storage
    create_directory: true
    compaction:
      on_rebound: true
      directory: {{ include "wm.dataDir" . }}/storage
  # The memory a load leaves behind, returned to the node once the collector is quiet. The
  # runtime's soft memory limit is GOMEMLIMIT, which the chart sets from the memory limit.
  go_memory:
receivers:
  {{- include "wm.defaultReceivers" . | trim | nindent 2 }}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 25
  # For metrics pipelines of your own (the chart's have none: Prometheus pulls the latest
  # values, and the v1 receiver waits for its metrics call in each request). Logs and traces
  # have no batch processor: it would hold events in memory after the receiver answered 200
  # (docs/guarantees.md); an exporter with a persistent queue batches after the queue's file
  # instead (sending_queue::batch).
  batch:
    timeout: 1s
service:
  extensions: [health_check, pipeline_health, file_storage, go_memory]
  telemetry:
    logs:
      level: info
    # The collector's own spans go nowhere; not recording them saves CPU on every request.
    traces:
      level: none
    metrics:
      {{- if (index $p "self-metrics").enabled }}
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: {{ (index $p "self-metrics").containerPort }}
      {{- else }}
      level: none
      {{- end }}
{{- end -}}

{{/*
The csv exporter writes to the data volume: one row per event (logs pipeline) to
csv/wafer_events_YYYYMMDD.csv and one row per finished job or subjob (traces pipeline, with the
jobhierarchy roll-ups) to csv/wafer_entities_YYYYMMDD.csv. One exporter serves both pipelines.
Durable: what the receiver answered 200 for is in the queue's file (file_storage), and
flush_interval 0 writes each item the queue reads back to the CSV file before the queue lets go
of it, so a killed pod loses nothing it accepted (rows may be written twice). The queue does not
batch: it writes and deletes each item in its file alone either way, and every item a batch
holds makes each of those writes larger (docs/guarantees.md).
Retried until written (a full or read-only volume), never dropped. Closed files are gzipped;
at most 10 closed files per output are kept, for at most 30 days, so the files stay well within
the agents' 2Gi emptyDir. Replace or complement it with your backends in config.
*/}}
{{- define "wm.defaultLocalExporters" -}}
{{- $p := .ports -}}
exporters:
  csv:
    events:
      path: {{ include "wm.dataDir" . }}/csv/wafer_events_%Y%m%d.csv
    entities:
      path: {{ include "wm.dataDir" . }}/csv/wafer_entities_%Y%m%d.csv
    rotation:
      max_megabytes: 100
      compression: gzip
      max_files: 10
      max_age: 720h
    flush_interval: 0s
    sending_queue:
      enabled: true
      storage: file_storage
      sizer: items
      queue_size: 100000
    retry_on_failure:
      enabled: true
      max_elapsed_time: 0s
  {{- if (index $p "job-metrics").enabled }}
  prometheus:
    endpoint: 0.0.0.0:{{ (index $p "job-metrics").containerPort }}
    resource_to_telemetry_conversion:
      enabled: true
  {{- else }}
  debug/metrics:
    verbosity: basic
  {{- end }}
{{- end -}}

{{- define "wm.metricsExporter" -}}
{{- if (index .ports "job-metrics").enabled }}prometheus{{ else }}debug/metrics{{ end -}}
{{- end -}}

{{/*
A collector that sees every event of a job (an agent exporting directly, or a gateway replica):
the jobhierarchy processor, with its state in file_storage, after the memory limiter. No batch
processor in logs and traces: what the receiver answered 200 for goes straight to the exporters.
*/}}
{{- define "wm.defaultComplete" -}}
{{- $recv := include "wm.receiverNames" . -}}
processors:
  jobhierarchy:
    storage: file_storage
service:
  pipelines:
    logs:
      receivers: {{ $recv }}
      processors: [memory_limiter, jobhierarchy]
      exporters: [csv]
    traces:
      receivers: {{ $recv }}
      processors: [memory_limiter, jobhierarchy]
      exporters: [csv]
    metrics:
      receivers: {{ $recv }}
      # jobhierarchy passes metrics through and adds the schedules' series.
      processors: [memory_limiter, jobhierarchy]
      exporters: [{{ include "wm.metricsExporter" . }}]
{{- end -}}

{{/*
An agent in front of gateways: logs and traces go to the gateway replica that owns their trace
ID (a job's UUID is its trace ID; log records carry it too), through a queue on the data volume
so that a gateway outage or an agent restart loses nothing. No batch processor before it: an
event a client was told is accepted is on disk. The per-gateway OTLP exporters have no queue of
their own (their default is one in memory): an event leaves the disk queue only when a gateway
took it. Retried until a gateway takes it, however long the gateways are away
(max_elapsed_time 0): when the queue is full the receiver answers 503 with Retry-After and the
clients keep their events. Each retry routes again, so a gateway that went away for good hands
its trace IDs to the others. Metrics stay on the agent (its Prometheus endpoint): the receiver's
cumulative series are per agent, and scraping them per pod keeps them apart.
*/}}
{{- define "wm.defaultForwarding" -}}
{{- $recv := include "wm.receiverNames" . -}}
exporters:
  loadbalancing:
    routing_key: traceID
    protocol:
      otlp:
        timeout: 10s
        tls:
          insecure: true
        sending_queue:
          enabled: false
    resolver:
      dns:
        hostname: {{ .forwardHost }}
        port: {{ include "wm.agentForwardPort" .root | quote }}
    sending_queue:
      enabled: true
      storage: file_storage
      queue_size: 100000
      sizer: items
    retry_on_failure:
      enabled: true
      initial_interval: 1s
      max_interval: 30s
      max_elapsed_time: 0s
  {{- if (index .ports "job-metrics").enabled }}
  prometheus:
    endpoint: 0.0.0.0:{{ (index .ports "job-metrics").containerPort }}
    resource_to_telemetry_conversion:
      enabled: true
  {{- else }}
  debug/metrics:
    verbosity: basic
  {{- end }}
service:
  pipelines:
    logs:
      receivers: {{ $recv }}
      processors: [memory_limiter]
      exporters: [loadbalancing]
    traces:
      receivers: {{ $recv }}
      processors: [memory_limiter]
      exporters: [loadbalancing]
    metrics:
      receivers: {{ $recv }}
      processors: [memory_limiter]
      exporters: [{{ include "wm.metricsExporter" . }}]
{{- end -}}

{{- define "wm.defaultConfig" -}}
{{- $cfg := include "wm.defaultCommon" . | fromYaml -}}
{{- if and (eq .name "agent") .forwardHost -}}
{{- $cfg = mergeOverwrite $cfg (include "wm.defaultForwarding" . | fromYaml) -}}
{{- else -}}
{{- $cfg = mergeOverwrite $cfg (include "wm.defaultLocalExporters" . | fromYaml) -}}
{{- $cfg = mergeOverwrite $cfg (include "wm.defaultComplete" . | fromYaml) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The component's final configuration, as YAML. */}}
{{- define "wm.config" -}}
{{- $cfg := include "wm.defaultConfig" . | fromYaml -}}
{{- if hasKey $cfg "Error" -}}
{{- fail (printf "internal: the default %s config does not parse: %s" .name $cfg.Error) -}}
{{- end -}}
{{- $user := mergeOverwrite (deepCopy (.root.Values.config | default dict)) (deepCopy (.v.config | default dict)) -}}
{{- $userService := $user.service | default dict -}}
{{- $userPipelines := $userService.pipelines | default dict -}}
{{/* A pipeline the user names is theirs, whole. */}}
{{- range $name, $_ := $userPipelines -}}
{{- $_ := unset $cfg.service.pipelines $name -}}
{{- end -}}
{{- $cfg = mergeOverwrite $cfg $user -}}
{{/* null removes a pipeline or a component (mergeOverwrite keeps what null would replace). */}}
{{- range $name, $p := $userPipelines -}}
{{- if kindIs "invalid" $p -}}
{{- $_ := unset $cfg.service.pipelines $name -}}
{{- end -}}
{{- end -}}
{{- range $section := list "receivers" "processors" "exporters" "extensions" "connectors" -}}
{{- $userSection := index $user $section | default dict -}}
{{- range $name, $c := $userSection -}}
{{- if kindIs "invalid" $c -}}
{{- $_ := unset (index $cfg $section) $name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{/*
A schedule must see every matching job's start: gateway replicas each hold the jobs the agents
route to them by trace ID, so a replica would report runs started on another one as missed.
*/}}
{{- $jh := dig "processors" "jobhierarchy" dict $cfg | default dict -}}
{{- if and (eq .name "agent") (not .forwardHost) ($jh.schedules) -}}
{{- fail "agent.config.processors.jobhierarchy.schedules: schedules need one collector that sees every matching job, but each agent sees only the jobs of its node (and would report runs on other nodes as missed); run schedules on a gateway with gateway.replicas: 1 (mode: agent-gateway), or in a collector of their own (docs/schedules.md)" -}}
{{- end -}}
{{- if and (eq .name "gateway") (gt (int (.v.replicas | default 1)) 1) ($jh.schedules) -}}
{{- fail (printf "gateway.config.processors.jobhierarchy.schedules: schedules need one collector that sees every matching job, but gateway.replicas is %v (each replica sees only the jobs routed to it, and would report the others' runs as missed); run schedules with gateway.replicas: 1, or in a collector of their own that receives every job's events (docs/schedules.md)" .v.replicas) -}}
{{- end -}}
{{- if .root.Values.auth.bearerToken.secretName -}}
{{- include "wm.bearerTokenAuth" (dict "cfg" $cfg "forwarding" (and (eq .name "agent") .forwardHost)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
auth.bearerToken: every wafermonitor and otlp receiver (each OTLP protocol), the chart's and the
user's, requires the token that WAFERMONITOR_TOKEN holds (from the Secret), unless the user named
another authenticator for it; agents in front of a gateway send the token with every OTLP request
to it (a header: the bearertokenauth client needs TLS, which the chart's in-cluster forwarding does
not use). Changes the configuration in place.
*/}}
{{- define "wm.bearerTokenAuth" -}}
{{- $cfg := .cfg -}}
{{- $auth := dict "authenticator" "bearertokenauth" -}}
{{- $extensions := $cfg.extensions | default dict -}}
{{- if not (hasKey $extensions "bearertokenauth") -}}
{{- $_ := set $extensions "bearertokenauth" (dict "token" "${env:WAFERMONITOR_TOKEN}") -}}
{{- end -}}
{{- $_ := set $cfg "extensions" $extensions -}}
{{- $enabled := $cfg.service.extensions | default list -}}
{{- if not (has "bearertokenauth" $enabled) -}}
{{- $_ := set $cfg.service "extensions" (append $enabled "bearertokenauth") -}}
{{- end -}}
{{- range $id, $r := $cfg.receivers -}}
{{- $type := regexReplaceAll "/.*" $id "" -}}
{{- if eq $type "wafermonitor" -}}
{{- if not (dig "auth" "authenticator" "" $r) -}}
{{- $_ := set $r "auth" $auth -}}
{{- end -}}
{{- else if eq $type "otlp" -}}
{{- $protocols := $r.protocols | default dict -}}
{{- range $p := list "grpc" "http" -}}
{{- if hasKey $protocols $p -}}
{{- $settings := index $protocols $p | default dict -}}
{{- if not (dig "auth" "authenticator" "" $settings) -}}
{{- $_ := set $settings "auth" $auth -}}
{{- end -}}
{{- $_ := set $protocols $p $settings -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .forwarding $cfg.exporters.loadbalancing -}}
{{- $otlp := $cfg.exporters.loadbalancing.protocol.otlp -}}
{{- $headers := $otlp.headers | default dict -}}
{{- $_ := set $headers "authorization" "Bearer ${env:WAFERMONITOR_TOKEN}" -}}
{{- $_ := set $otlp "headers" $headers -}}
{{- end -}}
{{- end -}}
