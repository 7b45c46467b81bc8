# Everything runs inside .venv (the newest Airflow minor), built from pinned versions on first
# use; each older minor the provider installs on has a .venv-<minor> of its own, from
# requirements/constraints-<minor>.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
NEWEST := 3.3
OLDER := 3.0 3.1 3.2
# Airflow 2's last minor: no Task SDK, tasks that reach the metadata database.
AIRFLOW2 := 2.11
# The older minor whose deployment (scheduler, triggerer, workers) the tests also run.
DEPLOYED_OLDER := 3.1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint docs demo bench stress stress-e2e stress-inbound stress-approvals stress-celery deploy-test clean tiers-$(NEWEST) tiers-$(NEWEST)-e2e tiers-$(NEWEST)-e2e-long tiers-$(AIRFLOW2) test-older stress-cutoff

venv: $(STAMP)

$(STAMP): pyproject.toml sandbox/pyproject.toml requirements/constraints-$(NEWEST).txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints-$(NEWEST).txt -e . -e ./sandbox \
		--group test --group bench --group docs
	touch $(STAMP)

# Kept: make would otherwise delete a pattern rule's stamp as an intermediate file.
.PRECIOUS: $(VENV)-%/.installed
$(VENV)-%/.installed: pyproject.toml sandbox/pyproject.toml requirements/constraints-%.txt
	$(PYTHON) -m venv $(VENV)-$*
	$(VENV)-$*/bin/pip install --quiet --upgrade pip
	$(VENV)-$*/bin/pip install --quiet -c requirements/constraints-$*.txt -e . -e ./sandbox \
		--group test
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site (mkdocs.yml, docs/), in strict mode: a broken link or a page
# missing from the nav fails it. Output in site/ (git-ignored).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet --site-dir site

# Every tier on the newest minor; on each older one the unit and integration tiers and the
# `airflow dags test` tests that docs/compatibility.md names for its rows. First the tiers that
# need no deployment, all minors at once (they mostly wait on the sandbox and on Airflow's
# processes; each run has a temp dir of its own, where a host's rate slots live), then the
# deployed Airflow on the newest minor and on $(DEPLOYED_OLDER): a deployment per module, three
# side by side (they mostly wait on the sandbox's simulated network and on Airflow's
# processes), and last, alone, the sends measured against Bird's rate limit.
test: lint docs
	$(MAKE) -j4 $(addprefix $(VENV)-,$(addsuffix /.installed,$(OLDER) $(AIRFLOW2)))
	$(MAKE) --output-sync=target -j4 tiers-$(NEWEST)-e2e-long tiers-$(NEWEST)-e2e \
		tiers-$(NEWEST) $(addprefix tiers-,$(OLDER) $(AIRFLOW2))
	$(MAKE) --output-sync=target -j3 $(DEPLOYED_PARTS)
	$(BIN)/pytest -p no:cacheprovider $(DEPLOYED_RATE_TESTS)

# The tests that run a deployed Airflow, longest first.
DEPLOYED_TESTS := tests/e2e/test_deployed.py tests/e2e/test_deployed_celery.py \
	tests/e2e/test_deployed_approvals.py tests/e2e/test_deployed_webhooks.py \
	tests/e2e/test_connection_form.py
# Of those, the sends whose rate is measured: no other deployment may share the cores then.
DEPLOYED_RATE_TESTS := tests/e2e/test_deployed.py::test_four_mapped_tasks_share_the_workspace_limit \
	tests/e2e/test_deployed_celery.py::test_four_mapped_tasks_on_two_hosts_share_the_workspace_limit
# Of those, the ones run on $(DEPLOYED_OLDER) too, for what an older minor promises: the inbound
# watcher across a killed triggerer, a killed send.
DEPLOYED_OLDER_TESTS := \
	tests/e2e/test_deployed.py::test_each_inbound_sms_is_one_event_across_a_killed_triggerer \
	tests/e2e/test_deployed.py::test_a_task_killed_without_warning_is_retried_and_sends_each_recipient_once
# One part per module (a deployment each), and one on $(DEPLOYED_OLDER).
DEPLOYED_PARTS := $(patsubst tests/e2e/%.py,deployed-%,$(DEPLOYED_TESTS)) \
	deployed-$(DEPLOYED_OLDER)

.PHONY: $(DEPLOYED_PARTS)
$(filter-out deployed-$(DEPLOYED_OLDER),$(DEPLOYED_PARTS)): deployed-%: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider tests/e2e/$*.py \
		$(addprefix --deselect=,$(DEPLOYED_RATE_TESTS))

deployed-$(DEPLOYED_OLDER): $(VENV)-$(DEPLOYED_OLDER)/.installed
	$(VENV)-$(DEPLOYED_OLDER)/bin/pytest -p no:cacheprovider $(DEPLOYED_OLDER_TESTS)

