// Package helm pins the helm release (the tool directive in go.mod) that test/helm/build.sh
// compiles into test/helm/.cache/bin/helm for the chart tests: lint, render against the
// kustomize overlay, and install/upgrade/uninstall on the e2e kube-apiserver.
package helm
