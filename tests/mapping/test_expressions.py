import os
import resource
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.mapping.expressions import ExpressionError, check_expression, evaluate_expression
from koppel.settings import get_settings

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


@pytest.mark.slow  # kills every evaluator of the pool and starts them again: seconds of CPU
def test_every_evaluator_killed_at_once_leaves_the_pool_usable():
    from concurrent.futures import ThreadPoolExecutor

    runaway = "$sum([1..9999999])"  # one built-in step: only the parent's deadline stops it
    size = get_settings().expression_workers
    with ThreadPoolExecutor(max_workers=size + 2) as pool:
        errors = list(pool.map(lambda _: _error_of(runaway, timeout_ms=50), range(size + 2)))
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


# ---- sharing the evaluators: the web and the worker first, no caller takes them all -------------------------

# a built-in loop of ten billion steps: it burns its CPU budget whatever the machine, until the test ends it
ENDLESS = "$sum([1..100000].($count([1..100000])))"


@pytest.fixture
def pools(monkeypatch):
    """Evaluator pools of their own for a test (flows: 1; dashboard: 1 kept, at most 2, 1 per caller), closed
    after it; `held(...)` keeps evaluators busy with ENDLESS until the test ends."""
    from koppel.mapping import expressions

    made = expressions._Pools(
        flows=expressions._Pool(keep=1, cap=1, waits=True),
        dashboard=expressions._Pool(keep=1, cap=2, waits=False, share=1, ahead=True),
    )
    monkeypatch.setattr(expressions, "_POOLS", made)
    yield made
    made.flows.close()
    made.dashboard.close()


def hold(pool, within: AbstractContextManager = nullcontext()) -> threading.Thread:
    """A thread evaluating ENDLESS in `pool` (inside `within`, e.g. evaluating_for a caller); returns once its
    child is busy with it."""

    def run() -> None:
        with within:
            _error_of(ENDLESS, timeout_ms=600_000)

    busy = len(pool._busy)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while len(pool._busy) == busy and thread.is_alive():  # the child started and took the request
        time.sleep(0.01)
    return thread


def end(pool, threads: list[threading.Thread]) -> None:
    for child in list(pool._busy):
        child.process.kill()
    for thread in threads:
        thread.join()


def nice_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[16])  # field 19 of stat(5), after "pid (comm)"


def test_the_evaluators_run_at_the_lowest_priority_and_this_process_does_not(pools):
    from koppel.mapping.expressions import NICENESS, evaluating_for

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert evaluate_expression("1 + 1", {}) == 2
    with evaluating_for("workspace 1"):
        assert evaluate_expression("2 + 2", {}) == 4
    children = pools.flows._idle + pools.dashboard._idle
    assert len(children) >= 2
    assert NICENESS == 19
    assert [nice_of(child.process.pid) for child in children] == [19] * len(children)
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours


def test_a_caller_beyond_its_share_is_refused_at_once_while_another_is_evaluated(pools):
    from koppel.mapping.expressions import EvaluatorBusy, evaluating_for

    held = [hold(pools.dashboard, evaluating_for("workspace 1"))]  # its share: 1
    try:
        with evaluating_for("workspace 1"), pytest.raises(EvaluatorBusy, match="an expression of yours") as refused:
            evaluate_expression('"harmless"', {})
        assert refused.value.yours
        with evaluating_for("workspace 2"):
            assert evaluate_expression('"Koppel " & n', {"n": "7"}) == "Koppel 7"
        assert held[0].is_alive()  # answered while workspace 1's expression still burns
        held.append(hold(pools.dashboard, evaluating_for("workspace 2")))  # both dashboard evaluators (its cap) busy
        with evaluating_for("workspace 3"), pytest.raises(EvaluatorBusy, match="every expression evaluator") as full:
            evaluate_expression('"harmless"', {})
        assert not full.value.yours
        # a flow is never refused: it has evaluators of its own
        assert evaluate_expression("n * 2", {"n": 21}) == 42
    finally:
        end(pools.dashboard, held)
    with evaluating_for("workspace 1"):  # its share is free again
        assert evaluate_expression("1 + 1", {}) == 2


def test_a_flow_waits_for_a_busy_evaluator_and_is_answered_not_refused(pools):
    held = hold(pools.flows)  # the flows' only evaluator
    events: list[str] = []
    answers: list[object] = []

    def flow() -> None:
        answers.append(evaluate_expression("n * 2", {"n": 21}))
        events.append("answered")

    waiting = threading.Thread(target=flow)
    waiting.start()
    while not pools.flows._changed._waiters and waiting.is_alive():  # it waits for the evaluator (no refusal, no error)
        time.sleep(0.01)
    events.append("evaluator freed")
    end(pools.flows, [held])
    waiting.join()
    assert answers == [42]
    assert events == ["evaluator freed", "answered"]


def test_an_evaluator_that_ends_the_runaway_leaves_the_callers_share_free(pools):
    from koppel.mapping.expressions import evaluating_for

    with evaluating_for("workspace 1"):
        assert "time limit" in _error_of(PATHOLOGICAL_PICTURE, timeout_ms=200)
        assert "memory" in _error_of('$pad("x", 1e9)')
        assert evaluate_expression('"ok"', {}) == "ok"
    assert not pools.dashboard._in_flight
