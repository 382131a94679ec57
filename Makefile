# Shortcuts for `python3 dev.py <command>`, which is all a fresh machine needs.
.PHONY: setup test bench serve
setup test bench:
	python3 dev.py $@

# make serve STACK=prod PORT=9000
STACK ?= dev
PORT ?= 8080
serve:
	python3 dev.py serve --stack $(STACK) --port $(PORT)
