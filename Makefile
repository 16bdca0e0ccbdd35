# Every target sets up what it needs: a virtualenv from the lock file, and the pinned CDK CLI from npm.
PYTHON ?= python3
PORT ?= 4566
CONFIG ?=
VENV := .venv
BIN := $(VENV)/bin
# checkov's pins conflict with the project's (boto3 among them): it gets a virtualenv of its own.
SCAN_VENV := .venv-checkov
# So do the SageMaker Python SDK's (tests/sdk/ drive the local runtime with it), and v2's with v3's (sagemaker-core
# <2 against >=2): the last v2 in .venv-sdk, v3 in .venv-sdk3.
SDK_VENV := .venv-sdk
SDK3_VENV := .venv-sdk3
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup sdk lock test lint synth deploy diff destroy clean demo serve reliability-report compatibility-report \
	bench bench-check-data bench-cold-start bench-build bench-demo bench-poll-loop bench-iam bench-cost bench-sync-lag \
	bench-state-dir \
	picture schema

help:
	@echo "make setup    create .venv from requirements.lock, install the project into it (editable, with the"
	@echo "              sagemaker-retraining command) and install the pinned CDK CLI"
	@echo "make test     lint, type-check and run every test"
	@echo "make sdk      create .venv-sdk (SageMaker Python SDK v2) and .venv-sdk3 (v3) for the tests in tests/sdk/"
	@echo "make lock     re-resolve the locks: requirements.lock, requirements-scan.lock and requirements-sdk*.lock"
	@echo "              from pyproject.toml,"
	@echo "              lambdas/dependencies/requirements.lock for the functions' runtime (keeps current pins)"
	@echo "make reliability-report   rewrite docs/reliability.md from the tests marked reliability"
	@echo "make compatibility-report rewrite docs/compatibility.md (the local runtime against AWS) from the tests"
	@echo "make picture  redraw docs/workflow.svg and docs/workflow.png from the ASL (needs Graphviz: apt-get install graphviz)"
	@echo "make schema   rewrite schema/pipelines.schema.json, the JSON Schema of a pipelines file, from stacks/config/"
	@echo "make synth    synthesize the CloudFormation templates into cdk.out/"
	@echo "make deploy   deploy every pipeline's stack (needs AWS credentials)"
	@echo "make demo     run the workflow on this machine: train and deploy, no new data, retrain with zero downtime"
	@echo "make serve    deploy the pipelines locally and serve the AWS APIs on 127.0.0.1:\$$PORT (4566) until Ctrl-C"
	@echo "              (CONFIG=demo/pipelines.json serves the demo pipeline instead of cdk.json's;"
	@echo "              STATE_DIR=.local-aws keeps its state across restarts, WATCH=1 redeploys on change)"
	@echo "              then, from another terminal: .venv/bin/sagemaker-retraining runs list --pipeline demo --endpoint-url http://127.0.0.1:4566"
	@echo "make bench    run every benchmark of the README's Performance section (about 25 minutes);"
	@echo "              one at a time: bench-check-data, bench-cold-start, bench-build, bench-demo, bench-poll-loop,"
	@echo "              bench-iam, bench-cost (the monthly bill of one pipeline), bench-sync-lag, bench-state-dir"

setup: $(VENV)/.installed node_modules/.installed

# The lock first (every distribution pinned and hashed, the build backend setuptools included), then the project
# itself, editable, built with that setuptools and without resolving anything again: its console script
# (sagemaker-retraining) and its packages on the virtualenv's path.
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

$(SCAN_VENV)/.installed: requirements-scan.lock
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-scan.lock
	touch $@

sdk: $(SDK_VENV)/.installed $(SDK3_VENV)/.installed

$(SDK_VENV)/.installed: requirements-sdk.lock
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-sdk.lock
	touch $@

