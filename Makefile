# Shortcuts for `python3 dev.py <command>`, which is all a fresh machine needs.
.PHONY: setup test bench
setup test bench:
	python3 dev.py $@
