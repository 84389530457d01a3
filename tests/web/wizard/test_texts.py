"""The wizard's words for outcomes, in the order a merchant reads a summary."""

from koppel.web.wizard import texts


def test_a_summary_names_what_would_be_sent_before_what_would_park() -> None:
    counted = texts.counted({"needs_attention": 2, "would_send": 8, "skipped": 1})
    assert [(str(label), number) for label, number in counted] == [
        ("would send", 8), ("skipped", 1), ("parked: needs attention", 2)]
