from django import forms

from hooks.models import EVENTS, Endpoint


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL", strip=False,
                          widget=forms.URLInput(attrs={"placeholder": "https://example.com/namaskah-webhooks",
                                                       "autocomplete": "off", "inputmode": "url"}),
                          help_text="http or https, at a public address.")
    format = forms.ChoiceField(choices=Endpoint.Format.choices, initial=Endpoint.Format.STANDARD,
                               help_text="SMS-Activate's body carries code_received only.")
    events = forms.MultipleChoiceField(choices=[(e, e) for e in EVENTS], required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text="None ticked: every event the format carries.")
