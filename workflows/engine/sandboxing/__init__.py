"""Running untrusted BPMN code: the RestrictedPython sandbox, the script engine and the helpers scripts
call, and the budget they run under (worker processes, cheap expressions in process; issue 16)."""
