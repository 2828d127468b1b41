"""Shared questions about one module that several rules ask (names, threads, SQL, transactions, ...)."""