# The `airflow dags test` tests behind the compatibility table's rows, run on every minor.
OLDER_DAGS_TESTS := tests/e2e/test_provider_cli.py tests/e2e/test_e2e_dags.py \
	tests/e2e/test_notifier_dag.py tests/e2e/test_approval_dags_test.py \
	tests/e2e/test_replies.py::test_sensors_defer_as_the_deployment_says_unless_told \
	tests/e2e/test_production.py::test_a_sends_metrics_equal_its_summary \
	tests/e2e/test_taskflow_sends.py \
	$(addprefix tests/e2e/test_exactly_once.py::,\
		test_tries_killed_by_execution_timeout_still_send_each_recipient_once \
		test_a_task_killed_without_warning_then_run_again_sends_each_recipient_once \
		test_answers_that_come_after_the_timeout_are_not_sent_again)

# On Airflow 2 the same, but the example DAGs (written for Airflow 3's `airflow.sdk`), and its
# own connection form (Flask AppBuilder) in the browser; MMS from files in `airflow dags test`.
AIRFLOW2_DAGS_TESTS := $(filter-out tests/e2e/test_e2e_dags.py,$(OLDER_DAGS_TESTS)) \
	tests/e2e/test_mms_files.py tests/e2e/test_connection_form_fab.py

# The newest minor's `airflow dags test` tier runs beside its unit and integration tiers: it
# mostly waits on Airflow's processes, and is the longest.
tiers-$(NEWEST): $(STAMP)
	TMPDIR=$$(mktemp -d) $(BIN)/pytest -p no:cacheprovider tests/unit tests/integration

# The newest minor's `airflow dags test` tier, in two halves of about the same length.
E2E_LONG := tests/e2e/test_exactly_once.py tests/e2e/test_send_at.py tests/e2e/test_install.py \
	tests/e2e/test_production.py tests/e2e/test_busy_channel.py

tiers-$(NEWEST)-e2e: $(STAMP)
	TMPDIR=$$(mktemp -d) $(BIN)/pytest -p no:cacheprovider tests/e2e \
		$(addprefix --ignore=,$(DEPLOYED_TESTS) $(E2E_LONG))

tiers-$(NEWEST)-e2e-long: $(STAMP)
	TMPDIR=$$(mktemp -d) $(BIN)/pytest -p no:cacheprovider $(E2E_LONG)

# The sandbox's own tests (it imports no Airflow) run on the newest minor only.
SANDBOX_TESTS := tests/unit/bird_sandbox tests/integration/bird_sandbox

tiers-$(AIRFLOW2): $(VENV)-$(AIRFLOW2)/.installed
	TMPDIR=$$(mktemp -d) $(VENV)-$(AIRFLOW2)/bin/pytest -p no:cacheprovider tests/unit \
		tests/integration $(addprefix --ignore=,$(SANDBOX_TESTS)) $(AIRFLOW2_DAGS_TESTS)

tiers-%: $(VENV)-%/.installed
	TMPDIR=$$(mktemp -d) $(VENV)-$*/bin/pytest -p no:cacheprovider tests/unit tests/integration \
		$(addprefix --ignore=,$(SANDBOX_TESTS)) $(OLDER_DAGS_TESTS)

# The rest of the `airflow dags test` tier on the older minors, one after another.
test-older: $(addprefix $(VENV)-,$(addsuffix /.installed,$(OLDER)))
	$(foreach m,$(OLDER),TMPDIR=$$(mktemp -d) $(VENV)-$(m)/bin/pytest -p no:cacheprovider tests/e2e \
		$(addprefix --ignore=,$(DEPLOYED_TESTS)) &&) true

# A send cut off by `execution_timeout` again and again (1,000 recipients), 5 runs in a row
# on every minor.
stress-cutoff: $(STAMP) $(addprefix $(VENV)-,$(addsuffix /.installed,$(OLDER) $(AIRFLOW2)))
	for venv in $(VENV) $(addprefix $(VENV)-,$(OLDER) $(AIRFLOW2)); do \
		for run in 1 2 3 4 5; do \
			echo "$$venv: run $$run of 5"; \
			$$venv/bin/pytest -q -p no:cacheprovider \
				tests/e2e/test_exactly_once.py::test_tries_killed_by_execution_timeout_still_send_each_recipient_once \
				|| exit 1; \
		done; \
	done

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# A deployed Airflow (PostgreSQL, scheduler, API server, DAG processor, triggerer) against
# the sandbox: with LocalExecutor (sends, inbound, approvals, webhooks, the connection form in
# a browser), and with CeleryExecutor on two worker hosts (a Redis broker; run as root: each
# host is a namespace of its own); also part of `make test`.
deploy-test: $(STAMP)
	$(BIN)/pytest $(DEPLOYED_TESTS)

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
