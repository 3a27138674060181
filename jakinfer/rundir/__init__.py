"""Run directories: one problem per directory, one stage per command (`layout`), refused when they
hold another run (`identity`); the stages `sample`, `optimize`, `profile`, `laplace` and `sbc`
(checkpointed and resumable, sharing `stage`), and the HTML `report` of what a directory holds.
"""
