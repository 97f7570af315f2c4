# entk: `make demo` runs the example pipeline, `make test` runs the tests.
# Both install what they need first (tools/setup.sh, idempotent).

SWIFT ?= swift
STAMP := .build/.setup-done

.PHONY: all build release test lint clean

all: build

$(STAMP): tools/setup.sh
	tools/setup.sh
	@mkdir -p .build && touch $@

build: $(STAMP)
	$(SWIFT) build

release: $(STAMP)
	$(SWIFT) build -c release

test: $(STAMP)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Plugins Tests

clean:
	rm -rf .build
