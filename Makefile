# Everything runs inside .venv (the newest Airflow minor), built from pinned versions on first
# use; each older minor the provider installs on has a .venv-<minor> of its own, from
# requirements/constraints-<minor>.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
NEWEST := 3.3
OLDER := 3.0 3.1 3.2
# The older minor whose deployment (scheduler, triggerer, workers) the tests also run.
DEPLOYED_OLDER := 3.1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint docs demo bench stress stress-e2e stress-inbound stress-approvals stress-celery deploy-test clean tiers-$(NEWEST) test-older

venv: $(STAMP)

$(STAMP): pyproject.toml sandbox/pyproject.toml requirements/constraints-$(NEWEST).txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints-$(NEWEST).txt -e '.[test,bench,docs]' -e ./sandbox
	touch $(STAMP)

# Kept: make would otherwise delete a pattern rule's stamp as an intermediate file.
.PRECIOUS: $(VENV)-%/.installed
$(VENV)-%/.installed: pyproject.toml sandbox/pyproject.toml requirements/constraints-%.txt
	$(PYTHON) -m venv $(VENV)-$*
	$(VENV)-$*/bin/pip install --quiet --upgrade pip
	$(VENV)-$*/bin/pip install --quiet -c requirements/constraints-$*.txt -e '.[test]' -e ./sandbox
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site (mkdocs.yml, docs/), in strict mode: a broken link or a page
# missing from the nav fails it. Output in site/ (git-ignored).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet --site-dir site

# Every tier on the newest minor, the unit and integration tiers on each older one: first the
# tiers that need no deployment, all minors at once (they mostly wait on the sandbox and on
# Airflow's processes; each run has a temp dir of its own, where a host's rate slots live),
# then the deployed Airflow (see docs/compatibility.md).
test: lint docs
	$(MAKE) -j3 $(addprefix $(VENV)-,$(addsuffix /.installed,$(OLDER)))
	$(MAKE) --output-sync=target -j4 tiers-$(NEWEST) $(addprefix tiers-,$(OLDER))
	$(BIN)/pytest -p no:cacheprovider $(DEPLOYED_TESTS)

# The tests that run a deployed Airflow.
DEPLOYED_TESTS := tests/e2e/test_deployed.py tests/e2e/test_deployed_approvals.py \
	tests/e2e/test_deployed_celery.py tests/e2e/test_connection_form.py

tiers-$(NEWEST): $(STAMP)
	TMPDIR=$$(mktemp -d) $(BIN)/pytest -p no:cacheprovider $(addprefix --ignore=,$(DEPLOYED_TESTS))

# The `airflow dags test` tier and the deployment on the older minors: `make test-older`.
tiers-%: $(VENV)-%/.installed
	TMPDIR=$$(mktemp -d) $(VENV)-$*/bin/pytest -p no:cacheprovider tests/unit tests/integration

test-older: $(addprefix $(VENV)-,$(addsuffix /.installed,$(OLDER)))
	$(foreach m,$(OLDER),TMPDIR=$$(mktemp -d) $(VENV)-$(m)/bin/pytest -p no:cacheprovider tests/e2e \
		$(addprefix --ignore=,$(DEPLOYED_TESTS)) &&) true
	$(VENV)-$(DEPLOYED_OLDER)/bin/pytest -p no:cacheprovider tests/e2e/test_deployed.py \
		-k "inbound or killed"

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# A deployed Airflow (PostgreSQL, scheduler, API server, DAG processor, triggerer) against
# the sandbox: with LocalExecutor, and with CeleryExecutor on two worker hosts (a Redis broker;
# run as root: each host is a namespace of its own); also part of `make test`.
deploy-test: $(STAMP)
	$(BIN)/pytest tests/e2e/test_deployed.py tests/e2e/test_deployed_approvals.py \
		tests/e2e/test_deployed_celery.py

# Not in CI: the killed-try send 20 times in a row, counting duplicates (goal: 0).
stress: $(STAMP)
	$(BIN)/python scripts/stress.py --runs 20

# Not in CI: the exactly-once e2e tests (kills, timeouts, listings Bird might give) and the
# inbound ones (watchers on the shared stream, replies) 20 times in a row; the first failing
# run stops it.
stress-e2e: $(STAMP)
	for run in $$(seq 20); do \
		echo "run $$run of 20"; \
		$(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_exactly_once.py tests/e2e/test_mms_files.py \
			tests/e2e/test_replies.py tests/integration/test_inbound_trigger.py || exit 1; \
	done

# Not in CI: the inbound tests alone 20 times, and the deployed triggerer kill 5 times.
stress-inbound: $(STAMP)
	for run in $$(seq 20); do \
		echo "run $$run of 20"; \
		$(BIN)/pytest -q -p no:cacheprovider tests/integration/test_inbound_trigger.py \
			tests/e2e/test_replies.py || exit 1; \
	done
	for run in $$(seq 5); do \
		echo "deployed run $$run of 5"; \
		$(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_deployed.py -k inbound -s || exit 1; \
	done

# Not in CI: the SMS approvals in the deployed Airflow 5 times in a row (answers racing the
# trigger, a try killed while Bird's answer is on its way).
stress-approvals: $(STAMP)
	for run in $$(seq 5); do \
		echo "deployed run $$run of 5"; \
		$(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_deployed_approvals.py -s || exit 1; \
	done

# Not in CI: the CeleryExecutor deployment 5 times in a row (the rate near Bird's bound on two
# hosts, a worker host killed mid-send).
stress-celery: $(STAMP)
	for run in $$(seq 5); do \
		echo "deployed run $$run of 5"; \
		$(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_deployed_celery.py -s || exit 1; \
	done

clean:
	rm -rf $(VENV) $(addprefix $(VENV)-,$(OLDER)) .demo .artifacts site
