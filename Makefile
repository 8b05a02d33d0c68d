# stpipe-cpp: the two README commands (`make demo`, `make test`) and their parts.
BUILD ?= build
JOBS ?= $(shell nproc)
PY ?= /usr/bin/python3

.PHONY: all setup configure build test test-cpp test-py test-fuzz demo bench format clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$(PY) >/dev/null

configure: setup $(BUILD)/CMakeCache.txt

build: configure
	@bash scripts/build.sh $(BUILD) $(JOBS)

test-cpp: build
	@cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

test-py: build
	@bash scripts/run_pytest.sh $(PY) $(BUILD)

test-fuzz: build
	@bash scripts/run_fuzz.sh $(BUILD)

test: build
	@status=0; \
	( cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600 ) || status=1; \
	bash scripts/run_fuzz.sh $(BUILD) || status=1; \
	bash scripts/run_pytest.sh $(PY) $(BUILD) || status=1; \
	exit $$status

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash bench/run_all.sh $(BUILD)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
