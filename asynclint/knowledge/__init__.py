"""API knowledge shared by the rules and the sanitizer: plain data, no logic."""
