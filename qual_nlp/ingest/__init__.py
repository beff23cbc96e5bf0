"""Import: reading transcript and field-note files, their metadata, and segmentation.

Owns: :mod:`~qual_nlp.ingest.formats` (one parser per file format: txt, md, docx, vtt,
srt; speaker labels), :mod:`~qual_nlp.ingest.batch` (metadata CSVs, planning a batch of
files, gold codings by quote) and :mod:`~qual_nlp.ingest.segment` (speaker turns and
passages with exact character offsets, through spaCy loaded by
:mod:`qual_nlp.resources`). May import: :mod:`qual_nlp.errors`, :mod:`qual_nlp.records`,
:mod:`qual_nlp.resources`. Writing to a project is the facade's job
(:mod:`qual_nlp.project`); REFI-QDA projects are read in :mod:`qual_nlp.exchange`.
"""
