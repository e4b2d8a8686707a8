"""Workflows without Flask: ``workflows.engine`` runs BPMN (generic, knows nothing of Nanyang) and
``workflows.regulation`` is the 2017 regulation's domain, which hands the engine its parts."""
