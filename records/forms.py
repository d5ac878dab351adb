"""Forms for the record pages. They only parse input; the services decide what is allowed, and
``apply_application_error`` puts a service's refusal next to the field at fault."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Workspace
from core.exceptions import ApplicationError

from .kinds import LINK_INVERSE_NAMES, LinkType, RecordKind, kind_label, parent_kinds_of
from .models import Record
from .selectors import record_get_by_reference
from .workflows import statuses_for

_LOOKS_LIKE_HTML = re.compile(r"</?[a-zA-Z][^>]*>")
_ESTIMATE_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhm]?)", re.IGNORECASE)
_ESTIMATE_WHOLE = re.compile(r"^\s*(\d+(?:\.\d+)?\s*[dhm]?\s*)+$", re.IGNORECASE)
MINUTES_PER = {"d": 8 * 60, "h": 60, "m": 1, "": 60}  # a bare number means hours
ESTIMATE_HELP = "Like 3h, 1d 4h or 90m. A working day is 8h; a bare number means hours."


def parse_estimate(text: str) -> int | None:
    """'1d 2h 30m' -> 630 minutes. Raises ValueError with a message a person can act on."""
    text = (text or "").strip()
    if not text:
        return None
    if not _ESTIMATE_WHOLE.match(text):
        raise ValueError(f"'{text}' is not an estimate. {ESTIMATE_HELP}")
    total = Decimal(0)
    for amount, unit in _ESTIMATE_PART.findall(text):
        total += Decimal(amount) * MINUTES_PER[unit.lower()]
    return int(total)


def format_estimate(minutes: int | None) -> str:
    if minutes is None:
        return ""
    days, rest = divmod(minutes, MINUTES_PER["d"])
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p) or "0m"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ParentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Record) -> str:
        return f"{obj.reference} · {obj.name}"


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


# Service field names that the form shows under another name.
FIELD_ALIASES = {"estimate_minutes": "estimate", "link_type": "link"}


def apply_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for field, messages in exc.fields.items():
        name = FIELD_ALIASES.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class RecordForm(forms.Form):
    """Create or edit one record of ``kind`` in ``workspace``. Parent choices are the records
    of this workspace of the kinds this kind may have as parents (records.kinds)."""

    name = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    status = forms.ChoiceField()
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Plain text or simple HTML (paragraphs, bold, lists, links).",
    )
    assignee = MemberChoiceField(queryset=None, required=False, empty_label="Unassigned")
    tags = forms.CharField(
        required=False,
        help_text="Separate tags with commas.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    release_date = forms.DateField(required=False, widget=DateInput())
    start_date = forms.DateField(required=False, widget=DateInput())
    due_date = forms.DateField(required=False, widget=DateInput())
    estimate = forms.CharField(required=False, max_length=40, help_text=ESTIMATE_HELP)

    def __init__(self, *args, workspace: Workspace, kind: str, record: Record | None = None, **kw):
        if record is not None and "initial" not in kw:
            kw["initial"] = self.initial_from(record)
        super().__init__(*args, **kw)
        self.workspace = workspace
        self.kind = kind
        self.record = record
        self.fields["status"].choices = [(s.key, s.label) for s in statuses_for(kind)]
        self.fields["assignee"].queryset = (
            get_user_model()
            .objects.filter(memberships__account_id=workspace.account_id)
            .order_by("first_name", "username")
        )
        if kind != RecordKind.RELEASE:
            del self.fields["release_date"]
        self.parent_fields = []
        for parent_kind in parent_kinds_of(kind):
            required = kind == RecordKind.REQUIREMENT
            self.fields[parent_kind] = ParentChoiceField(
                queryset=Record.objects.filter(workspace=workspace, kind=parent_kind).order_by(
                    "number"
                ),
                required=required,
                label=kind_label(parent_kind),
                empty_label=None if required else "None",
                help_text="A requirement cannot exist without its feature." if required else "",
            )
            self.parent_fields.append(parent_kind)

    @staticmethod
    def initial_from(record: Record) -> dict:
        initial = {
            "name": record.name,
            "status": record.status,
            "description": record.description,
            "assignee": record.assignee_id,
            "tags": ", ".join(t.name for t in record.tags.all()),
            "release_date": record.release_date,
            "start_date": record.start_date,
            "due_date": record.due_date,
            "estimate": format_estimate(record.estimate_minutes),
        }
        for field in ("initiative", "release", "epic", "feature"):
            initial[field] = getattr(record, f"{field}_id")
        return initial

    def clean_estimate(self) -> int | None:
        try:
            return parse_estimate(self.cleaned_data.get("estimate", ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_description(self) -> str:
        """Plain text keeps its paragraphs and line breaks; HTML is left to the sanitiser."""
        text = self.cleaned_data.get("description", "")
        if not text.strip() or _LOOKS_LIKE_HTML.search(text):
            return text
        paragraphs = re.split(r"\n\s*\n", text.strip().replace("\r\n", "\n"))
        return "".join(
            "<p>" + "<br>".join(escape(line) for line in para.splitlines()) + "</p>"
            for para in paragraphs
        )

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags", "")
        return [t.strip() for t in raw.split(",") if t.strip()]

    def service_kwargs(self) -> dict:
        """Arguments for records.services.record_create / record_update."""
        data = self.cleaned_data
        kwargs = {
            "name": data["name"],
            "status": data["status"],
            "description": data["description"],
            "assignee": data["assignee"],
            "tags": data["tags"],
            "start_date": data["start_date"],
            "due_date": data["due_date"],
            "estimate_minutes": data["estimate"],
        }
        if "release_date" in self.fields:
            kwargs["release_date"] = data["release_date"]
        for field in self.parent_fields:
            kwargs[field] = data[field]
        return kwargs

    @property
    def main_fields(self):
        return [self[name] for name in ("name", "status", "description")]

    @property
    def detail_fields(self):
        names = ["assignee", "tags", "release_date", "start_date", "due_date", "estimate"]
        return [self[name] for name in names if name in self.fields]

    @property
    def parent_bound_fields(self):
        return [self[name] for name in self.parent_fields]


def link_choices() -> list[tuple[str, str]]:
    """Both readings of every link type: "blocks" (this Blocks that) and "blocks:inward"
    (this Is blocked by that). Relates to reads the same both ways, so it appears once."""
    choices = []
    for link_type in LinkType:
        choices.append((link_type.value, link_type.label))
        inward = LINK_INVERSE_NAMES[link_type]
        if inward != link_type.label:
            choices.append((f"{link_type.value}:inward", inward))
    return choices


class RecordLinkForm(forms.Form):
    """Add a link from one record: "<this record> <link> <target reference>"."""

    link = forms.ChoiceField(choices=link_choices, label="Link type")
    target = forms.CharField(
        max_length=40,
        label="Record",
        help_text="Its reference, e.g. APP-12.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "link-target-options"}),
    )

    def __init__(self, *args, record: Record, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = record
        # Search as you type: htmx fills the datalist with at most 20 matches. Without
        # JavaScript the field still takes a typed reference.
        self.fields["target"].widget.attrs.update(
            {
                "hx-get": reverse("record_link_targets", args=[record.pk]),
                "hx-trigger": "input changed delay:200ms",
                "hx-target": "#link-target-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )

    def clean_target(self) -> Record:
        reference = self.cleaned_data["target"].strip().upper()
        target = record_get_by_reference(workspace=self.record.workspace, reference=reference)
        if target is None:
            raise forms.ValidationError(
                f"No record {reference} in this workspace. Type a reference like "
                f"{self.record.workspace.prefix}-12."
            )
        return target

    def link_arguments(self) -> dict:
        """source, target and link_type for records.services.record_link_create."""
        link_type, _, direction = self.cleaned_data["link"].partition(":")
        target = self.cleaned_data["target"]
        if direction == "inward":
            return {"source": target, "target": self.record, "link_type": link_type}
        return {"source": self.record, "target": target, "link_type": link_type}
