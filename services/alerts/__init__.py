"""Alerts on negative mentions: rules, the evaluator, the dispatcher and the alerts API (issue 6)."""
