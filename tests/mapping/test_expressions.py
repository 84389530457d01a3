import resource
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.mapping.expressions import POOL_SIZE, ExpressionError, check_expression, evaluate_expression

ORDER = {
    "order": {
        "number": "1042",
        "tax_strategy": "",
        "debtor": {"email": "Jan@Example.nl"},
        "orderlines": [{"quantity": 2, "price": {"rate": Decimal("21.00")}}, {"quantity": 1}],
    }
}


def test_evaluates_over_the_record():
    assert (
        evaluate_expression('order.number & "-" & $lowercase(order.debtor.email)', ORDER)
        == "1042-jan@example.nl"
    )
    assert evaluate_expression("$sum(order.orderlines.quantity)", ORDER) == 3
    assert evaluate_expression("order.orderlines.quantity", ORDER) == [2, 1]
    assert evaluate_expression("order.missing", ORDER) is None


def test_decimals_reach_expressions_as_strings():
    assert evaluate_expression("order.orderlines[0].price.rate", ORDER) == "21.00"


def test_regex_literals_run_on_re2():
    assert (
        evaluate_expression('$replace("Hoofdstraat 12A", /(\\d+)([A-Z])/, "$1 $2")', {}) == "Hoofdstraat 12 A"
    )
    assert evaluate_expression('$contains("ABC", /b/i)', {}) is True
    assert evaluate_expression('$split("a, b,c", /,\\s*/)', {}) == ["a", "b", "c"]
    # catastrophic backtracking in a backtracking engine; linear in RE2 (well inside a 1 s limit)
    assert evaluate_expression("$contains(text, /(a+)+b/)", {"text": "a" * 50_000 + "c"}) is False


def test_patterns_re2_cannot_run_are_refused():
    with pytest.raises(ExpressionError, match="not supported by RE2"):
        check_expression('$match("x", /(?<=a)b/)')


def test_timeout_is_enforced():
    with pytest.raises(ExpressionError, match="ran longer than its time limit"):
        evaluate_expression("($loop := function($n){ $loop($n + 1) }; $loop(0))", {}, timeout_ms=100)


def test_recursion_depth_is_limited():
    with pytest.raises(ExpressionError, match="recursed deeper than its limit"):
        evaluate_expression("($f := function($n){ 1 + $f($n + 1) }; $f(0))", {})


def test_the_clock_starts_per_evaluation():
    # jsonata-python starts its timer when the expression is built; a reused one would time out later
    evaluate_expression("order.number", ORDER, timeout_ms=50)
    time.sleep(0.06)
    assert evaluate_expression("order.number", ORDER, timeout_ms=50) == "1042"


@pytest.mark.parametrize("text", ["order.(", "1 +", "{", "a" * 2001])
def test_bad_expressions_are_refused_before_they_run(text):
    with pytest.raises(ExpressionError):
        check_expression(text)


def test_no_python_and_no_environment():
    # JSONata has no functions for files, processes or environment variables, and we register none
    for text in ['$getenv("HOME")', '$import("os")', "$eval(\"$system('ls')\")"]:
        with pytest.raises(ExpressionError):
            evaluate_expression(text, {})
    # an unbound variable is undefined, never something from the process
    assert evaluate_expression("$environ", {}) is None
    assert evaluate_expression("$HOME", {}) is None


def test_what_one_record_binds_is_not_seen_by_the_next():
    # a parsed expression is reused: a variable bound at the top level must not outlive its record
    text = "order.number = '1042' ? $seen := 'yes' : $seen"
    assert evaluate_expression(text, ORDER) == "yes"
    assert evaluate_expression(text, {"order": {"number": "7"}}) is None


def test_a_failed_evaluation_leaves_no_depth_behind():
    # the depth counter of an evaluation that raised midway must not count against the next one
    deep = "($f := function($n){ $n > 40 ? $error('stop') : 1 + $f($n + 1) }; $f(0))"
    for _ in range(10):
        with pytest.raises(ExpressionError, match="stop"):
            evaluate_expression(deep, {}, max_depth=150)
    assert evaluate_expression("($f := function($n){ $n > 30 ? 0 : 1 + $f($n + 1) }; $f(0))", {}) == 31


