"""Forms of the integration wizard. They only parse and show input; the services decide
(their ApplicationError lands next to the field it names, see ``apply_application_error``)."""

from __future__ import annotations

from django import forms

from core.exceptions import ApplicationError

from .models import Integration

SECRET_SET_PLACEHOLDER = "•••• set — leave blank to keep"  # noqa: S105 (a label, not a secret)
# Service field names that a form shows under another name.
FIELD_ALIASES = {"workspace": "scope", "template": "template", "project_key": "project_key"}


def apply_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for field, messages in exc.fields.items():
        name = FIELD_ALIASES.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class NameForm(forms.Form):
    """Step 1. ``scope`` is a workspace id, or "account" for an account template."""

    name = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. Jira — Mobile"}),
        help_text="What your team calls this connection. You can change it later.",
    )
    scope = forms.ChoiceField(
        label="Used by",
        widget=forms.RadioSelect,
        help_text="A template is set up once for the account; workspaces start from it and "
        "inherit its connection, project and mappings until they change them.",
    )
    template = forms.ChoiceField(
        label="Start from a template",
        required=False,
        help_text="Optional. The new integration reads the template's connection, project and "
        "mappings until you change them here.",
    )

    def __init__(self, *args, account, templates=(), locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(ws.pk), f"The {ws.name} workspace") for ws in account.workspaces.all()]
        choices.append(("account", "The whole account, as a template for workspaces"))
        self.fields["scope"].choices = choices
        self.fields["template"].choices = [("", "No template: set it up from scratch")] + [
            (str(t.pk), t.name) for t in templates
        ]
        if not templates:
            del self.fields["template"]
        if locked:
            # Scope and template are fixed once created (moving would break inheritance).
            for name in ("scope", "template"):
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].required = False


class ConnectForm(forms.Form):
    """Step 2. Secrets are never rendered back: the widget shows only whether one is set."""

    deployment = forms.ChoiceField(
        label="Jira type",
        choices=Integration.Deployment.choices,
        widget=forms.RadioSelect,
        initial=Integration.Deployment.CLOUD,
    )
    base_url = forms.CharField(
        label="Site URL",
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "url",
                "inputmode": "url",
                "placeholder": "https://your-team.atlassian.net",
            }
        ),
        help_text="The address you open Jira at. Anything after the site name is dropped.",
    )
    email = forms.CharField(
        label="Account email",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
        help_text="The Jira user the API token belongs to. Syncs act as this user.",
    )
    api_token = forms.CharField(
        label="API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Create one at id.atlassian.com → Security → API tokens.",
    )
    personal_access_token = forms.CharField(
        label="Personal access token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="In Jira: your avatar → Profile → Personal Access Tokens → Create token.",
    )

    def __init__(self, *args, api_token_set=False, pat_set=False, **kwargs):
        super().__init__(*args, **kwargs)
        if api_token_set:
            self.fields["api_token"].widget.attrs["placeholder"] = SECRET_SET_PLACEHOLDER
        if pat_set:
            self.fields["personal_access_token"].widget.attrs["placeholder"] = (
                SECRET_SET_PLACEHOLDER
            )


class RelationshipPairForm(forms.Form):
    """One pair of the Record links modal: a link type here, the sync direction, and the Jira
    issue link type with the end this record is, chosen together as ``"<id>:<direction>"``
    (shown as "DEMO-1 blocks DEMO-2"). The Jira link type id is checked by the service
    against the loaded configuration."""

    pair_id = forms.CharField(required=False, widget=forms.HiddenInput)
    link_type = forms.ChoiceField(label="Link here")
    sync_direction = forms.ChoiceField(label="Sync")
    jira_link = forms.CharField(label="In Jira")

    def __init__(self, *args, **kwargs):
        from records.kinds import LinkType

        from .models import Direction

        super().__init__(*args, **kwargs)
        self.fields["link_type"].choices = LinkType.choices
        self.fields["sync_direction"].choices = [
            (Direction.BOTH, "↔ Both ways"),
            (Direction.TO_JIRA, "→ To Jira"),
            (Direction.FROM_JIRA, "← From Jira"),
        ]

    def clean_jira_link(self) -> tuple[str, str]:
        value = self.cleaned_data["jira_link"]
        link_type_id, _, direction = value.partition(":")
        if not link_type_id or direction not in ("outward", "inward"):
            raise forms.ValidationError("Choose the Jira issue link.")
        return link_type_id, direction

    def pair(self) -> dict:
        """The pair as the relationship services take it."""
        data = self.cleaned_data
        link_type_id, direction = data["jira_link"]
        return {
            "id": data.get("pair_id") or "",
            "link_type": data["link_type"],
            "jira_link_type_id": link_type_id,
            "jira_direction": direction,
            "sync_direction": data["sync_direction"],
        }


RelationshipPairFormSet = forms.formset_factory(RelationshipPairForm, extra=0)
