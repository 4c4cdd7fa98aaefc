"""The expression evaluator resolves what tfvars decide and refuses to guess what only apply knows."""

from loadgen.tf.expressions import UNKNOWN, Scope, evaluate, evaluate_value


def scope() -> Scope:
    return Scope(
        variables={"env": "prod", "shards": 8, "mode": "PROVISIONED", "sizes": {"a": 1, "b": 2}},
        locals_source={"prefix": '"tap-${var.env}"', "streams": {"gps": {"shards": "${var.shards}"}}},
    )


def test_references_arithmetic_and_conditionals_resolve():
    s = scope()
    assert evaluate("var.shards * 1000 * 0.8", s) == 6400
    assert evaluate('var.mode == "PROVISIONED" ? local.streams["gps"].shards : null', s) == 8
    assert evaluate("local.streams.gps.shards + 1", s) == 9


def test_templates_interpolate_and_unescape():
    s = scope()
    assert evaluate_value('"${local.prefix}-orders"', s) == "tap-prod-orders"
    assert evaluate_value('"say \\"hi\\" $${literal}"', s) == 'say "hi" ${literal}'


def test_functions_and_for_expressions():
    s = scope()
    assert evaluate('merge({a = 1}, {b = var.env})', s) == {"a": 1, "b": "prod"}
    assert evaluate("[for k, v in var.sizes : v * 2 if k != \"a\"]", s) == [4]
    assert evaluate("{for k, v in var.sizes : upper(k) => v}", s) == {"A": 1, "B": 2}
    assert evaluate('format("%s-%03d", var.env, 7)', s) == "prod-007"
    assert evaluate("max(1, var.shards, 3)", s) == 8


def test_what_only_apply_knows_stays_unknown():
    s = scope()
    assert evaluate("data.aws_region.current.name", s) is UNKNOWN
    assert evaluate('"${data.aws_caller_identity.current.account_id}-x"', s) is UNKNOWN
    assert evaluate("var.not_declared * 2", s) is UNKNOWN
    assert evaluate("try(var.not_declared.x, 5)", s) == 5
