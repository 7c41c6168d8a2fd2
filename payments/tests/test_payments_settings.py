"""The payments variables refuse bad values at start-up, in one line naming the variable (each case
in a fresh interpreter, as a process would start)."""
import json

import pytest

from namaskah.tests.test_settings import PRODUCTION, refusal, start

PROBE = ("import json, namaskah.settings as s; print(json.dumps({'min': str(s.TOPUP_MIN), 'max': str(s.TOPUP_MAX), "
         "'rate': s.RATE_TOPUP}))")


@pytest.mark.parametrize(("change", "expected"), [
    ({"TOPUP_MIN": "1e1"}, "TOPUP_MIN='1e1' is not an amount like 5 or 5.00"),
    ({"TOPUP_MAX": "5_000"}, "TOPUP_MAX='5_000' is not an amount like 5 or 5.00"),
    ({"TOPUP_MAX": "NaN"}, "TOPUP_MAX='NaN' is not an amount like 5 or 5.00"),
    ({"TOPUP_MIN": "Infinity"}, "TOPUP_MIN='Infinity' is not an amount like 5 or 5.00"),
    ({"TOPUP_MIN": "٥"}, "TOPUP_MIN='٥' is not an amount like 5 or 5.00"),
    ({"TOPUP_MIN": "$5"}, "TOPUP_MIN='$5' is not an amount like 5 or 5.00"),
    ({"TOPUP_MIN": "-5"}, "TOPUP_MIN='-5' must be a positive amount"),
    ({"TOPUP_MIN": "0.10"}, "TOPUP_MIN=0.10 is below Stripe's smallest USD payment (0.50)"),
    ({"TOPUP_MAX": "1000000"}, "TOPUP_MAX=1000000.00 is above Stripe's largest USD payment (999999.99)"),
    ({"TOPUP_MIN": "600"}, "TOPUP_MIN=600.00 exceeds TOPUP_MAX=500.00"),
    ({"RATE_TOPUP": "often"}, "RATE_TOPUP='often' is not a rate like 20/m"),
])
def test_it_refuses_a_bad_payments_value_naming_the_variable(change, expected):
    line = refusal(change)
    assert line.startswith("namaskah: configuration error: ") and expected in line


def test_it_refuses_bad_topup_limits_in_production_too():
    assert "TOPUP_MAX='lots' is not an amount" in refusal({**PRODUCTION, "TOPUP_MAX": "lots"})


def test_it_takes_amounts_at_stripes_limits_and_trims_spaces():
    result = start({"TOPUP_MIN": " 0.50 ", "TOPUP_MAX": "999999.99", "RATE_TOPUP": "5/m"}, PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"min": "0.50", "max": "999999.99", "rate": "5/m"}


def test_the_topup_rate_defaults_to_twenty_an_hour():
    result = start({}, PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rate"] == "20/h"


@pytest.mark.parametrize(("change", "expected"), [
    ({"STRIPE_SECRET_KEY": "pk_live_publishable_0123456789"},
     "STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_… or rk_…), not a publishable key"),
    ({"STRIPE_WEBHOOK_SECRET": "sk_live_the_api_key_again_012345"},
     "STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…"),
])
def test_it_refuses_a_stripe_key_pasted_from_the_wrong_field_without_echoing_it(change, expected):
    line = refusal({**PRODUCTION, **change})
    assert expected in line
    assert next(iter(change.values())) not in line


def test_it_takes_a_restricted_stripe_key():
    result = start({**PRODUCTION, "STRIPE_SECRET_KEY": "rk_live_restricted_0123"}, PROBE)
    assert result.returncode == 0, result.stderr
