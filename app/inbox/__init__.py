"""Task inboxes: my tasks and my groups' tasks, the task page with its form, approval actions,
notifications and attachments."""
