"""Process designer: edit, validate and deploy BPMN and forms; versions, compare, upload, migration."""
