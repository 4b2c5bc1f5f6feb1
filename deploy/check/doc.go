// Package check validates the deployment files under deploy/ with the
// libraries the real tools use: the Compose loader (compose-go), BuildKit's
// Dockerfile parser and Prometheus's PromQL parser. It is a module of its own
// so that these heavy dependencies stay out of the application's go.mod;
// `make test` runs it (target check-deploy).
package check
