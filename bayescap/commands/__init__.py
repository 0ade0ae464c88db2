"""One module per CLI sub-command (see bayescap.cli)."""
