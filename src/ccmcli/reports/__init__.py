"""Read-only views over a judged practice: the month, explanations, validation."""
