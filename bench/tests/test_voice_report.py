"""bench/voice/report.py: the accuracy arithmetic of the voice benchmark."""
from bench.voice import report


def row(expected, code, confidence, condition="telephone", engine="flite", seconds=1.0):
    return {"expected": expected, "code": code, "confidence": confidence, "condition": condition, "engine": engine,
            "seconds": seconds, "cpu": seconds, "audio_seconds": 15.0, "id": "x", "text": ""}


def test_it_counts_confident_right_and_exact_codes_separately():
    rows = [row("1234", "1234", "confident"), row("5678", "5670", "confident"), row("4321", "4321", "uncertain"),
            row("8765", None, "none")]
    s = report.summary(rows)
    assert (s["calls"], s["confident"], s["confident_right"], s["exact"]) == (4, 2, 1, 2)
    assert (s["confident_share"], s["right_share"], s["exact_share"]) == (0.5, 0.5, 0.5)


def test_it_has_no_right_share_without_confident_codes_and_says_so():
    s = report.summary([row("1234", "1234", "uncertain")])
    assert s["right_share"] is None and report.percent(s["right_share"]) == "–"
    assert "❌" in report.targets([row("1234", "1234", "uncertain")])


def test_it_meets_the_targets_only_with_every_confident_code_right_and_three_quarters_confident():
    good = [row("1234", "1234", "confident")] * 3 + [row("1234", None, "none")]
    assert report.targets(good).count("✅") == 2
    one_wrong = good + [row("9999", "9990", "confident")] * 1
    assert report.targets(one_wrong).count("✅") == 1


def test_it_shows_the_targets_with_and_without_the_services_code_length():
    without = [row("12345678", "1234567", "confident")] + [row("1234", "1234", "confident")] * 3
    known = [row("12345678", "1234567", "uncertain")] + [row("1234", "1234", "confident")] * 3
    text = report.targets(without, known)
    assert "the service's code length set" in text
    assert "| confident codes 100 % right | 75 % (3/4) | ❌ | 100 % (3/3) | ✅ |" in text
    assert "| ≥ 75 % of calls confident | 100 % | ✅ | 75 % | ✅ |" in text
