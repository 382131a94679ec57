"""Post-deploy smoke check: is the stack actually serving? ``python -m smoke --stack dev``."""
