"""Jira webhook event types: which are handled, and which are knowingly ignored."""

# The one table of the events the intake handles, in the order the Enable step and the API
# list them for the Jira admin to tick.
HANDLED_EVENT_TYPES = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "issuelink_created",
    "issuelink_deleted",
    "jira:version_created",
    "jira:version_updated",
    "jira:version_released",
    "jira:version_unreleased",
    "jira:version_deleted",
    "jira:version_moved",
    "jira:version_merged",
)
HANDLED_EVENTS = frozenset(HANDLED_EVENT_TYPES)

# Answered 2xx and stored as ignored: Jira sends them when an admin ticks broad boxes, and
# none changes a record here.
IGNORED_EVENTS = frozenset(
    {
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
        "attachment_created",
        "attachment_deleted",
        "project_created",
        "project_updated",
        "project_deleted",
        "project_soft_deleted",
        "project_restored_deleted",
        "project_archived",
        "project_restored_archived",
        "sprint_created",
        "sprint_updated",
        "sprint_deleted",
        "sprint_started",
        "sprint_closed",
        "board_created",
        "board_updated",
        "board_deleted",
        "board_configuration_changed",
        "user_created",
        "user_updated",
        "user_deleted",
        "option_voting_changed",
        "option_watching_changed",
        "option_unassigned_issues_changed",
        "option_subtasks_changed",
        "option_attachments_changed",
        "option_issuelinks_changed",
        "option_timetracking_changed",
        "jira:worklog_updated",
    }
)

# The object each handled event must carry, and the id inside it.
REQUIRED_OBJECT = {
    "jira:issue": ("issue", "id"),
    "issuelink": ("issueLink", "id"),
    "jira:version": ("version", "id"),
}


def required_object(event_type: str) -> tuple[str, str] | None:
    for prefix, spec in REQUIRED_OBJECT.items():
        if event_type.startswith(prefix):
            return spec
    return None