def test_threads_evaluate_the_same_expression_each_on_its_own_record():
    from concurrent.futures import ThreadPoolExecutor

    text = "$string(order.number) & '-' & $string($count(order.lines))"
    records = [{"order": {"number": n, "lines": list(range(n % 7))}} for n in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda r: evaluate_expression(text, r), records))
    assert results == [f"{n}-{n % 7}" for n in range(200)]


# ---- hostile expressions: a runaway costs its record, never the process ------------------------------------

# jsonata-python turns a $toMillis picture into a regular expression that backtracks for ~10 s on this input,
# inside one built-in call the time limit can't interrupt
PATHOLOGICAL_PICTURE = '$toMillis($join([1..40].("1"), "") & "x", "[Y]" & $join([1..30].("[M]"), ""))'


def test_a_runaway_built_in_does_not_stall_other_threads():
    outcome: list[str] = []

    def runaway() -> None:
        try:
            evaluate_expression(PATHOLOGICAL_PICTURE, {})
            outcome.append("finished")
        except ExpressionError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=runaway)
    thread.start()
    answers = [evaluate_expression("n * 2", {"n": n}) for n in range(50)]
    still_running = thread.is_alive()
    thread.join()
    assert answers == [n * 2 for n in range(50)]
    assert still_running, "the other thread's 50 evaluations waited for the runaway"
    assert outcome and "time limit" in outcome[0]


def test_an_expression_asking_for_gigabytes_is_refused_and_the_process_does_not_grow():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ExpressionError, match="memory"):
        evaluate_expression('$pad("x", 1e9)', {})
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 100 * 1024
    assert evaluate_expression('$pad("x", 3)', {}) == "x  "  # the next record gets a healthy evaluator


def test_every_evaluator_killed_at_once_leaves_the_pool_usable():
    from concurrent.futures import ThreadPoolExecutor

    runaway = "$sum([1..9999999])"  # one built-in step: only the parent's deadline stops it
    with ThreadPoolExecutor(max_workers=POOL_SIZE + 2) as pool:
        errors = list(pool.map(lambda _: _error_of(runaway, timeout_ms=50), range(POOL_SIZE + 2)))
    assert all(errors), errors
    assert evaluate_expression("1 + 1", {}) == 2


def _error_of(text: str, **limits: int) -> str:
    try:
        evaluate_expression(text, {}, **limits)
    except ExpressionError as exc:
        return str(exc)
    return ""


def test_eval_is_refused_before_it_runs():
    for text in ['$eval("1 + 1")', '($e := $eval; $e("2"))']:
        with pytest.raises(ExpressionError, match=r"\$eval is not allowed"):
            check_expression(text)
        with pytest.raises(ExpressionError, match=r"\$eval is not allowed"):
            evaluate_expression(text, {})


def test_a_result_too_big_to_keep_is_refused():
    with pytest.raises(ExpressionError, match="at most"):
        evaluate_expression("$string([1..100000])", {})


def test_saving_runs_the_expression_on_sample_records_first():
    check_expression("$uppercase(order.number)", samples=[ORDER])
    with pytest.raises(ExpressionError, match="stop"):
        check_expression("order.number = '1042' ? $error('stop') : 1", samples=[{"order": {"number": "7"}}, ORDER])


def test_the_evaluator_gets_no_koppel_secrets(monkeypatch):
    from koppel.mapping import expressions

    monkeypatch.setenv("KOPPEL_SECRET_KEY", "do-not-leak")
    child = expressions._Child()
    try:
        environ = Path(f"/proc/{child.process.pid}/environ").read_bytes()
    finally:
        child.kill()
    assert b"do-not-leak" not in environ
