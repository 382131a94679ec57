"""The GitHub workflows, checked offline: schema, zizmor, and the pipeline's promises."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


# Every job that runs in a GitHub environment (and so assumes a role and reads a stack's secrets),
# as <workflow>/<job>/<environment>, one per matrix entry: tests/test_bootstrap.py checks the same.
ENVIRONMENT_JOBS = (
    "pull-request/preview/dev-preview",
    "pull-request/preview/prod-preview",
    "deploy/dev/dev",
    "deploy/plan-prod/prod-read",
    "deploy/prod/prod",
    "drift/detect/dev-preview",
    "drift/detect/prod-read",
    "review/deploy/review",
    "review/destroy/review",
    "review-sweep/sweep/review",
)


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_workflows_validate_against_the_github_workflow_schema():
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_reports_no_medium_or_high_finding():
    result = subprocess.run(
        [BIN / "zizmor", "--offline", "--min-severity", "medium", "--format", "plain", *WORKFLOWS],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_sha_with_its_version(path):
    uses = re.findall(r"uses:\s*(\S+)(.*)", path.read_text())
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.search(r"#\s*v\d+\.\d+\.\d+", comment), f"{ref} has no version comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_empty_at_the_top_and_widened_per_job(path):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        permissions = job["permissions"]
        assert permissions.get("contents") == "read", name
        assert set(permissions) <= {"contents", "id-token", "pull-requests", "issues"}, name
        # Writing issues is the drift report's job alone, and that job holds no AWS role.
        assert ("issues" in permissions) == (path.name == "drift.yml" and name == "report"), name
        uses_aws = any("configure-aws-credentials" in step.get("uses", "") for step in job["steps"])
        assert (permissions.get("id-token") == "write") == uses_aws, name


def test_pull_requests_preview_both_stacks_and_comment():
    workflow = load("pull-request.yml")
    preview = workflow["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["include"] == [
        {"stack": "dev", "environment": "dev-preview"},
        {"stack": "prod", "environment": "prod-preview"},
    ]
    assert preview["environment"] == "${{ matrix.environment }}"
    pulumi = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True and pulumi["with"]["diff"] is True
    assert preview["permissions"]["pull-requests"] == "write"
    # Then the list of what the change replaces or deletes, from the engine's JSON, as a comment of its own.
    run = "\n".join(step.get("run", "") for step in preview["steps"])
    assert 'pulumi preview --stack "$STACK" --json' in run and ".github/scripts/changes.py" in run
    assert "gh pr comment" in run and "issues/comments/$id" in run


def test_deploy_runs_dev_then_approved_prod_one_at_a_time_with_smoke_checks():
    jobs = load("deploy.yml")["jobs"]
    assert jobs["dev"]["needs"] == "test" and jobs["prod"]["needs"] == ["dev", "plan-prod"]
    # Before the approval: what deploying prod replaces or deletes, in the run's summary.
    assert jobs["plan-prod"]["needs"] == "dev" and jobs["plan-prod"]["environment"] == "prod-read"
    plan = "\n".join(step.get("run", "") for step in jobs["plan-prod"]["steps"])
    assert "pulumi preview" in plan and "--json" in plan and ".github/scripts/changes.py prod" in plan
    assert '>> "$GITHUB_STEP_SUMMARY"' in plan
    assert jobs["prod"]["environment"] == "prod"
    for stack in ("dev", "prod"):
        job = jobs[stack]
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}
        assert job["env"]["STACK"].endswith(f"|| '{stack}' }}}}")  # <org>/<stack> or <stack>
        up = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@") and "with" in s)
        assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "${{ env.STACK }}"
        smoke = job["steps"][-1]
        assert smoke["run"].startswith('.venv/bin/python -m smoke --stack "$STACK"')


def test_no_long_lived_aws_keys_anywhere():
    for path in WORKFLOWS:
        text = path.read_text()
        assert "AWS_ACCESS_KEY_ID" not in text and "aws-access-key-id" not in text


def _pulumi_steps(workflow: str) -> list[tuple[str, dict, int, list[dict]]]:
    return [
        (name, step, i, job["steps"])
        for name, job in load(workflow)["jobs"].items()
        for i, step in enumerate(job["steps"])
        if step.get("uses", "").startswith("pulumi/actions@") and "with" in step
    ]


@pytest.mark.parametrize("workflow", ["pull-request.yml", "deploy.yml"])
def test_previews_and_deploys_run_the_policy_pack_with_its_dependencies_installed(workflow):
    steps = _pulumi_steps(workflow)
    assert len(steps) == (1 if workflow == "pull-request.yml" else 2)
    for job, step, index, all_steps in steps:
        assert step["with"]["policyPacks"] == "policy", job
        assert "pip install --quiet -r policy/requirements.txt" in all_steps[index - 1]["run"], job
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def test_drift_runs_daily_and_on_demand_a_refresh_preview_per_stack_with_the_preview_role():
    workflow = load("drift.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"][0]["cron"].endswith("* * *") and "workflow_dispatch" in triggers
    detect = workflow["jobs"]["detect"]
    assert detect["strategy"]["matrix"]["include"] == [
        {"stack": "dev", "environment": "dev-preview"},
        {"stack": "prod", "environment": "prod-read"},
    ]
    assert detect["permissions"] == {"contents": "read", "id-token": "write"}
    aws = next(s for s in detect["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"  # the environment's: a preview role
    preview = next(s for s in detect["steps"] if "pulumi preview" in s.get("run", ""))
    assert "--refresh --expect-no-changes --diff" in preview["run"]
    report = workflow["jobs"]["report"]
    assert report["needs"] == "detect" and report["permissions"] == {"contents": "read", "issues": "write"}
    assert not any("configure-aws-credentials" in s.get("uses", "") for s in report["steps"])


def _module(path: str, name: str):
    """A script of the repository, loaded as a module (registered, so dataclasses find it)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _drift():
    return _module(".github/scripts/drift.py", "drift")


