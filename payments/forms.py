"""Dashboard forms of payments: input shapes only; payments.services decides what an amount may be."""
from decimal import Decimal

from django import forms
from django.conf import settings

from payments import services

PRESETS = ("5.00", "10.00", "25.00", "50.00")


class AddFundsForm(forms.Form):
    preset = forms.ChoiceField(label="Amount", widget=forms.RadioSelect, required=False)
    custom = forms.CharField(
        label="Another amount (USD)", required=False, max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "e.g. 12.50"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the presets the configured range allows (TOPUP_MIN and TOPUP_MAX are inclusive).
        presets = [p for p in PRESETS if settings.TOPUP_MIN <= Decimal(p) <= settings.TOPUP_MAX]
        self.fields["preset"].choices = [(p, f"${Decimal(p):.0f}") for p in presets]
        self.fields["preset"].initial = "10.00" if "10.00" in presets else (presets[0] if presets else None)
        self.fields["custom"].help_text = (f"From ${settings.TOPUP_MIN} to ${settings.TOPUP_MAX}, at most 2 decimal "
                                           "places. Leave it empty to pay the amount chosen above.")

    def clean(self):
        data = super().clean()
        custom = (data.get("custom") or "").strip()
        raw, field = (custom, "custom") if custom else (data.get("preset") or "", "preset")
        if not raw:
            self.add_error("preset", "Choose an amount, or type another one below.")
            return data
        try:
            data["amount"] = services.parse_topup_amount(raw)
        except services.InvalidTopUpAmount as exc:
            self.add_error(field, str(exc))
        return data
