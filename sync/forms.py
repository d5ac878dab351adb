"""Forms of the sync pages: link a record with an existing Jira issue, filter the sync log."""

from __future__ import annotations

from django import forms

from core.exceptions import ApplicationError

from .models import SyncLogEntry

# The engine names the input it refuses ("key"); the form calls it key_or_url.
FIELD_ALIASES = {"key": "key_or_url", "overwrite": "overwrite"}


def apply_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show the engine's refusal beside the field it names, or above the form."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for field, messages in exc.fields.items():
        name = FIELD_ALIASES.get(field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class LinkExistingForm(forms.Form):
    key_or_url = forms.CharField(
        label="Jira issue key or URL",
        max_length=500,
        widget=forms.TextInput(
            attrs={"placeholder": "DEMO-12 or https://…/browse/DEMO-12", "autocomplete": "off"}
        ),
        error_messages={"required": "Enter the Jira issue's key (e.g. DEMO-12) or its address."},
    )
    overwrite = forms.ChoiceField(
        label="For the first sync",
        choices=[
            ("here", "Our values overwrite Jira's"),
            ("jira", "Jira's values overwrite ours"),
        ],
        initial="here",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, prefix_id: str = "", **kwargs):
        # One form per integration on the record page: ids must not clash.
        kwargs.setdefault("auto_id", f"id_jira{prefix_id}_%s")
        super().__init__(*args, **kwargs)


class SyncLogFilterForm(forms.Form):
    level = forms.ChoiceField(
        required=False, choices=[("", "All levels"), *SyncLogEntry.Level.choices]
    )
    q = forms.CharField(
        required=False,
        label="Record or text",
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "APP-12, DEMO-5, words…"}),
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data