def test_drift_tells_a_drifted_stack_from_a_clean_one_and_from_a_failed_preview():
    drift = _drift()
    assert drift.classify(0, "Resources:\n    12 unchanged") == "clean"
    assert (
        drift.classify(255, "  ~ 1 to update\nerror: no changes were expected but changes were proposed") == "drifted"
    )
    assert drift.classify(255, "no changes were expected for preview but changes were proposed") == "drifted"
    assert drift.classify(255, "error: could not assume role") == "error"


def test_drift_issue_body_keeps_the_diff_without_colours_and_within_githubs_limit():
    drift = _drift()
    diff = (
        "\x1b[33m~ aws:lb/loadBalancer:LoadBalancer: (update)\x1b[0m\n  ~ idleTimeout: 60 => 120\n  password: [secret]"
    )
    body = drift.body("prod", diff, "https://github.com/o/r/actions/runs/1")
    assert "~ aws:lb/loadBalancer:LoadBalancer: (update)\n  ~ idleTimeout: 60 => 120" in body
    assert "\x1b" not in body and "[secret]" in body and "pulumi up -s prod" in body
    assert len(drift.body("prod", "x" * 200_000, "u")) < 65_536
    assert drift.title("prod") == "Drift detected in stack prod" != drift.title("dev")


def test_drift_opens_updates_and_closes_one_issue_per_stack(tmp_path, monkeypatch):
    drift = _drift()
    calls: list[tuple[str, ...]] = []
    open_issues = {"Drift detected in stack prod": 7}

    def gh(*args: str) -> str:
        calls.append(args)
        if args[:2] == ("issue", "list"):
            return json.dumps([{"number": n, "title": t} for t, n in open_issues.items()])
        return ""

    monkeypatch.setattr(drift, "_gh", gh)
    for stack, status in (("dev", "drifted"), ("prod", "drifted")):
        (tmp_path / f"{stack}.json").write_text(json.dumps({"stack": stack, "status": status, "output": "~ x"}))
    drift.report(tmp_path, "run")
    actions = [c[:2] + ((c[2],) if c[1] == "edit" else ()) for c in calls if c[1] != "list"]
    assert actions == [("issue", "create"), ("issue", "edit", "7")]  # dev opened, prod's issue updated

    calls.clear()
    (tmp_path / "dev.json").unlink()
    (tmp_path / "prod.json").write_text(json.dumps({"stack": "prod", "status": "clean", "output": ""}))
    drift.report(tmp_path, "run")
    assert [c[:3] for c in calls if c[1] != "list"] == [("issue", "close", "7")]

    calls.clear()
    (tmp_path / "prod.json").write_text(json.dumps({"stack": "prod", "status": "error", "output": "boom"}))
    drift.report(tmp_path, "run")
    assert [c for c in calls if c[1] != "list"] == []  # a failed preview touches no issue


