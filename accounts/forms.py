"""Dashboard forms: input shapes only; the rules live in accounts.services."""
from django import forms
from django.contrib.auth import forms as auth_forms


class LoginForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                                             "autofocus": True}))
    password = forms.CharField(max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class RegisterForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                                             "autofocus": True}))
    password = forms.CharField(max_length=128, strip=False, help_text="At least 8 characters, not a common password.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(label="Password (again)", max_length=128, strip=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=64, label="Key name", help_text="To tell your keys apart, e.g. “production”.")


class PasswordResetRequestForm(auth_forms.PasswordResetForm):
    """Django's form (no email is sent for an unknown or inactive address), with our widget attributes."""

    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                                             "autofocus": True}))


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form; it sits on the account page among others, so it does not take the focus."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(max_length=254, label="New email",
                                 widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(max_length=128, strip=False, label="Current password",
                               help_text="We send a link to the new address; your email changes when you open it.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
