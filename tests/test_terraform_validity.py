"""terraform/ is valid without `terraform validate`: python-hcl2, the provider schema, terraform fmt, checkov."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import REPO, TERRAFORM
from loadgen.tf.hcl_reader import load_stack, stack_names
from loadgen.tf.provider_schema import check_blocks, load_schema
from loadgen.tf.stack_check import check_stack

DOMAIN_STACKS = ("property_maintenance", "fleet_telematics", "food_delivery")


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema()


def test_every_domain_stack_is_present_with_three_envs():
    assert set(DOMAIN_STACKS) <= set(stack_names(TERRAFORM))
    for name in DOMAIN_STACKS:
        stack = load_stack(TERRAFORM, name)
        assert sorted(stack.tfvars) == ["dev", "prod", "staging"]
        assert (stack.path / "provider.tf").exists()
        assert not list(stack.of_kind("provider")) or all(b.file.name == "provider.tf" for b in stack.of_kind("provider"))


@pytest.mark.parametrize("name", DOMAIN_STACKS)
def test_stack_has_no_parity_or_reference_findings(name):
    findings = check_stack(load_stack(TERRAFORM, name))
    assert [str(f) for f in findings] == []


@pytest.mark.parametrize("name", DOMAIN_STACKS)
def test_stack_matches_the_aws_provider_schema(name, schema):
    findings = check_blocks(load_stack(TERRAFORM, name).blocks, schema)
    assert [str(f) for f in findings] == []


def test_schema_check_reports_a_misspelled_argument(copied_terraform, schema):
    tf = copied_terraform / "food_delivery" / "tap_stack.tf"
    text = tf.read_text()
    assert "memory_size" in text
    tf.write_text(text.replace("memory_size", "memory_sise", 1))
    findings = check_blocks(load_stack(copied_terraform, "food_delivery").blocks, schema)
    assert len(findings) == 1
    assert "unknown argument 'memory_sise'" in findings[0].message
    assert findings[0].address.startswith("aws_lambda_function.")


def test_schema_check_reports_unknown_types_blocks_and_missing_required(tmp_path, schema):
    stack = tmp_path / "terraform" / "bad"
    stack.mkdir(parents=True)
    (stack / "tap_stack.tf").write_text(
        'resource "aws_sqs_queue" "q" {\n  redrive_policy {\n  }\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n}\n'
        'resource "aws_kinesis_streams" "s" {\n  name = "s"\n}\n'
        'resource "aws_dynamodb_table" "t" {\n  name = "t"\n  hash_key = "id"\n  attribute {\n    name = "id"\n  }\n}\n'
    )
    messages = {f"{f.address}: {f.message}" for f in check_blocks(load_stack(tmp_path / "terraform", "bad").blocks, schema)}
    assert messages == {
        "aws_sqs_queue.q: 'redrive_policy' is an argument, not a block; write `redrive_policy = ...`",
        "aws_lambda_function.f: missing required argument 'role'",
        "aws_kinesis_streams.s: unknown resource type 'aws_kinesis_streams' in AWS provider 5.99.1",
        "aws_dynamodb_table.t: missing required argument 'attribute.type'",
    }


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on PATH")
def test_terraform_fmt_accepts_every_file():
    result = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", "terraform"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def json_documents(text: str) -> list[dict]:
    """checkov's JSON output: one document per folder scanned (a list, or objects one after another)."""
    decoder, documents, text, at = json.JSONDecoder(), [], text.strip(), 0
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        documents += document if isinstance(document, list) else [document]
        at += len(text[at:]) - len(text[at:].lstrip())
    return documents


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov virtualenv not set up (bash .ci/setup)")
def test_checkov_finds_no_failed_check():
    folders = sorted(p for p in TERRAFORM.iterdir() if p.is_dir())  # every folder of terraform/, in two processes
    # scanned side by side (checkov scans one after another; two halves take about half the time on two cores)
    scans = [subprocess.Popen([str(CHECKOV), *(a for f in half for a in ("-d", str(f.relative_to(REPO)))),
                               "--framework", "terraform", "--skip-download", "--quiet", "--compact", "-o", "json"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for half in (folders[0::2], folders[1::2])]
    reports = []
    for scan in scans:
        out, err = scan.communicate(timeout=900)
        assert out.strip(), err
        reports += json_documents(out)
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range'][0]}"
              for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    assert failed == []
    assert sum(r.get("summary", {}).get("passed", 0) for r in reports) > 100
