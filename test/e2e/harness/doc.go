// Package harness holds the Go side of meshguard's end-to-end test harness: it pins
// the versions of the kube-apiserver (cmd/kube-apiserver) and of etcd (the tool
// directive in go.mod) that test/e2e/build.sh compiles into test/e2e/.cache/bin.
package harness
