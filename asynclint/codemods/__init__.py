"""Larger rewrites that rules offer as fixes, built as LibCST nodes.

A rule decides *whether* a rewrite is safe; a codemod here only builds the new code, so
the syntax work can be read and tested apart from the analysis.
"""
