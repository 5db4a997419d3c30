"""The `membrane` command line."""
