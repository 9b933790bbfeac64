"""The HTTP layer: parse requests, call the workspace service, shape JSON."""
