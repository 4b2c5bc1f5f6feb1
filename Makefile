# RP CRM — the two commands: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/rpcrm

.PHONY: build run test test-short vet fmt bench clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rpcrm

# Start everything on the embedded default: private PostgreSQL under ./data,
# demo tenants mandant1.localhost / mandant2.localhost, demo users.
run: build
	./$(BIN) dev

# Every test, against real PostgreSQL (127.0.0.1:5432 if it answers, else a
# private server started by the tests), with the race detector.
test: vet
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

clean:
	rm -rf bin
