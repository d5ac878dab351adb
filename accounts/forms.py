from django import forms


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Key name",
        help_text="Where it will be used, e.g. “CI pipeline” or “Reporting script”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
