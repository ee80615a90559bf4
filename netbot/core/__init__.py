"""The core every capability stands on: configuration, secrets, logging, errors, text, time,
storage, health, metrics, the side door, the runtime and the background-task supervisor.

Imports no capability and never discord (tests/test_layers.py keeps it so).
"""
