package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

// AWS settings of docs/aws.yaml that the old entries may leave out.
const (
	defaultAWSRegion   = "${env:AWS_REGION:-}"
	defaultLogGroup    = "/wafer-monitor/jobs"
	integrationMarkKey = "wafer.integration"
)

// platforms names the old compute_platform values as OpenTelemetry's
// cloud.platform does.
var platforms = map[string]string{"ec2": "aws_ec2", "ecs": "aws_ecs", "lambda": "aws_lambda"}

// mapAWSCloudWatch: every lifecycle event as a JSON log event in the log
// group; with a namespace, job metrics as CloudWatch metrics (EMF) too.
func mapAWSCloudWatch(t *translator, _ *entry, name string, f *fields) {
	region := awsRegion(f)
	group, ok := f.text("log_group_name")
	if !ok || group == "" {
		group = defaultLogGroup
	}
	namespace, _ := f.text("namespace")
	platform := f.choice("compute_platform", "", "ec2", "ecs", "lambda")
	instance, _ := f.resolved("instance_id")
	if len(f.errs) > 0 {
		return
	}

	logs := instantiate("aws_cloudwatch.yaml", name)
	cwl := logs.get("exporters", "awscloudwatchlogs/"+name)
	cwl["region"] = region
	cwl["log_group_name"] = group
	var extra []string
	if platform != "" {
		extra = append(extra,
			`set(resource.attributes["cloud.provider"], "aws")`,
			`set(resource.attributes["cloud.platform"], `+ottlString(platforms[platform])+`)`,
			`set(log.body["compute_platform"], `+ottlString(platform)+`)`)
	}
	if instance != "" {
		// One log stream per instance, as the old sidecar wrote.
		cwl["log_stream_name"] = literal(instance)
		extra = append(extra,
			`set(resource.attributes["host.id"], `+literal(ottlString(instance))+`)`,
			`set(log.body["instance_id"], `+literal(ottlString(instance))+`)`)
	}
	logs.appendTo(extra, "processors", "transform/"+name+"_cwlogs", "log_statements")
	t.out.merge(logs)
	t.logAttached(logs)

	if namespace == "" {
		return
	}
	metrics := instantiate("aws_emf.yaml", name)
	emf := metrics.get("exporters", "awsemf/"+name)
	emf["region"] = region
	emf["namespace"] = namespace
	if instance != "" {
		emf["log_stream_name"] = literal(instance)
	}
	// Marks this integration's metrics in the spool that all share.
	metrics.appendTo([]string{`set(resource.attributes["` + integrationMarkKey + `"], ` + ottlString(name) + `)`},
		"processors", "transform/"+name+"_emf", "metric_statements")
	metrics.merge(instantiate("aws_spool.yaml", name))
	t.out.merge(metrics)
	t.logAttached(metrics)
}

// mapAWSXRay: jobs as X-Ray segments named service_name, subjobs as
// subsegments.
func mapAWSXRay(t *translator, _ *entry, name string, f *fields) {
	region := awsRegion(f)
	service, _ := f.resolved("service_name")
	if len(f.errs) > 0 {
		return
	}
	conf := instantiate("aws_xray.yaml", name)
	conf.get("exporters", "awsxray/"+name)["region"] = region
	if service != "" {
		// X-Ray names a segment (a job's server span) after aws.local.service.
		conf.appendTo([]string{`set(span.attributes["aws.local.service"], ` + literal(ottlString(service)) + `) where span.kind == SPAN_KIND_SERVER`},
			"processors", "transform/"+name+"_xray", "trace_statements")
	}
	conf.merge(instantiate("aws_spool.yaml", name))
	t.out.merge(conf)
	t.logAttached(conf)
}

// awsRegion reads aws_region, by default AWS_REGION as docs/aws.yaml does.
func awsRegion(f *fields) string {
	if region, ok := f.text("aws_region"); ok && region != "" {
		return region
	}
	return defaultAWSRegion
}
