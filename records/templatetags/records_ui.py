"""Small display helpers for the record pages."""

from django import template

from records.forms import format_estimate
from records.workflows import statuses_for

register = template.Library()


@register.filter
def status_category(record) -> str:
    """todo, in_progress or done: the colour of the status badge."""
    for status in statuses_for(record.kind):
        if status.key == record.status:
            return status.category
    return "todo"


@register.filter
def estimate(minutes) -> str:
    return format_estimate(minutes)
