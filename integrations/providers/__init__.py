"""Remote tools the roadmap syncs with. Each provider (``jira`` today) keeps its specifics
behind a provider object (see ``base.py``) so generic mapping code never names Jira."""
