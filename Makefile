# serac - the targets a user types. `make run` starts the server on its
# embedded default; `make test` runs every suite. Both install what they need.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all build run check test test-unit test-asan test-fuzz test-api test-pyiceberg test-rck \
        test-duckdb test-spark test-s3 test-api-s3 test-gcs \
        deps deps-build venv fuzz format clean bench

all: build

deps-build:
	@SERAC_MINIMAL_DEPS=1 scripts/install-deps.sh

deps:
	@scripts/install-deps.sh

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: deps-build $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/serac serve $(ARGS)

# Fast: unit tests only (a few seconds).
check: build
	cd $(BUILD) && ctest --output-on-failure

venv:
	@scripts/setup-venv.sh

# Everything: unit tests (plain and under ASan+UBSan), fuzzers (short fixed
# runs), the API suite, PyIceberg, the Iceberg REST Compatibility Kit, Spark,
# DuckDB, S3 (moto) and GCS (fake-gcs-server) warehouses, the PostgreSQL runs
# and the multi-node tests. Prints each runner's summary, then a total.
test: deps venv
	@scripts/test-all.sh

test-format test-deploy test-unit test-asan test-fuzz test-api test-pyiceberg test-duckdb test-rck test-spark test-s3 test-api-s3 test-gcs: deps venv
	@scripts/test-all.sh $(patsubst test-%,%,$@)

fuzz: deps
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} scripts/test-all.sh fuzz

format:
	clang-format-14 -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]')

# Benchmarks (not part of `make test`): serac against the Iceberg reference server, with wrk.
# Writes bench/results/<date>-<machine>.md; about 20 minutes. See docs/performance.md.
bench:
	@bash bench/run.sh

clean:
	rm -rf build build-*
