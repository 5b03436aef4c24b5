"""Private helpers every layer may use: argument checks, progress lines, files, tables."""
