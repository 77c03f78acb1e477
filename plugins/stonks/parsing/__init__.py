"""Document parsing: HTML to clean text, quality, company mentions, routing, row leases.

``stonks.parsing.process.process_documents`` is what the ``process_documents`` DAG runs.
"""
