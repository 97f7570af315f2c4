# entk: `make demo` runs the example pipeline, `make test` runs the tests.
# Both install what they need first (tools/setup.sh, idempotent).

SWIFT ?= swift

.PHONY: all setup build release test lint clean

all: build

# Cheap when everything is present (a dpkg query and a Python import), so always run.
setup:
	@tools/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Plugins Tests

clean:
	rm -rf .build
