"""Deploying definitions: validation (safe XML, XSDs, Spiff parse, project rules), forms, versions,
specs, migration of running instances."""
