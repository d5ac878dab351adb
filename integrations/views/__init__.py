"""Integration pages: the lists (Settings > Account / Workspace > Integrations) and the
wizard (Name, Connect, Project, Mappings, Enable) with htmx partials."""