def test_pull_requests_price_base_and_head_of_both_stacks_side_by_side_in_one_comment():
    cost = load("pull-request.yml")["jobs"]["cost"]
    assert cost["needs"] == "test"
    assert cost["permissions"] == {"contents": "read", "pull-requests": "write"}  # no AWS role: mocks only
    run = "\n".join(step.get("run", "") for step in cost["steps"])
    assert 'git worktree add --detach "$RUNNER_TEMP/base" "$BASE_SHA"' in run
    assert "for stack in dev prod" in run and "-m costs compare" in run
    assert run.count("<!-- lambda-alb-cost -->") == 2  # written into the comment, and how it is found again


def _bootstrap_access():
    return _module("bootstrap/access.py", "bootstrap_access")


def _job_runs(job: dict) -> list[tuple[str, str]]:
    """(environment, stack) per run of a job: a matrix's entries, else the job itself."""
    entries = job.get("strategy", {}).get("matrix", {}).get("include") or [{}]
    runs = []
    for entry in entries:
        environment = str(job.get("environment", "")).replace("${{ matrix.environment }}", entry.get("environment", ""))
        stack_expression = job.get("env", {}).get("STACK", "")
        stack = entry.get("stack") or next((s for s in ("dev", "prod") if f"'{s}'" in stack_expression), "")
        if not stack and str(job.get("environment")) == "review":
            stack = "review"  # the review workflows work on pull requests' stacks
        runs.append((environment, stack))
    return runs


def test_no_job_reaches_a_stacks_secrets_outside_that_stacks_environments():
    """Each stack's passphrase or token is an environment secret (docs/delivery.md). A job reads
    secrets only in an environment of the stack it works on, and prod's environments each need an
    approval or run on main only: no branch or pull request reaches prod's secrets unapproved."""
    access = _bootstrap_access()
    environments = {e.name: e for e in access.ENVIRONMENTS}
    assert all(e.reviewers or e.main_only for e in access.ENVIRONMENTS if e.stack == "prod")
    assert all(e.main_only for e in access.ENVIRONMENTS if e.role.startswith("deploy-"))
    reading = []
    for path in WORKFLOWS:
        text = path.read_text()
        assert "pull_request_target" not in text and "secrets: inherit" not in text, path.name
        for name, job in yaml.safe_load(text)["jobs"].items():
            secrets = set(re.findall(r"secrets\.(\w+)", json.dumps(job))) - {"GITHUB_TOKEN"}
            if not secrets:
                continue
            for environment, stack in _job_runs(job):
                assert environment in environments, f"{path.name} {name} reads {secrets} outside an environment"
                assert environments[environment].stack == stack, f"{path.name} {name}: {environment} is not {stack}'s"
                reading.append(f"{path.stem}/{name}/{environment}")
    assert sorted(reading) == sorted(ENVIRONMENT_JOBS)


def test_delivery_md_names_every_environment_with_its_protection():
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    for environment in _bootstrap_access().ENVIRONMENTS:
        row = next((line for line in delivery.splitlines() if line.startswith(f"| `{environment.name}` |")), "")
        assert row, environment.name
        assert ("main only" in row) == environment.main_only, row
        assert ("required reviewers" in row) == environment.reviewers, row
        assert f"`ci-lambda-alb-{environment.role}`" in row, row


def _pending():
    return _module(".github/scripts/pending.py", "pending")