$(SDK3_VENV)/.installed: requirements-sdk3.lock
	$(PYTHON) -m venv $(SDK3_VENV)
	$(SDK3_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-sdk3.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# uv resolves for the oldest Python we support and keeps the pins already in the lock unless pyproject.toml moves
# them; the Lambda layer's lock is resolved for the functions' runtime and platform (stacks/layer_lock.py).
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra local --group dev --python-version 3.11 \
		--generate-hashes --quiet --no-header --output-file requirements.lock
	$(BIN)/uv pip compile --group pyproject.toml:scan --python-version 3.11.5 \
		--generate-hashes --quiet --no-header --output-file requirements-scan.lock
	$(BIN)/uv pip compile --group pyproject.toml:sdk --python-version 3.11 \
		--generate-hashes --quiet --no-header --output-file requirements-sdk.lock
	$(BIN)/uv pip compile --group pyproject.toml:sdk3 --python-version 3.11 \
		--generate-hashes --quiet --no-header --output-file requirements-sdk3.lock
	$(BIN)/python -m stacks.layer_lock

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py contract stacks statemachine lambdas local_runtime operator_cli demo bench
	$(BIN)/pytest --quiet --no-header -p no:cacheprovider -n 0 tests/unit/test_import_rules.py

# The scanner's and the SDK's virtualenvs first: the compliance tests run checkov on the synthesized templates, and
# tests/sdk/ run the SageMaker Python SDK against the local runtime.
test: lint $(SCAN_VENV)/.installed $(SDK_VENV)/.installed $(SDK3_VENV)/.installed
	$(BIN)/pytest

# docs/reliability.md lists the tests marked `reliability`; a test fails when it is stale.
reliability-report: $(VENV)/.installed
	$(BIN)/pytest --collect-only -q --write-reliability-report > /dev/null

# docs/compatibility.md: local_runtime/compatibility.py's entries with the tests marked `compatibility` that prove them.
compatibility-report: $(VENV)/.installed
	$(BIN)/pytest --collect-only -q --write-compatibility-report > /dev/null

# docs/workflow.svg and .png carry the hash of the DOT drawn from the ASL; a test fails when they are stale.
picture: $(VENV)/.installed
	$(BIN)/python -m statemachine.picture

# schema/pipelines.schema.json is generated from the config's models; a test fails when it is stale.
schema: $(VENV)/.installed
	$(BIN)/python -m stacks.config.schema

# The local runtime needs only the virtualenv: the app is synthesized in-process, without npm or the CDK CLI.
demo: $(VENV)/.installed
	$(BIN)/python -m local_runtime demo

serve: $(VENV)/.installed
	$(BIN)/python -m local_runtime serve --port $(PORT) $(if $(CONFIG),--config-file $(CONFIG)) \
		$(if $(STATE_DIR),--state-dir $(STATE_DIR)) $(if $(WATCH),--watch)

# Each benchmark prints its figures and whether they meet their targets; `bench` runs them all, even past a miss.
BENCHMARKS := check_data_cost cold_start build_time demo_time poll_loop iam_overhead evaluation_cost monthly_cost \
	sync_lag state_dir

bench: setup
	@status=0; for benchmark in $(BENCHMARKS); do \
		echo "== $(BIN)/python -m bench.$$benchmark"; $(BIN)/python -m bench.$$benchmark || status=1; echo; \
	done; exit $$status

bench-check-data: $(VENV)/.installed
	$(BIN)/python -m bench.check_data_cost

bench-cold-start: $(VENV)/.installed
	$(BIN)/python -m bench.cold_start

bench-build: setup
	$(BIN)/python -m bench.build_time

bench-demo: $(VENV)/.installed
	$(BIN)/python -m bench.demo_time

bench-poll-loop: $(VENV)/.installed
	$(BIN)/python -m bench.poll_loop

bench-iam: setup
	$(BIN)/python -m bench.iam_overhead

bench-cost: $(VENV)/.installed
	$(BIN)/python -m bench.monthly_cost

bench-sync-lag: $(VENV)/.installed
	$(BIN)/python -m bench.sync_lag

bench-state-dir: $(VENV)/.installed
	$(BIN)/python -m bench.state_dir

synth: setup
	npx cdk synth --quiet

deploy: setup
	npx cdk deploy --all

diff: setup
	npx cdk diff --all

destroy: setup
	npx cdk destroy --all

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
