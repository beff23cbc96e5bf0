"""Exchange with other QDA tools: REFI-QDA projects (.qdpx) and codebooks (.qdc), in and out.

Owns: :mod:`~qual_nlp.exchange.refi_import` (read a .qdpx/.qdc into plain records),
:mod:`~qual_nlp.exchange.refi_export` (write them, schema-valid, for NVivo, ATLAS.ti,
MAXQDA and QualCoder), :mod:`~qual_nlp.exchange.qdc` (codebooks, .qdc, both ways),
:mod:`~qual_nlp.exchange.qda_xml` (the namespaces, marker line and GUID helpers that
reader and writer share), :mod:`~qual_nlp.exchange.safe_archive` (zip archives read with
limits against hostile files) and :mod:`~qual_nlp.exchange.snapshot` (bring a project
snapshot into a store: segment its sources and attach its codings). May import:
:mod:`qual_nlp.ingest`, :mod:`qual_nlp.codebook`, :mod:`qual_nlp.errors`,
:mod:`qual_nlp.records`.
"""
