"""The rules, one module per rule, grouped by family (``rmd1_security``, ``rmd2_asyncio``, ...)."""
