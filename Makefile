# secretgate — see README.md. Two commands matter: `make demo` and `make test`.
GO      ?= go
BIN     := bin
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build generate templ-check test race vet fmt-check bench demo clean lambda infra-test infra-synth infra-athena

all: build

build: generate
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gatekeeper ./cmd/gatekeeper
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/dashboard ./cmd/dashboard

# The dashboard's templ components compile to Go; the generated files are
# checked in, so that `go build` alone works, and must match their sources.
generate:
	$(GO) tool templ generate -path web

templ-check:
	@$(GO) tool templ generate -path web >/dev/null 2>&1; \
	if ! git diff --quiet -- web; then echo "web/*_templ.go differ from their .templ sources: run make generate and commit"; git diff --stat -- web; exit 1; fi

# The test command CI runs: generated code, formatting, vet, then every
# test with the race detector.
test: templ-check fmt-check vet
	$(GO) test -race -count=1 ./...
	$(MAKE) infra-test

# infra/ is its own module (the CDK for Go): vet and test it there. Its
# tests synthesise every stack (node runs the CDK's jsii runtime) and run
# the access model through the IAM simulator in infra/simulate (npm ci).
# No race detector: the module has no concurrency of its own, and a race
# build of the CDK bindings would double their cold compile.
infra-test: infra/simulate/node_modules
	cd infra && $(GO) vet ./... && $(GO) test -count=1 ./...

infra/simulate/node_modules: infra/simulate/package-lock.json
	cd infra/simulate && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The CloudFormation templates for infra/config.example.yaml (or
# INFRA_CONFIG) into infra/cdk.out, with the Lambda zips of make lambda.
INFRA_CONFIG ?= config.example.yaml
INFRA_ARCH   ?= arm64
infra-synth: lambda
	@test -f $(BIN)/lambda/rotator-lambda-$(INFRA_ARCH).zip || { echo "infra-synth: $(BIN)/lambda/rotator-lambda-$(INFRA_ARCH).zip is missing (make lambda builds it with cmd/rotator)"; exit 1; }
	cd infra && CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"config":"$(INFRA_CONFIG)","rotatorAsset":"../$(BIN)/lambda/rotator-lambda-$(INFRA_ARCH).zip","gateAsset":"../$(BIN)/lambda/gatekeeper-lambda-$(INFRA_ARCH).zip"}' $(GO) run .
	@ls infra/cdk.out/*.template.json

# The Athena texts infra deploys, generated from the root module (infra
# does not import it): the reports' named queries and the golden DDL its
# Glue table is tested against.
infra-athena:
	$(GO) run ./scripts/athenaqueries > infra/stack/queries.json
	$(GO) run ./cmd/dashboard athena ddl --bucket secretgate-trail-111122223333-eu-west-1 \
		--accounts 111122223333 --regions eu-west-1,us-east-1 > infra/testdata/athena-ddl.sql

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Benchmarks print figures; they never pass or fail on time.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/scan/ ./internal/corpus/
	$(GO) test -run '^$$' -bench . -benchtime 500x ./internal/githubapp/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/cloudtrail/ ./internal/compliance/
	$(GO) test -run '^$$' -bench Rotation -benchtime 20x ./internal/rotation/postgres/
	$(GO) test -run '^$$' -bench AppLatency -benchtime 1x ./internal/rotation/postgres/
	$(GO) test -run '^$$' -bench PageLoad -benchtime 5x ./internal/dashboard/
	$(GO) run ./cmd/benchcmp -gatekeeper $(BIN)/gatekeeper

# The main job on the embedded default: a real gate on a real repository.
demo: build
	./scripts/demo.sh $(BIN)/gatekeeper $(BIN)/dashboard

# The Lambdas for the provided.al2023 runtime, bootstrap zips for arm64 and
# x86_64: the CodeCommit gate and the rotation function. Built without cgo
# (the gate's store on Lambda is PostgreSQL).
lambda:
	@for cmd in gatekeeper rotator; do for arch in arm64 amd64; do \
		mkdir -p $(BIN)/lambda/$$cmd-$$arch && \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -tags lambda.norpc -ldflags '$(LDFLAGS)' \
			-o $(BIN)/lambda/$$cmd-$$arch/bootstrap ./cmd/$$cmd && \
		(cd $(BIN)/lambda/$$cmd-$$arch && rm -f ../$$cmd-lambda-$$arch.zip && zip -q ../$$cmd-lambda-$$arch.zip bootstrap) && \
		echo "$(BIN)/lambda/$$cmd-lambda-$$arch.zip" || exit 1; \
	done; done

clean:
	rm -rf $(BIN) infra/cdk.out
