// Package deploytest checks the deployment artifacts: the Dockerfile against
// the Makefile and the default configuration, and the Helm chart in
// deploy/helm (helm lint and helm template of every shape and example, the
// rendered manifests decoded strictly into the Kubernetes API types, and the
// collector configuration in every rendered ConfigMap validated by the real
// binary). No Docker engine or Kubernetes cluster is needed.
package deploytest
