"""Export formats (REFI-QDA: :mod:`qual_nlp.export.refi`)."""
