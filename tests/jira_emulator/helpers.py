from __future__ import annotations

from typing import Any


def adf_doc(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def issue_fields(summary: str, issuetype: str = "Story", project: str = "DEMO", **extra: Any):
    return {
        "project": {"key": project},
        "issuetype": {"name": issuetype},
        "summary": summary,
        **extra,
    }
