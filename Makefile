# Shortcuts for `python3 dev.py <command>`, which is all a fresh machine needs.
.PHONY: setup test fast lint typecheck lock generate check-generated bench bench-local serve
setup test lint typecheck lock generate check-generated bench bench-local:
	python3 dev.py $@

# The quick loop: everything but the tests that start servers or processes.
fast:
	python3 dev.py test -m "not integration"

# make serve STACK=prod PORT=9000
STACK ?= dev
PORT ?= 8080
serve:
	python3 dev.py serve --stack $(STACK) --port $(PORT)
