"""The practice's profile: its public name and the competitor practices it tracks."""