def test_an_interrupted_deploy_stops_the_next_with_the_commands_that_resolve_it(capsys):
    pending = _pending()
    fixture = ROOT / "tests" / "data" / "pending" / "interrupted.json"
    with fixture.open() as stdin:
        assert pending.main(["prod"], stdin) == 1
    out = capsys.readouterr().out
    assert "2 pending operation(s)" in out
    assert "- creating aws:cloudwatch/logGroup:LogGroup lambda-alb-prod-fn-logs" in out
    # Adopted under the URN the program registers (a plain `pulumi import` would make a top-level copy).
    urn = "urn:pulumi:prod::lambda-alb::lambda-alb:components:LambdaAlbService$aws:cloudwatch/logGroup:LogGroup"
    assert (
        f"pulumi refresh --stack prod --yes --import-pending-creates '{urn}::lambda-alb-prod-fn-logs' <its id>" in out
    )
    assert "named '/aws/lambda/lambda-alb-prod'" in out
    assert "pulumi refresh --stack prod --yes --clear-pending-creates" in out
    # A release cut off: nothing to adopt, the deployment CodeDeploy may still run instead.
    release = {"type": "creating", "resource": {"urn": f"{urn}::lambda-alb-prod-release", "type": pending.DYNAMIC,
               "inputs": {"application": "lambda-alb-prod", "deployment_group": "lambda-alb-prod"}}}  # fmt: skip
    said = "\n".join(pending.commands("prod", [release]))
    assert "--import-pending-creates" not in said and "--clear-pending-creates" in said
    assert (
        "aws deploy list-deployments --application-name lambda-alb-prod --deployment-group-name lambda-alb-prod" in said
    )
    assert "pulumi cancel --stack prod" in out
    clean = json.loads(fixture.read_text())
    del clean["deployment"]["pending_operations"]
    import io

    assert pending.main(["prod"], io.StringIO(json.dumps(clean))) == 0


def test_each_deploy_checks_for_pending_operations_before_pulumi_up():
    for stack in ("dev", "prod"):
        steps = load("deploy.yml")["jobs"][stack]["steps"]
        names = [s.get("name", s.get("uses", "")) for s in steps]
        check = names.index("stop on an interrupted deploy's pending operations")
        up = next(i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "up")
        assert check < up and steps[check]["shell"] == "bash"  # bash -eo pipefail: a failed export fails
        assert ".github/scripts/pending.py" in steps[check]["run"]


def _changes():
    return _module(".github/scripts/changes.py", "changes")


def test_the_preview_says_in_words_what_a_change_replaces_or_deletes():
    changes = _changes()
    digest = json.loads((ROOT / "tests" / "data" / "preview" / "replace-and-delete.json").read_text())
    text = changes.render("prod", digest)
    assert text.startswith("<!-- lambda-alb-changes:prod -->\n### `prod`: what this change replaces, deletes or adopts")
    found = changes.lines(digest)
    assert len(found) == 5  # one line per resource, however many steps its replacement takes
    assert found[0].startswith(
        "- **replaces** LoadBalancer lambda-alb-prod-lb (lambda-alb-prod-lb-1a2b3c4) "
        "(because of `internal`): its DNS name changes"
    )
    assert "(because of a replaced dependency)" in found[1]
    assert found[2] == (
        "- **deletes** LogGroup lambda-alb-prod-waf-logs (aws-waf-logs-lambda-alb-prod); kept in AWS "
        "with its log events (retained)"
    )
    assert found[3].endswith("; **deletes the access-log objects in it**")
    assert not any("memorySize" in line or "Role" in line for line in found)  # updates and the unchanged: not here
    # A kept log group coming back is adopted (an import step), with its events.
    urn = "urn:pulumi:prod::lambda-alb::lambda-alb:components:LambdaAlbService$aws:cloudwatch/logGroup:LogGroup::x"
    state = {"type": "aws:cloudwatch/logGroup:LogGroup", "inputs": {"name": "aws-waf-logs-lambda-alb-prod"}}
    adopted = changes.lines({"steps": [{"op": "import", "urn": urn, "newState": state}]})
    assert adopted == ["- **adopts** LogGroup x (aws-waf-logs-lambda-alb-prod): it exists in AWS (kept from before), "
                       "with its log events"]  # fmt: skip
    nothing = json.loads((ROOT / "tests" / "data" / "preview" / "no-changes.json").read_text())
    assert "Nothing: every change is a create or an update in place." in changes.render("dev", nothing)


