"""The ops admin console: `valuesync ui`, a local web page over the project files and state."""
