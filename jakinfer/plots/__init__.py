"""Figures (matplotlib `Figure`s, no pyplot state): the posterior fit (`fit`), multistart and
profiles (`optimize`), SBC ranks (`sbc`), model comparison (`compare`); `files` writes them as
PNG and PDF.
"""