def test_a_review_stack_deploys_from_this_repositorys_labelled_pull_requests_one_run_at_a_time():
    workflow = load("review.yml")
    assert workflow[True]["pull_request"]["types"] == ["opened", "reopened", "synchronize", "labeled", "closed"]
    assert workflow["concurrency"] == {"group": "review-${{ github.event.pull_request.number }}",
                                       "cancel-in-progress": False}  # fmt: skip
    deploy, destroy = workflow["jobs"]["deploy"], workflow["jobs"]["destroy"]
    guard = "github.event.pull_request.head.repo.full_name == github.repository"
    assert guard in deploy["if"] and guard in destroy["if"]  # forks: no token, no stack
    assert "github.event.action != 'closed'" in deploy["if"]
    assert "contains(github.event.pull_request.labels.*.name, vars.REVIEW_LABEL || 'review')" in deploy["if"]
    assert "github.event.action == 'closed'" in destroy["if"]
    assert deploy["environment"] == destroy["environment"] == "review"
    assert deploy["env"]["STACK_NAME"] == destroy["env"]["STACK_NAME"] == "pr${{ github.event.pull_request.number }}"
    run = "\n".join(step.get("run", "") for step in deploy["steps"])
    assert 'cp Pulumi.review.yaml "Pulumi.$STACK_NAME.yaml"' in run  # a new stack: the template
    assert 'pulumi config refresh --force --stack "$STACK"' in run  # an existing one: its salt back
    assert ".github/scripts/stackfile.py Pulumi.review.yaml" in run
    assert "-m smoke --stack" in run and "-m costs --stack" in run and "<!-- lambda-alb-review -->" in run
    up = next(s for s in deploy["steps"] if s.get("with", {}).get("command") == "up")
    assert up["with"]["policyPacks"] == "policy"
    gone = "\n".join(step.get("run", "") for step in destroy["steps"])
    assert 'pulumi config refresh --force --stack "$STACK"' in gone
    assert 'pulumi destroy --yes --non-interactive --remove --stack "$STACK"' in gone
    assert "nothing to destroy" in gone  # a pull request that never had a stack closes cleanly


def test_the_sweep_destroys_review_stacks_of_closed_or_old_pull_requests_and_nothing_else():
    sweep = _module(".github/scripts/sweep.py", "sweep")
    stacks = json.loads((ROOT / "tests" / "data" / "review" / "stacks.json").read_text())
    assert sweep.review_stacks(stacks) == {"pr12": 12, "pr13": 13, "pr14": 14, "acme/pr15": 15}
    from datetime import UTC, datetime

    states = {"12": "MERGED", "13": "OPEN", "14": "OPEN", "15": "CLOSED"}
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert sweep.plan(stacks, states, 7, now) == [
        ("pr12", "pull request #12 is merged"),
        ("pr14", "not deployed for more than 7 days"),
    ]  # pr13 is open and fresh; pr15 is being updated (the next sweep); dev, prod and preview are never review stacks
    workflow = load("review-sweep.yml")
    assert workflow[True]["schedule"][0]["cron"].endswith("* * *") and "workflow_dispatch" in workflow[True]
    job = workflow["jobs"]["sweep"]
    assert job["environment"] == "review" and job["permissions"]["pull-requests"] == "read"
    assert job["env"]["MAX_DAYS"] == "${{ vars.REVIEW_MAX_DAYS || '7' }}"
    assert "sweep.py plan" in job["steps"][-1]["run"] and '>> "$GITHUB_STEP_SUMMARY"' in job["steps"][-1]["run"]


def test_a_review_stacks_file_takes_the_templates_config_and_keeps_pulumis_salt(tmp_path):
    stackfile = _module(".github/scripts/stackfile.py", "stackfile")
    stack = tmp_path / "Pulumi.pr7.yaml"
    stack.write_text("encryptionsalt: v1:abc\nconfig:\n  lambda-alb:function: {memorySize: 1024}\n")
    assert stackfile.main([str(ROOT / "Pulumi.review.yaml"), str(stack)]) == 0
    written = yaml.safe_load(stack.read_text())
    assert written["encryptionsalt"] == "v1:abc"
    assert written["config"] == yaml.safe_load((ROOT / "Pulumi.review.yaml").read_text())["config"]
    fresh = tmp_path / "Pulumi.pr8.yaml"
    assert (
        stackfile.main([str(ROOT / "Pulumi.review.yaml"), str(fresh)]) == 0
        and "encryptionsalt" not in fresh.read_text()
    )
