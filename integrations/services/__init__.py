"""Writes to integrations and their mappings. Every rule of SPEC.md "Integrations" and
"The wizard" is enforced here (the pure Linked-to rules live in integrations.rules)."""
