# RP CRM — the two commands: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/rpcrm

.PHONY: build assets run test test-short vet fmt bench screenshots clean check-deploy

build: assets
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rpcrm

# Front-end libraries (htmx, SortableJS, Chart.js) come from npm with the
# lockfile; their built files are copied into web/static/vendor/ (not in
# git), which the binary embeds. Without npm the UI still works, without
# JavaScript.
VENDOR := web/static/vendor
ASSETS := node_modules/htmx.org/dist/htmx.min.js node_modules/sortablejs/Sortable.min.js \
	node_modules/chart.js/dist/chart.umd.min.js

assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp $(ASSETS) $(VENDOR)/
	touch $@

# Start everything on the embedded default: private PostgreSQL under ./data,
# demo tenants mandant1.localhost / mandant2.localhost, demo users.
run: build
	./$(BIN) dev

# Every test, against real PostgreSQL (127.0.0.1:5432 if it answers, else a
# private server started by the tests), with the race detector.
test: vet assets check-deploy
	$(GO) test -race -count=1 -timeout 12m ./...

test-short:
	$(GO) test -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Throughput and latency of GET /api/v1/me against direct pgx, 32 clients on loopback.
# Then the CRM scenario: two tenants of 100k contacts (+ companies, deals, activities),
# six contact operations with 16 clients, again after growing one tenant to 1M contacts.
# Takes 10-30 minutes; see docs/benchmarks.md (-scenario me|crm, -contacts, -grow-to).
bench: build
	$(GO) run ./cmd/rpcrm-bench -bin $(BIN)

# Pictures of the main pages, taken by headless Chromium from a fresh demo
# setup (the same harness as the browser tests in e2e/).
screenshots: assets
	RPCRM_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestScreenshots$$' ./e2e

clean:
	rm -rf bin node_modules $(VENDOR)

# The deployment files (compose, Dockerfile, Prometheus rules, Grafana
# dashboard) checked with compose-go, BuildKit and Prometheus in a module of
# their own, so that those dependencies stay out of go.mod. That module uses
# this one (for the metric names); -mod=mod lets it follow this module's
# dependencies without a manual `go mod tidy` there.
check-deploy:
	cd deploy/check && GOFLAGS=-mod=mod $(GO) vet ./... && GOFLAGS=-mod=mod $(GO) test -count=1 ./...
