"""Settings and the project folder: config.yml, YAML that keeps line numbers, and
errors that name the file and line to fix."""
