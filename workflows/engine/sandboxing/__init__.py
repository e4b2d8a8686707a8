"""Running untrusted BPMN code: the RestrictedPython sandbox, the script engine and the helpers scripts
call."""
