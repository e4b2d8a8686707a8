"""The generic engine around SpiffWorkflow: definitions, instances, task projection, timers, clock, PRC
legal time, sandbox, serializer. It imports nothing from ``workflows.regulation``, Flask or ``app``: what
is particular to a regulation (lanes, record handlers, script helpers) arrives as ``parts.EngineParts``."""
